"""Whom a delivery goes to: an address from intake's site, asked for at send time, never stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class RecipientKind:
    SITE_INTAKE = "site_intake"
    SITE_CLINICAL_LEAD = "site_clinical_lead"


class NoRecipient(Exception):
    """The site gives no address for this kind of recipient; retrying cannot help."""


@dataclass(frozen=True)
class Recipient:
    address: str
    fallback: bool = False
    """True when the intended recipient had no address and the site's intake address stood in."""


def resolve_recipient(recipient_kind: str, site: dict[str, Any]) -> Recipient:
    """The address for ``recipient_kind`` in intake's site (``GET /v1/sites/{id}``).

    A clinical lead without an email falls back to the site's intake address, so that a safety
    alert still reaches a person at the site.
    """
    intake_email = _address(site.get("intake_email"))
    if recipient_kind == RecipientKind.SITE_CLINICAL_LEAD:
        lead = site.get("clinical_lead")
        lead_email = _address(lead.get("email")) if isinstance(lead, dict) else None
        if lead_email:
            return Recipient(lead_email)
        if intake_email:
            return Recipient(intake_email, fallback=True)
        raise NoRecipient("site has neither a clinical lead email nor an intake email")
    if recipient_kind == RecipientKind.SITE_INTAKE:
        if intake_email:
            return Recipient(intake_email)
        raise NoRecipient("site has no intake email")
    raise NoRecipient(f"no address for recipient kind {recipient_kind}")


def _address(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()
