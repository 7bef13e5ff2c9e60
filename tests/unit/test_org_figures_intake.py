"""Intake's organisation-wide waitlist figures (``GET /v1/waitlist-figures``): every site in one
call, per program how many wait and the longest wait, a coordinator's sites only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from intake import bootstrap
from intake.app import create_app


@pytest.fixture
def components(clock):
    return bootstrap.in_memory(clock)


@pytest.fixture
def client(api_env, components):
    return create_app(components).test_client()


@pytest.fixture
def operator(auth):
    return auth(["operator"], [], "op")


def add_site(client, operator, name: str) -> str:
    body = {"name": name, "timezone": "Europe/London", "intake_email": "i@x.example"}
    created = client.post("/v1/sites", json=body, headers=operator)
    assert created.status_code == 201, created.json
    return created.json["id"]


def refer(client, headers, site_id: str, program: str = "adult", name: str = "Ada") -> str:
    body = {
        "site_id": site_id,
        "program": program,
        "source": "GP",
        "consent_to_contact": True,
        "client": {
            "given_name": name,
            "family_name": "Lovelace",
            "date_of_birth": "1990-01-02",
            "email": "a@example.org",
            "phone": "+44 20 7946 0000",
        },
    }
    created = client.post("/v1/referrals", json=body, headers=headers)
    assert created.status_code == 201, created.json
    return created.json["id"]


def by_site(answer) -> dict[str, dict]:
    return {row["site_id"]: row for row in answer.json["items"]}


def test_every_site_in_one_call_with_each_programs_count_and_longest_wait(
    client, operator, auth, clock
):
    north, south = add_site(client, operator, "North"), add_site(client, operator, "South")
    refer(client, operator, north, name="Ada")
    clock.advance(timedelta(days=9))
    refer(client, operator, north, name="Bea")
    refer(client, operator, north, program="adolescent", name="Cy")
    clock.advance(timedelta(days=3))

    answer = client.get("/v1/waitlist-figures", headers=operator)

    assert answer.status_code == 200, answer.json
    sites = by_site(answer)
    assert set(sites) == {north, south}
    programs = {p["program"]: p for p in sites[north]["programs"]}
    assert programs["adult"]["waiting"] == 2
    assert programs["adult"]["oldest_waiting_days"] == 12
    assert programs["adolescent"]["waiting"] == 1
    assert programs["adolescent"]["oldest_waiting_days"] == 3
    assert sites[north]["waiting"] == 3
    assert sites[north]["oldest_waiting_days"] == 12
    assert {s["stage"]: s["count"] for s in programs["adult"]["stages"]}["received"] == 2
    assert sites[south]["waiting"] == 0
    assert sites[south]["oldest_waiting_days"] is None


def test_a_referral_that_leaves_the_waitlist_leaves_the_figures(client, operator, clock):
    site = add_site(client, operator, "North")
    first = refer(client, operator, site, name="Ada")
    clock.advance(timedelta(days=5))
    refer(client, operator, site, name="Bea")
    clock.advance(timedelta(days=1))
    withdrawn = client.post(
        f"/v1/referrals/{first}/withdrawal", json={"reason": "client_declined"}, headers=operator
    )
    assert withdrawn.status_code == 200, withdrawn.json

    row = by_site(client.get("/v1/waitlist-figures", headers=operator))[site]

    assert row["waiting"] == 1
    assert row["oldest_waiting_days"] == 1  # Bea's wait, no longer Ada's six days


def test_a_coordinator_sees_only_their_sites_and_a_therapist_nothing(client, operator, auth):
    north, south = add_site(client, operator, "North"), add_site(client, operator, "South")
    refer(client, operator, south)

    coordinator = auth(["coordinator"], [north], "coord")
    seen = client.get("/v1/waitlist-figures", headers=coordinator)
    refused = client.get("/v1/waitlist-figures", headers=auth(["therapist"], [north], "t"))

    assert seen.status_code == 200
    assert set(by_site(seen)) == {north}
    assert refused.status_code == 403


class CountedTallies:
    """The tallies as they are, each read counted."""

    def __init__(self, tallies) -> None:
        self.tallies, self.reads = tallies, 0

    def __getattr__(self, name):
        return getattr(self.tallies, name)

    def get(self, key):
        self.reads += 1
        return self.tallies.get(key)

    def find(self, tags):
        self.reads += 1
        return self.tallies.find(tags)


def test_every_sites_waiting_counts_come_from_one_read_of_the_tallies(api_env, clock, auth):
    """The waiting counts of 2 sites or of 12 cost one read of the tallies, not one per site,
    and each site keeps its own counts."""

    def overview(sites: int) -> tuple[int, dict]:
        c = bootstrap.in_memory(clock)
        client, operator = create_app(c).test_client(), auth(["operator"], [], "op")
        made = [add_site(client, operator, f"Site {n}") for n in range(sites)]
        refer(client, operator, made[0])
        counted = CountedTallies(c.repositories.tallies)
        c.repositories.tallies = counted
        rows = by_site(client.get("/v1/waitlist-figures", headers=operator))
        return counted.reads, {n: rows[site] for n, site in enumerate(made)}

    few, rows_few = overview(2)
    many, rows_many = overview(12)

    assert few == many == 1
    assert rows_many[0]["waiting"] == rows_few[0]["waiting"] == 1
    assert rows_many[11]["waiting"] == 0


class CountedRows:
    """The referral list rows as they are, each read counted."""

    def __init__(self, rows) -> None:
        self.rows, self.reads = rows, 0

    def __getattr__(self, name):
        return getattr(self.rows, name)

    def find(self, *args, **kwargs):
        self.reads += 1
        return self.rows.find(*args, **kwargs)

    def count(self, *args, **kwargs):
        self.reads += 1
        return self.rows.count(*args, **kwargs)


def test_the_longest_wait_is_kept_not_found_by_reading_the_waitlist(
    client, operator, components, clock
):
    """The oldest wait comes with the counts (kept as referrals move), so the figures read no
    referral row however long the waitlist, and stay right when the oldest moves on or
    leaves."""
    site = add_site(client, operator, "North")
    first = refer(client, operator, site, name="Ada")
    clock.advance(timedelta(days=4))
    second = refer(client, operator, site, name="Bea")
    clock.advance(timedelta(days=3))
    for n in range(6):
        refer(client, operator, site, name=f"Cy{n}")
    clock.advance(timedelta(days=2))
    counted = CountedRows(components.repositories.rows)
    components.repositories.rows = counted

    def figures() -> dict:
        answer = client.get("/v1/waitlist-figures", headers=operator)
        assert answer.status_code == 200, answer.json
        return by_site(answer)[site]

    assert (figures()["waiting"], figures()["oldest_waiting_days"]) == (8, 9)
    assert counted.reads == 0
    components.repositories.rows = counted.rows  # the moves below read and write as ever
    low_risk = {
        "cssrs": [False] * 6,
        "phq9": [1, 1, 1, 1, 0, 1, 0, 0, 0],
        "gad7": [1, 1, 0, 0, 1, 0, 0],
        "ders16_total": 40,
        "bsl23_mean": 0.8,
    }
    screened = client.post(f"/v1/referrals/{first}/screenings", json=low_risk, headers=operator)
    moved = figures()
    withdrawn = client.post(
        f"/v1/referrals/{first}/withdrawal", json={"reason": "client_declined"}, headers=operator
    )
    assert withdrawn.status_code == 200, withdrawn.json
    after_first = figures()
    client.post(
        f"/v1/referrals/{second}/withdrawal", json={"reason": "client_declined"}, headers=operator
    )

    assert screened.status_code == 201, screened.json
    assert (moved["waiting"], moved["oldest_waiting_days"]) == (8, 9)  # still waiting
    assert (after_first["waiting"], after_first["oldest_waiting_days"]) == (7, 5)
    assert (figures()["waiting"], figures()["oldest_waiting_days"]) == (6, 2)


def test_one_sites_figures_for_its_queue_page_and_another_sites_not_found(client, operator, auth):
    north, south = add_site(client, operator, "North"), add_site(client, operator, "South")
    refer(client, operator, north, name="Ada")
    refer(client, operator, south, name="Bea")
    refer(client, operator, south, program="adolescent", name="Cy")
    coordinator = auth(["coordinator"], [south], "coord")

    mine = client.get(f"/v1/waitlist-figures?site_id={south}", headers=coordinator)
    other = client.get(f"/v1/waitlist-figures?site_id={north}", headers=coordinator)
    unknown = client.get("/v1/waitlist-figures?site_id=nowhere", headers=operator)
    bad = client.get("/v1/waitlist-figures?site_id=", headers=operator)

    assert mine.status_code == 200, mine.json
    assert [(s["site_id"], s["waiting"]) for s in mine.json["items"]] == [(south, 2)]
    assert other.status_code == 404 and unknown.status_code == 404
    assert bad.status_code == 422
