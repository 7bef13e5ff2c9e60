"""Coaching's organisation-wide figures (``GET /v1/coaching-figures``): every site in one call,
each with its acknowledgements missed in 7 days and the coverage gaps of the next 7 days as the
rota stands (hours without a clinician on call); a coordinator gets their sites only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from coaching import bootstrap
from coaching.app import create_app
from coaching.services import directory, escalation
from dbt_shared.clock import FixedClock

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday, before the evening's coaching hours
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
HOURS = {
    "hours": [{"weekday": d, "start": "17:00", "end": "21:00"} for d in WEEKDAYS],
}


def rota(primary_days, backup_days=()) -> dict:
    return {
        "primary": [
            {"clinician_id": "pat", "weekday": d, "start": "17:00", "end": "21:00"}
            for d in primary_days
        ],
        "backup": [
            {"clinician_id": "bea", "weekday": d, "start": "17:00", "end": "21:00"}
            for d in backup_days
        ],
    }


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def components(clock):
    c = bootstrap.in_memory(clock)
    for site in ("site-a", "site-b"):
        c.repositories.sites.insert({"_id": site, "timezone": "Europe/London"})
    for cid in ("pat", "bea"):
        directory.on_clinician_registered(
            {
                "clinician_id": cid,
                "site_id": "site-a",
                "subject": f"s-{cid}",
                "roles": ["therapist"],
            },
            c,
        )
    return c


@pytest.fixture
def api(api_env, components):
    return create_app(components).test_client()


def figures(api, headers) -> dict[str, dict]:
    answer = api.get("/v1/coaching-figures", headers=headers)
    assert answer.status_code == 200, answer.json
    return {row["site_id"]: row for row in answer.json["items"]}


def set_up(api, auth, rota_body) -> None:
    coordinator = auth("coordinator", "site-a")
    hours = api.put("/v1/sites/site-a/coaching-hours", json=HOURS, headers=coordinator)
    assert hours.status_code == 200, hours.json
    put = api.put("/v1/sites/site-a/rota", json=rota_body, headers=coordinator)
    assert put.status_code == 200, put.json


def test_every_site_in_one_call_with_the_hours_nobody_is_on_call(api, auth):
    # Pat covers Monday to Wednesday; Thursday and Friday evenings (2 x 4 h) have no primary,
    # and no day has a backup (5 x 4 h).
    set_up(api, auth, rota(("mon", "tue", "wed")))

    rows = figures(api, auth("operator", []))

    assert set(rows) == {"site-a", "site-b"}
    assert rows["site-a"]["rota_set"] is True
    assert rows["site-a"]["hours_without_primary_7d"] == 8.0
    assert rows["site-a"]["hours_without_backup_7d"] == 20.0
    assert rows["site-a"]["gaps_7d"] == 7  # Thursday, Friday without a primary; 5 without a backup
    assert rows["site-a"]["first_gap_at"].startswith("2026-03-02T17:00")
    assert rows["site-a"]["missed_acknowledgements_7d"] == 0
    assert rows["site-b"]["rota_set"] is False  # no rota yet: not counted as short-handed
    assert rows["site-b"]["hours_without_primary_7d"] is None


def test_a_rota_that_covers_every_hour_has_no_gap(api, auth):
    set_up(api, auth, rota(WEEKDAYS, WEEKDAYS))

    row = figures(api, auth("operator", []))["site-a"]

    assert row["gaps_7d"] == 0
    assert row["hours_without_primary_7d"] == 0.0
    assert row["first_gap_at"] is None


def test_the_per_site_figures_are_the_same_row(api, auth):
    set_up(api, auth, rota(("mon",)))
    operator = auth("operator", [])

    one = api.get("/v1/sites/site-a/coaching-figures", headers=operator)

    assert one.status_code == 200
    assert one.json == figures(api, operator)["site-a"]


def test_a_coordinator_sees_only_their_sites_and_a_therapist_nothing(api, auth):
    seen = figures(api, auth("coordinator", "site-b"))
    refused = api.get("/v1/coaching-figures", headers=auth("therapist", "site-a"))

    assert set(seen) == {"site-b"}
    assert refused.status_code == 403


# -- the list behind the missed acknowledgements --------------------------------------------------
def test_the_requests_whose_acknowledgement_was_missed_listed_for_a_week_audited(api_env, auth):
    from test_coaching_figures import NOW as EVENING  # a Tuesday evening in New York
    from test_coaching_figures import PROGRAM, ROTA, SITE

    clock = FixedClock(EVENING)
    c = bootstrap.in_memory(clock)
    c.repositories.sites.insert({"_id": SITE, "timezone": "America/New_York"})
    settings = {"coaching_ack_target_minutes": 1, "twenty_four_hour_rule": True}
    c.repositories.programs.insert(
        {"_id": PROGRAM, "site_id": SITE, "kind": "adult", "settings": settings}
    )
    for cid in ("pat", "bea"):
        directory.on_clinician_registered(
            {"clinician_id": cid, "site_id": SITE, "subject": f"s-{cid}", "roles": ["therapist"]},
            c,
        )
    directory.on_client_admitted(
        {
            "client_id": "client-1",
            "site_id": SITE,
            "program_id": PROGRAM,
            "therapist_id": "pat",
            "admitted_at": "2026-02-01T00:00:00+00:00",
        },
        c,
    )
    api = create_app(c).test_client()
    api.put(f"/v1/sites/{SITE}/rota", json=ROTA, headers=auth("coordinator", SITE))
    made = api.post(
        "/v1/coaching-requests", json={"kind": "skills"}, headers=auth("client", [], "client-1")
    )
    assert made.status_code == 201, made.json
    for _ in range(3):  # to the backup, then to the lead: missed once
        clock.advance(timedelta(minutes=1, seconds=1))
        escalation.escalate_due(c)
    operator = auth("operator", [])

    listed = api.get(f"/v1/sites/{SITE}/missed-acknowledgements", headers=operator)
    overview = figures(api, operator)[SITE]
    elsewhere = api.get(
        f"/v1/sites/{SITE}/missed-acknowledgements", headers=auth("coordinator", "site-b")
    )
    clock.advance(timedelta(days=7))
    a_week_on = api.get(f"/v1/sites/{SITE}/missed-acknowledgements", headers=operator)
    overview_a_week_on = figures(api, operator)[SITE]

    assert listed.status_code == 200, listed.json
    [item] = listed.json["items"]
    assert (item["request_id"], item["kind"], item["client_id"]) == (
        made.json["id"],
        "skills",
        "client-1",
    )
    assert a_week_on.json["items"] == []
    assert overview["missed_acknowledgements_7d"] == 1  # the figure the list is behind
    assert overview_a_week_on["missed_acknowledgements_7d"] == 0
    assert elsewhere.status_code == 404 and "items" not in elsewhere.json
    trail = [e for e in c.repositories.audit.entries if e["action"] == "missed_acks.list"]
    assert trail[0]["object_ids"] == [made.json["id"]]


class CountedReads:
    """A store or the tallies as they are, each read counted (what the overview costs)."""

    def __init__(self, inner, counter: list[int]) -> None:
        self.inner, self.counter = inner, counter

    def __getattr__(self, name):
        attribute = getattr(self.inner, name)
        if name in ("get", "find", "count"):

            def counted(*args, **kwargs):
                self.counter[0] += 1
                return attribute(*args, **kwargs)

            return counted
        return attribute


def test_every_sites_figures_cost_the_same_reads_for_2_sites_as_for_30(api_env, clock, auth):
    """Every site's row in one call reads each kind of document once for all sites (a day's
    missed-acknowledgement tallies, the rotas, the settings, ...): 30 sites with a rota do not
    cost 15 times the reads of 2, and each row is still the site's own figures."""

    def overview(sites: int) -> tuple[int, dict]:
        c = bootstrap.in_memory(clock)
        api = create_app(c).test_client()
        for n in range(sites):
            site = f"site-{n}"
            c.repositories.sites.insert({"_id": site, "timezone": "Europe/London"})
            # as the rota and hours pages store them (their validation is tested with them)
            c.repositories.settings.insert({"_id": site, "hours": HOURS["hours"]})
            c.repositories.rotas.insert({"_id": site, **rota(WEEKDAYS[: 1 + n % 5])})
        reads = [0]
        r = c.repositories
        for name in ("tallies", "sites", "rotas", "settings", "overrides", "time_off"):
            setattr(r, name, CountedReads(getattr(r, name), reads))
        rows = figures(api, auth("operator", []))
        return reads[0], rows

    few, rows_few = overview(2)
    many, rows_many = overview(30)

    assert many == few
    assert rows_many["site-1"] == rows_few["site-1"]
    assert rows_many["site-1"]["hours_without_primary_7d"] == 12.0  # Mon, Tue covered of five
    assert rows_many["site-29"]["hours_without_primary_7d"] == 0.0  # every weekday covered
