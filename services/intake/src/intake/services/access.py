"""Who may see what in intake: site scope, and a therapist's own clients (minimum necessary)."""

from __future__ import annotations

from dbt_shared.auth import Principal
from dbt_shared.errors import NotFound
from intake.bootstrap import Components
from intake.domain.referral import Referral


def own_clinician_ids(
    c: Components, principal: Principal, site_id: str | None = None
) -> list[str] | None:
    """For a therapist without a coordinator's or operator's role: their own clinician ids, as
    they see only the clients assigned to them. ``None`` for staff who see every referral of
    their sites. At a site (``site_id``) by the roles held there: a coordinator at one site
    who is a therapist at another sees only their own clients at the other."""
    if site_id is not None:
        if sees_whole_site(principal, site_id):
            return None
    elif principal.has_role("coordinator", "operator", "service"):
        return None
    return c.repositories.clinician_ids_of_subject(principal.subject, principal.sites)


def sees_whole_site(principal: Principal, site_id: str) -> bool:
    """Whether the caller sees every referral of the site (a coordinator there, an operator, a
    service), rather than only their own clients (a therapist there)."""
    return principal.has_role("operator", "service") or "coordinator" in principal.roles_at(site_id)


def visible_referral(c: Components, principal: Principal, referral_id: str) -> Referral:
    """The referral, if the caller may act on it; otherwise 404."""
    referral = c.repositories.referral(referral_id)
    if referral is None or not principal.can_act_on_site(referral.site_id):
        raise NotFound("referral")
    own = own_clinician_ids(c, principal, referral.site_id)
    if own is not None and referral.therapist_id not in own:
        raise NotFound("referral")
    return referral
