"""Domain errors: what a use case refuses, with structured fields, and no framework in sight.

Domain and service code raise these; ``create_service_app`` maps them to RFC 9457 problem
responses once (``web._install_error_handlers``), so no view translates an error by hand and
nothing parses a message. ``members`` become problem extension members (each service declares
the ones it uses, so the OpenAPI document describes them).
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every refusal a client can see. ``kind`` names the problem type."""

    status: ClassVar[int] = 400
    kind: ClassVar[str] = "bad-request"

    def __init__(self, detail: str, *, kind: str | None = None, **members: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.problem_kind = kind or type(self).kind
        self.members = members


class NotFound(DomainError):
    """The object does not exist, or the caller may not know that it does (another site's)."""

    status = 404
    kind = "not-found"

    def __init__(self, what: str = "resource") -> None:
        super().__init__(f"No such {what}.")
        self.what = what


class Forbidden(DomainError):
    status = 403
    kind = "forbidden"


class Conflict(DomainError):
    """Well-formed, but the current state does not allow it (409)."""

    status = 409
    kind = "conflict"


class StaleWrite(Conflict):
    """Another writer changed the object between our read and our write."""

    kind = "conflict"

    def __init__(self, what: str = "object") -> None:
        super().__init__(f"The {what} changed meanwhile; reload it and try again.")


class Duplicate(Conflict):
    """A new object collides with an existing one on a unique key other than its id."""

    def __init__(self, what: str = "object") -> None:
        super().__init__(f"Such a {what} exists already.")


class TooManyRequests(DomainError):
    """A per-caller limit was reached (429); ``Retry-After`` says when to ask again."""

    status = 429
    kind = "too-many-requests"

    def __init__(self, detail: str, *, retry_after_s: int, kind: str | None = None) -> None:
        super().__init__(detail, kind=kind)
        self.headers = {"Retry-After": str(max(1, int(retry_after_s)))}


class Unavailable(DomainError):
    """A write that must land could not be made now (the store busy or down): nothing was
    done, the caller may retry (503). Never answered as a success that did not happen."""

    status = 503
    kind = "unavailable"


class InvalidInput(DomainError):
    """Some fields break a rule the schema alone cannot express (422 with the fields at fault)."""

    status = 422
    kind = "unprocessable-content"

    def __init__(
        self,
        errors: list[tuple[str | None, str]] | dict[str, str],
        *,
        detail: str = "The request has invalid fields; see errors.",
        kind: str | None = None,
        location: str = "json",
    ) -> None:
        super().__init__(detail, kind=kind)
        pairs = list(errors.items()) if isinstance(errors, dict) else list(errors)
        self.field_errors = [
            {"field": field, "location": location, "message": message} for field, message in pairs
        ]

    @classmethod
    def field(cls, field: str, message: str, *, location: str = "json") -> InvalidInput:
        return cls([(field, message)], location=location)
