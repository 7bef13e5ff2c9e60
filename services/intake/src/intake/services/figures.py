"""The organisation's waitlist at a glance, for the operators' overview: per site and program,
how many wait (by stage) and the longest wait, in one call for every site the caller may see.

No client data leaves here (counts and days only), so nothing is audited; the list behind each
figure is ``GET /v1/waitlist`` (audited there).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dbt_shared import listing
from dbt_shared.auth import Principal
from dbt_shared.clock import aware
from intake.bootstrap import Components
from intake.domain import pipeline
from intake.repository import site_list, waitlist_head

#: Rows read per step of the walk for the oldest waits (one bucket's worth).
WALK_PAGE = listing.BUCKET_SIZE


def waitlist_figures(c: Components, principal: Principal) -> dict[str, Any]:
    """Every site the caller may see (operators: all; coordinators: theirs), each program with
    its waiting count by stage and the longest wait in days."""
    allowed = principal.site_filter()  # None: every site
    sites = [s for s in c.repositories.site_ids() if allowed is None or s in allowed]
    now = c.clock.now()
    # Every site's waitlist tallies in one read (tallies index kind_day, its kind prefix: one
    # document per site and program, and writer), never one read per site.
    tallied: dict[str, list[dict[str, Any]]] = {}
    for tally in c.repositories.tallies.find({"kind": "waitlist"}):
        tallied.setdefault(tally.get("site_id"), []).append(tally)
    return {"items": [_site_figures(c, s, tallied.get(s, []), now) for s in sites]}


def _site_figures(
    c: Components, site_id: str, tallied: list[dict[str, Any]], now: datetime
) -> dict[str, Any]:
    counts: dict[str, dict[str, int]] = {}
    for tally in tallied:
        program = tally.get("program")
        if program:
            stages = {s: max(0, int(tally.get(s, 0))) for s in pipeline.WAITING_STAGES}
            counts[program] = stages
    waiting = {p: sum(stages.values()) for p, stages in counts.items()}
    oldest = _oldest_received(c, site_id, {p for p, n in waiting.items() if n > 0})
    programs = []
    for program in sorted(counts):
        received = oldest.get(program)
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


def _oldest_received(c: Components, site_id: str, programs: set[str]) -> dict[str, datetime]:
    """When each program's longest-waiting referral was received: one walk of the site's
    waitlist from its head (rows index site_list (site_id, site_bucket, _id), the lane
    ``GET /v1/waitlist`` reads), oldest first, until each program has been met and its first
    bucket read whole (a bucket's rows are in id order, not by receipt). Its cost is the
    buckets between the head and the last program's oldest, never the site's history."""
    lane = listing.Lane(
        {"site_id": site_id, "waiting": True},
        site_list(site_id),
        "site_bucket",
        head_key=waitlist_head(site_id),
    )
    first_bucket: dict[str, int] = {}
    oldest: dict[str, datetime] = {}
    cursor = None
    while True:
        rows, cursor = listing.page(
            c.repositories.rows,
            [lane],
            c.repositories.sequences,
            limit=WALK_PAGE,
            cursor=cursor,
            projection={"program": 1, "received_at": 1, "site_bucket": 1},
            clock=c.clock,
        )
        for row in rows:
            program, bucket = row.get("program"), row.get("site_bucket")
            if program is None or row.get("received_at") is None:
                continue
            if program not in first_bucket:
                first_bucket[program] = bucket
            if bucket == first_bucket[program]:
                received = aware(row["received_at"])
                if program not in oldest or received < oldest[program]:
                    oldest[program] = received
        last_bucket = rows[-1].get("site_bucket") if rows else None
        done = all(
            p in first_bucket and last_bucket is not None and last_bucket > first_bucket[p]
            for p in programs
        )
        if cursor is None or done:
            return oldest
