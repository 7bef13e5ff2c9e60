"""Marshmallow fields and validators that accept exactly what the OpenAPI document says.

marshmallow is lenient where the document is exact: ``Boolean`` takes ``0``, ``1`` and
``"yes"``; ``Integer`` and ``Float`` take ``"3"``; ``Regexp`` lets ``$`` match before a final
newline. In a JSON body these take the JSON types only (``StrictBoolean``, ``JsonInteger``,
``JsonNumber``, ``IsoDate``), and ``Pattern`` reads a pattern as the document's ECMA-262 regex
does. ``date_between`` writes a range of ISO dates as such a pattern; ``when`` writes a rule
between two fields for the document; ``response_schema`` is a compact response shape.

Every string, list and map a request may carry is bounded, and the document shows the bound
(``maxLength``, ``maxItems``, ``maxProperties``): ``String``, ``Text``, ``Note``, ``Id``,
``Email``, ``IsoDate``, ``AwareDateTime``, ``List`` and ``Dict`` refuse a longer value before
any validator (a regex) or item runs, so no request can make the server match a regex over a
large input or fill an event past the broker's size limit. ``Pattern`` takes its bound from its
regex (``^[0-9]{4}$`` is at most 4 characters) or from ``max_length``. No error message repeats
the submitted value: a problem body must never echo what a client typed (a name, a number).
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


def widest_match(pattern: str) -> int | None:
    """The most characters a string matching ``pattern`` can have; ``None`` if unbounded."""
    widest = re._parser.parse(pattern).getwidth()[1]  # type: ignore[attr-defined]
    return None if widest >= re._constants.MAXREPEAT else widest  # type: ignore[attr-defined]


class Pattern(validate.Regexp):
    """``Regexp`` that reads its pattern as the OpenAPI document's ECMA-262 regex does, and
    never runs it over more characters than a match can have.

    Python's ``$`` also matches before a final newline (``"ab\\n"`` passes ``^ab$``); in the
    document it means the end of the string, so here it does too. Patterns written with
    explicit classes (``[0-9]``, not ``\\d``, which Python extends to every script's digits)
    then accept exactly the strings the document allows.

    The bound (``max``) is the regex's widest match, or ``max_length`` where the regex has no
    bound of its own (``(?:...)*``): a longer string is refused before the regex runs, since a
    backtracking regex can take seconds over a few kilobytes. apispec reads ``min``, ``max``
    and ``equal`` as a length rule, so the document shows the bound as ``maxLength``.
    """

    def __init__(
        self, pattern: str, *, error: str | None = None, max_length: int | None = None
    ) -> None:
        super().__init__(pattern, error=error)
        self._whole = re.compile(pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern)
        bounds = [b for b in (max_length, widest_match(pattern)) if b is not None]
        if not bounds:
            raise ValueError(f"the pattern {pattern!r} has no bound of its own: give max_length")
        self.min, self.max, self.equal = None, min(bounds), None

    def __call__(self, value: str) -> str:
        if not isinstance(value, str) or len(value) > self.max or self._whole.match(value) is None:
            raise ValidationError(self._format_error(""))  # the message, never the input
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

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"maxLength": 10, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

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


class LocalDates(Schema):
    """``from`` and ``to``, both optional: the local dates a calendar or a timeline is read
    between (``from`` loads as ``from_``)."""

    from_ = IsoDate(data_key="from")
    to = IsoDate()


def per_site(item: type[Schema], name: str) -> type[Schema]:
    """The figures of every site a caller may see (the operators' overview reads one such
    answer from each service): ``name`` with ``items``, one ``item`` per site."""
    sites = fields.List(
        fields.Nested(item),
        metadata={"description": "one per site the caller may see, in site id order"},
    )
    return Schema.from_dict({"items": sites}, name=name)


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


#: Longest name (a person's, a site's, a group's, an idp subject), reason or short label.
NAME_MAX = 200
#: Longest free text (a note, an eligibility reason, why a goal matters).
NOTE_MAX = 4000
#: Longest email address (RFC 5321: a path is at most 256 octets, its address 254).
EMAIL_MAX = 254

#: One line of text: no control character (C0, DEL, C1) and no Unicode line or paragraph
#: separator. A line break in a name breaks every line-based format the name goes into (a
#: calendar feed, a mail header, a CSV export) and PostgreSQL (under the embedded FerretDB)
#: cannot store U+0000 in a document.
TEXT_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]*$"
#: Free text of several lines: line breaks (LF, and CR as a text area sends CRLF) and tabs,
#: but no other control character.
NOTE_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
#: The characters of every id the services give out (UUIDs, ``<site>:<kind>`` program ids).
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$"


def _length_bounds(validators: list) -> list[int]:
    """The maximum lengths ``validators`` set (a ``Length``, a ``Pattern``)."""
    found = []
    for v in validators:
        if hasattr(v, "min") and hasattr(v, "equal"):
            found += [b for b in (v.equal, v.max) if isinstance(b, int)]
    return found


class _Bounded:
    """A field whose value has a maximum size, checked before anything else reads the value.

    The bound is ``max_length`` or the smallest a validator (``Length``, ``Pattern``) sets, else
    the class's ``default_max``; a field with none is a programming error. The document shows
    it as ``maxLength`` (metadata, not a ``Length``: a date field's validators see a date)."""

    default_max: int | None = None
    default_error_messages = {"too_long": "Longer than maximum length {max}."}

    def __init__(self, *args: Any, max_length: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stated = _length_bounds(self.validators)
        bounds = stated + [b for b in (max_length,) if b is not None]
        if not bounds and self.default_max is not None:
            bounds = [self.default_max]
        if not bounds:
            raise TypeError(f"{type(self).__name__} needs a maximum length (max_length=...)")
        self.max_length = min(bounds)
        self.metadata = {**self.metadata, "maxLength": self.max_length}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and len(value) > self.max_length:
            raise self.make_error("too_long", max=self.max_length)
        return super()._deserialize(value, attr, data, **kwargs)


class String(_Bounded, fields.String):
    """A string with a maximum length (``max_length``, or a ``Length``'s or ``Pattern``'s)."""


class Email(_Bounded, fields.Email):
    """An email address, at most ``EMAIL_MAX`` characters."""

    default_max = EMAIL_MAX


class _Patterned(String):
    pattern = ""
    error = ""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # After the bound is known: the pattern never runs over more than it.
        self.validators.append(Pattern(self.pattern, error=self.error, max_length=self.max_length))


class Text(_Patterned):
    """One line of text (a name, a reason, a label), without control characters; at most
    ``NAME_MAX`` characters unless a ``Length`` or ``max_length`` says otherwise."""

    default_max = NAME_MAX
    pattern = TEXT_PATTERN
    error = "Text may not contain control characters such as line breaks or tabs."


class Note(_Patterned):
    """Free text of several lines (line breaks and tabs allowed, no other control character);
    at most ``NOTE_MAX`` characters unless a ``Length`` or ``max_length`` says otherwise."""

    default_max = NOTE_MAX
    pattern = NOTE_PATTERN
    error = "Text may contain line breaks and tabs but no other control character."


class Id(_Patterned):
    """The id of another resource (``ID_PATTERN``)."""

    default_max = widest_match(ID_PATTERN)
    pattern = ID_PATTERN
    error = "Not an id this platform gives out."


class AwareDateTime(_Bounded, fields.AwareDateTime):
    """An RFC 3339 date-time with its offset, at most 40 characters."""

    default_max = 40


class List(fields.List):
    """A list of at most ``max_items`` items: a longer one is refused before any item is read."""

    default_error_messages = {"too_many": "More than {max} items."}

    def __init__(
        self, inner: Any, *, max_items: int, min_items: int | None = None, **kwargs: Any
    ) -> None:
        given = kwargs.pop("validate", None)
        validators = [] if given is None else list(given) if isinstance(given, list) else [given]
        kwargs["validate"] = [validate.Length(min=min_items, max=max_items), *validators]
        super().__init__(inner, **kwargs)
        self.max_items = max_items

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, list) and len(value) > self.max_items:
            raise self.make_error("too_many", max=self.max_items)
        return super()._deserialize(value, attr, data, **kwargs)


class Dict(fields.Dict):
    """A map of at most ``max_properties`` entries (``maxProperties`` in the document)."""

    default_error_messages = {"too_many": "More than {max} entries."}

    def __init__(self, *, max_properties: int, **kwargs: Any) -> None:
        metadata = {**kwargs.pop("metadata", {}), "maxProperties": max_properties}
        super().__init__(metadata=metadata, **kwargs)
        self.max_properties = max_properties

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dict) and len(value) > self.max_properties:
            raise self.make_error("too_many", max=self.max_properties)
        return super()._deserialize(value, attr, data, **kwargs)
