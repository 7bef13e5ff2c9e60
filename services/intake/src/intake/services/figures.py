"""The organisation's waitlist at a glance, for the operators' overview: per site and program,
how many wait (by stage) and the longest wait, in one call for every site the caller may see.
Both are kept as referrals change stage (the waitlist tallies: per stage, and per moment of
receipt, ``intake.domain.waitlist``): one read for every site, whatever has waited how long.

No client data leaves here (counts and days only), so nothing is audited; the list behind each
figure is ``GET /v1/waitlist`` (audited there).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dbt_shared.auth import Principal
from dbt_shared.errors import NotFound
from intake.bootstrap import Components
from intake.domain import pipeline, waitlist


def waitlist_figures(
    c: Components, principal: Principal, site_id: str | None = None
) -> dict[str, Any]:
    """Every site the caller may see (operators: all; coordinators: theirs), or the one site
    asked for, each program with its waiting count by stage and the longest wait in days."""
    now = c.clock.now()
    if site_id is not None:
        principal.require_site(site_id)
        if not c.repositories.site_exists(site_id):
            raise NotFound("site")
        sites = [site_id]
        # the site's waitlist tallies: tallies index site_kind (site_id, kind)
        found = c.repositories.tallies.find({"site_id": site_id, "kind": "waitlist"})
    else:
        allowed = principal.site_filter()  # None: every site
        sites = [s for s in c.repositories.site_ids() if allowed is None or s in allowed]
        # Every site's waitlist tallies, counts per stage and moments of receipt, in one read
        # (one document per site, program and writer; kept a few seconds while the overview
        # is in use), never a read per site nor a walk of a waitlist.
        found = c.repositories.organisation_waitlists()
    tallied: dict[str, list[dict[str, Any]]] = {}
    for tally in found:
        tallied.setdefault(tally.get("site_id"), []).append(tally)
    return {"items": [_site_figures(s, tallied.get(s, []), now) for s in sites]}


def _site_figures(site_id: str, tallied: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    counts: dict[str, dict[str, int]] = {}
    oldest: dict[str, datetime | None] = {}
    for tally in tallied:
        program = tally.get("program")
        if program:
            stages = {s: max(0, int(tally.get(s, 0))) for s in pipeline.WAITING_STAGES}
            counts[program] = stages
            oldest[program] = waitlist.oldest_received(tally)
    waiting = {p: sum(stages.values()) for p, stages in counts.items()}
    programs = []
    for program in sorted(counts):
        received = oldest.get(program) if waiting[program] > 0 else None
        programs.append(
            {
                "program": program,
                "waiting": waiting[program],
                "stages": [
                    {"stage": s, "count": counts[program][s]} for s in pipeline.WAITING_STAGES
                ],
                "oldest_waiting_days": (
                    pipeline.waiting_days(received, now) if received is not None else None
                ),
            }
        )
    return {
        "site_id": site_id,
        "waiting": sum(waiting.values()),
        "oldest_waiting_days": max(
            (p["oldest_waiting_days"] for p in programs if p["oldest_waiting_days"] is not None),
            default=None,
        ),
        "programs": programs,
    }
