"""The same person referred twice: the open referrals of a person at a site, found by the keyed
hash intake stores beside the sealed client fields (``person_key``), never by decrypting (the
read is the repository's ``open_referral_ids``)."""

from __future__ import annotations

from typing import Any

from dbt_shared.auth import Principal
from dbt_shared.errors import InvalidInput
from intake.bootstrap import Components
from intake.domain import duplicates

PERSON_FIELDS = frozenset({"given_name", "family_name", "date_of_birth"})


def person_keys(c: Components, client: dict[str, Any]) -> list[str]:
    """The person's keys under each field key in use, the current key's first (``client``
    holds the given and family names and the date of birth as ``YYYY-MM-DD``)."""
    text = duplicates.person_text(
        client["given_name"], client["family_name"], client["date_of_birth"]
    )
    return c.cipher.keyed_hashes(text, purpose=duplicates.PURPOSE)


def keep_person_key(c: Components, state: dict[str, Any], client: dict[str, Any]) -> list[str]:
    """A new referral keeps its person's key under the current key; answers every key."""
    keys = person_keys(c, client)
    state["person_key"] = keys[0]
    return keys


def rekey_person(c: Components, state: dict[str, Any], changes: dict[str, Any]) -> None:
    """A correction of the names or the date of birth (``changes``, in the clear) makes the
    referral's person key anew (the stored fields it leaves are decrypted for it)."""
    if not PERSON_FIELDS & changes.keys():
        return
    keep_person_key(c, state, {**_stored_person(c, state), **changes})


def _stored_person(c: Components, state: dict[str, Any]) -> dict[str, Any]:
    """The names and date of birth a referral stores, decrypted."""
    fields = {f: state["client"].get(f) for f in PERSON_FIELDS}
    return c.cipher.open(fields, tuple(PERSON_FIELDS), record_id=state["_id"], prefix="client")


def check(body: dict[str, Any], c: Components, principal: Principal) -> dict[str, Any]:
    """Before a referral is recorded: the site's open referrals of the same person (same names
    and date of birth, normalised). The ask is audited, with the referrals it named."""
    principal.require_site(body["site_id"])
    if not c.repositories.site_exists(body["site_id"]):
        raise InvalidInput.field("site_id", "Unknown site.")
    person = {**body, "date_of_birth": body["date_of_birth"].isoformat()}
    found = c.repositories.open_referral_ids(body["site_id"], person_keys(c, person))
    c.repositories.audit.record_list(
        principal, "referral.duplicate_check", "site", body["site_id"], found
    )
    return {"site_id": body["site_id"], "possible_duplicates": found}
