"""Marshmallow fields that accept exactly what the OpenAPI document says they accept.

marshmallow's ``Boolean`` takes ``0``, ``1``, ``"yes"`` and more; the document says ``boolean``,
so a JSON body must carry ``true`` or ``false`` (a query string ``true`` or ``false``).
marshmallow's ``Regexp`` lets ``$`` match before a final newline; ``Pattern`` does not.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError, fields, validate


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
        if self._whole.match(value) is None:
            raise ValidationError(self._format_error(value))
        return value
