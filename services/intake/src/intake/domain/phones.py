"""Phone numbers as intake stores them: E.164 ("+13125550100"), one spelling per number.

The rules:

- Every number intake stores (a client's, a clinician's, a clinical lead's) is stored in E.164,
  so that the SMS provider's ``From`` (always E.164) finds it: a STOP from a client whose number
  was written "312 555 0100" must still be that client's STOP.
- A number written without its country code belongs to the site's country: the site's
  ``phone_region`` setting (an ISO 3166 code such as "US"), by default the country of the
  site's time zone ("America/Chicago": US, "Europe/Madrid": ES). A zone of no one country
  ("UTC") gives no default: such a site's numbers must carry their country code.
- A number that is not a possible number of its country is refused, never stored as typed.
"""

from __future__ import annotations

import functools
import importlib.resources
import zoneinfo
from pathlib import Path

import phonenumbers


class NotAPhoneNumber(ValueError):
    """The text is no possible phone number (for the region given). The message repeats none of
    the text: it ends up in a problem detail."""


def region_known(region: object) -> bool:
    """Whether ``region`` is a country code whose numbers ``phonenumbers`` knows ("US", "ES")."""
    return isinstance(region, str) and region in phonenumbers.SUPPORTED_REGIONS


def region_of_zone(zone: str | None) -> str | None:
    """The country of an IANA time zone (the tz database's ``zone.tab``), ``None`` for a zone
    of no one country or one it does not list."""
    if not zone:
        return None
    region = _zone_countries().get(zone)
    return region if region_known(region) else None


def phone_region(site: dict) -> str | None:
    """A site's country for numbers written without a country code: its ``phone_region``
    setting, else its time zone's country (sites registered before the setting)."""
    return site.get("phone_region") or region_of_zone(site.get("timezone"))


def to_e164(text: str, region: str | None) -> str:
    """``text`` in E.164; a number without ``+`` is read as a number of ``region``.
    ``NotAPhoneNumber`` when it is no possible number (or has no ``+`` and no region)."""
    if not isinstance(text, str) or not text.strip():
        raise NotAPhoneNumber("Not a phone number.")
    international = text.strip().startswith("+")
    if not international and not region_known(region):
        raise NotAPhoneNumber("Give the number with its country code, e.g. +1 312 555 0100.")
    try:
        parsed = phonenumbers.parse(text, None if international else region)
    except phonenumbers.NumberParseException:
        raise NotAPhoneNumber("Not a phone number.") from None
    if not phonenumbers.is_possible_number(parsed):
        where = "" if international else f" in {region}"
        raise NotAPhoneNumber(
            f"Not a possible phone number{where}; write it with its country code, "
            "e.g. +1 312 555 0100."
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@functools.cache
def _zone_countries() -> dict[str, str]:
    """Zone name -> country code, from the first ``zone.tab`` found: the ``tzdata`` package's
    (the one ``zoneinfo`` falls back to), else the system's tz database."""
    text = None
    try:
        text = importlib.resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text()
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        for directory in zoneinfo.TZPATH:
            candidate = Path(directory) / "zone.tab"
            if candidate.is_file():
                text = candidate.read_text()
                break
    countries: dict[str, str] = {}
    for line in (text or "").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) >= 3:
            countries[parts[2]] = parts[0]
    return countries
