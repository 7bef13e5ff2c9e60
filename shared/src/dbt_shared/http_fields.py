"""Marshmallow fields and validators that accept exactly what the OpenAPI document says.

marshmallow is lenient where the document is exact: ``Boolean`` takes ``0``, ``1`` and
``"yes"``; ``Integer`` and ``Float`` take ``"3"``; ``Regexp`` lets ``$`` match before a final
newline. In a JSON body these take the JSON types only (``StrictBoolean``, ``JsonInteger``,
``JsonNumber``, ``IsoDate``), and ``Pattern`` reads a pattern as the document's ECMA-262 regex
does. ``date_between`` writes a range of ISO dates as such a pattern; ``when`` writes a rule
between two fields for the document; ``response_schema`` is a compact response shape.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate


class StrictBoolean(fields.Boolean):
    default_error_messages = {"invalid": "Not a valid boolean: use true or false."}

    def __init__(self, *, query: bool = False, **kwargs: Any) -> None:
        truthy, falsy = ({"true"}, {"false"}) if query else ({True}, {False})
        super().__init__(truthy=truthy, falsy=falsy, **kwargs)
        self.query = query

    def _deserialize(self, value, attr, data, **kwargs):
        if not self.query and not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        if self.query and not isinstance(value, str):
            raise self.make_error("invalid", input=value)
        return super()._deserialize(value, attr, data, **kwargs)


class JsonInteger(fields.Integer):
    """A JSON integer: ``3`` or ``3.0`` (JSON Schema counts both), never ``"3"`` or ``3.5``."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid", input=value)
        if isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid", input=value)
        return super()._deserialize(int(value), attr, data, **kwargs)


class JsonNumber(fields.Float):
    """A JSON number, never a string or a boolean."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid", input=value)
        return super()._deserialize(value, attr, data, **kwargs)


class Pattern(validate.Regexp):
    """``Regexp`` that reads its pattern as the OpenAPI document's ECMA-262 regex does.

    Python's ``$`` also matches before a final newline (``"ab\\n"`` passes ``^ab$``); in the
    document it means the end of the string, so here it does too. Patterns written with
    explicit classes (``[0-9]``, not ``\\d``, which Python extends to every script's digits)
    then accept exactly the strings the document allows.
    """

    def __init__(self, pattern: str, *, error: str | None = None) -> None:
        super().__init__(pattern, error=error)
        self._whole = re.compile(pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern)

    def __call__(self, value: str) -> str:
        if not isinstance(value, str) or self._whole.match(value) is None:
            raise ValidationError(self._format_error(value))
        return value


def _between(low: int, high: int, width: int) -> str:
    """A regex for the zero-padded numbers ``low``..``high`` of ``width`` digits."""
    if low > high:
        return "(?!)"  # matches nothing
    lo, hi = f"{low:0{width}d}", f"{high:0{width}d}"
    if width == 1:
        return lo if low == high else f"[{lo}-{hi}]"
    if lo[0] == hi[0]:
        return lo[0] + _group(_between(int(lo[1:]), int(hi[1:]), width - 1))
    rest = 10 ** (width - 1) - 1
    parts = [lo[0] + _group(_between(int(lo[1:]), rest, width - 1))]
    if int(hi[0]) - int(lo[0]) > 1:
        parts.append(_between(int(lo[0]) + 1, int(hi[0]) - 1, 1) + "[0-9]" * (width - 1))
    parts.append(hi[0] + _group(_between(0, int(hi[1:]), width - 1)))
    return "|".join(parts)


def _group(regex: str) -> str:
    return f"(?:{regex})" if "|" in regex else regex


def date_between(earliest: date, latest: date) -> str:
    """A pattern for the ISO dates (``YYYY-MM-DD``) from ``earliest`` to ``latest``.

    Day numbers run 01-31 in every month; ``format: date`` (and marshmallow's ``Date``) turn
    away the days a month does not have.
    """
    day, month = "(?:0[1-9]|[12][0-9]|3[01])", "(?:0[1-9]|1[0-2])"

    def year_span(first: int, last: int, months: str, days: str) -> str:
        return f"(?:{_between(first, last, 4)})-{months}-{days}" if first <= last else "(?!)"

    def days_of(y: int, m: int, first_day: int, last_day: int) -> str:
        return f"{y:04d}-{m:02d}-{_group(_between(first_day, last_day, 2))}"

    if earliest > latest:
        return "^(?!)$"
    parts = []
    if earliest.year == latest.year:
        y = earliest.year
        if earliest.month == latest.month:
            parts.append(days_of(y, earliest.month, earliest.day, latest.day))
        else:
            parts.append(days_of(y, earliest.month, earliest.day, 31))
            if latest.month - earliest.month > 1:
                months = _group(_between(earliest.month + 1, latest.month - 1, 2))
                parts.append(f"{y:04d}-{months}-{day}")
            parts.append(days_of(y, latest.month, 1, latest.day))
    else:
        # earliest's year from its day on, the whole years between, latest's year to its day
        parts.append(days_of(earliest.year, earliest.month, earliest.day, 31))
        if earliest.month < 12:
            months = _group(_between(earliest.month + 1, 12, 2))
            parts.append(f"{earliest.year:04d}-{months}-{day}")
        parts.append(year_span(earliest.year + 1, latest.year - 1, month, day))
        if latest.month > 1:
            months = _group(_between(1, latest.month - 1, 2))
            parts.append(f"{latest.year:04d}-{months}-{day}")
        parts.append(days_of(latest.year, latest.month, 1, latest.day))
    return "^(?:" + "|".join(p for p in parts if p != "(?!)") + ")$"


class IsoDate(fields.Date):
    """An RFC 3339 full-date, ``YYYY-MM-DD``, as ``format: date`` says (Python's
    ``date.fromisoformat`` also takes ``19940317`` and week dates such as ``1994-W11-4``)."""

    _SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not self._SHAPE.match(value):
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        return super()._deserialize(value, attr, data, **kwargs)


def response_schema(
    name: str, strings: str = "", base: type[Schema] = Schema, **others: fields.Field
) -> type[Schema]:
    """A response schema (its fields are only written, so only their shape matters): the
    space-separated ``strings`` as string fields, then ``others``."""
    return base.from_dict({**{n: fields.String() for n in strings.split()}, **others}, name=name)


def when(field: str, values: Sequence[str], then: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema ``if``/``then``: when ``field`` is one of ``values``, the dotted paths of
    ``then`` (``"settings.curriculum"``) keep their constraints too. For a schema's
    ``Meta.json_schema``; its ``@validates_schema`` enforces the same."""
    rule: dict[str, Any] = {}
    for path, constraint in then.items():
        node = rule
        for part in path.split("."):
            node = node.setdefault("properties", {}).setdefault(part, {})
        node.update(constraint)
    return {
        "if": {"properties": {field: {"enum": list(values)}}, "required": [field]},
        "then": rule,
    }


#: Any text but U+0000: PostgreSQL (under the embedded FerretDB) cannot store it in a document,
#: and no clinic's text needs it.
TEXT_PATTERN = "^[^\\u0000]*$"
#: The characters of every id the services give out (UUIDs, ``<site>:<kind>`` program ids).
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$"


class _Patterned(fields.String):
    pattern = ""
    error = ""

    def __init__(self, **kwargs: Any) -> None:
        given = kwargs.pop("validate", None)
        validators = [] if given is None else list(given) if isinstance(given, list) else [given]
        super().__init__(validate=[*validators, Pattern(self.pattern, error=self.error)], **kwargs)


class Text(_Patterned):
    """Free text (names, reasons, notes): any characters but U+0000."""

    pattern = TEXT_PATTERN
    error = "Text may not contain the NUL character."


class Id(_Patterned):
    """The id of another resource (``ID_PATTERN``)."""

    pattern = ID_PATTERN
    error = "Not an id this platform gives out."
