"""Who may see what in intake: site scope, and a therapist's own clients (minimum necessary)."""

from __future__ import annotations

from dbt_shared.auth import Principal
from dbt_shared.errors import NotFound
from intake.bootstrap import Components
from intake.domain.referral import Referral


def own_clinician_ids(c: Components, principal: Principal) -> list[str] | None:
    """For a therapist without a coordinator's or operator's role: their own clinician ids, as
    they see only the clients assigned to them. ``None`` for staff who see every referral of
    their sites."""
    if principal.has_role("coordinator", "operator", "service"):
        return None
    return c.repositories.clinician_ids_of_subject(principal.subject, principal.sites)


def visible_referral(c: Components, principal: Principal, referral_id: str) -> Referral:
    """The referral, if the caller may act on it; otherwise 404."""
    referral = c.repositories.referral(referral_id)
    if referral is None or not principal.can_act_on_site(referral.site_id):
        raise NotFound("referral")
    own = own_clinician_ids(c, principal)
    if own is not None and referral.therapist_id not in own:
        raise NotFound("referral")
    return referral
