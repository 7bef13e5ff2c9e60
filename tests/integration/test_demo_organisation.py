"""The demo organisation (``make demo``, the first ``make run`` of an empty stack), loaded
through the services' APIs into the test stack: what a newcomer signing in would find, and a
second load that changes nothing."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from devstack import demo, demo_data, mint_token

DEADLINE_S = 60.0


def _get(profile, service: str, path: str, token: str) -> Any:
    answer = requests.get(
        profile.api_url(service) + path, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _until(check: Callable[[], Any], what: str) -> Any:
    """``check()`` once it answers something truthy (the workers apply events a moment later)."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"not within {DEADLINE_S} s: {what}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def loaded(platform):
    made = demo.load(platform.profile, timeout=120)
    sites = demo.find_sites(demo.Api(platform.profile))
    return platform.profile, made, sites


def _snapshot(profile, sites: dict[str, str]) -> dict[str, Any]:
    """Everything the demo makes, as the services show it."""
    op = mint_token(["operator"], [], "demo-test-operator")
    shot: dict[str, Any] = {"sites": sites}
    for key, site in sites.items():
        base = f"/v1/sites/{site}"
        shot[key] = {
            "programs": _get(profile, "intake", base + "/programs", op)["items"],
            "clinicians": _get(profile, "intake", base + "/clinicians", op)["items"],
            "referrals": _get(profile, "intake", f"/v1/referrals?site_id={site}&limit=200", op),
            "groups": _get(profile, "skills-group", f"/v1/groups?site_id={site}", op),
        }
    shot["staff"] = [
        _get(profile, "intake", f"/v1/staff/{staff_id}", op) for staff_id, _, _ in demo_data.STAFF
    ]
    north = f"/v1/sites/{sites['north']}"
    shot["rota"] = _get(profile, "coaching", north + "/rota", op)
    shot["hours"] = _get(profile, "coaching", north + "/coaching-hours", op)
    theo = mint_token(["therapist"], [sites["north"]], demo_data.THEO)
    admitted = [r["id"] for r in shot["north"]["referrals"]["items"] if r["status"] == "admitted"]
    shot["coaching"] = [
        [
            _get(profile, "coaching", f"/v1/clients/{client}/{what}", theo)
            for what in ("alliance", "goals", *(f"diary-summary?week={w}" for w in _weeks()))
        ]
        for client in admitted
    ]
    shot["enrollments"] = [
        _get(profile, "skills-group", f"/v1/groups/{g['id']}/enrollments", op)
        for g in shot["north"]["groups"]["items"]
    ]
    return shot


def _weeks() -> list[str]:
    """The ISO weeks of the demo's diary cards (the six days before today)."""
    today = datetime.now(UTC).date()
    days = [today - timedelta(days=back) for back in range(1, 7)]
    return sorted({f"{d.isocalendar().year}-W{d.isocalendar().week:02d}" for d in days})


def test_theo_reads_his_clients_diary_cards_goals_and_alliance(loaded):
    profile, _, sites = loaded
    theo = mint_token(["therapist"], [sites["north"]], demo_data.THEO)
    own = _get(profile, "intake", f"/v1/referrals?site_id={sites['north']}&status=admitted", theo)
    assert len(own["items"]) == 2
    ruptures = 0
    for client in (r["id"] for r in own["items"]):
        filled = sum(
            _get(profile, "coaching", f"/v1/clients/{client}/diary-summary?week={w}", theo)[
                "days_filled"
            ]
            for w in _weeks()
        )
        assert filled == 6
        assert len(_get(profile, "coaching", f"/v1/clients/{client}/goals", theo)["items"]) == 1
        alliance = _get(profile, "coaching", f"/v1/clients/{client}/alliance", theo)
        assert len(alliance["series"]) >= 4
        ruptures += len(alliance["open_ruptures"])
    assert ruptures == 1  # Hal's last check-in is low: theo has a rupture to repair


def test_each_dev_user_has_their_role_at_the_demo_sites(loaded):
    profile, made, sites = loaded
    assert set(sites) == {"north", "south"}, made
    op = mint_token(["operator"], [], "demo-test-operator")
    carla = _get(profile, "intake", f"/v1/staff/{demo_data.CARLA}", op)
    assert carla["active"]
    assert {(m["site_id"], tuple(m["roles"])) for m in carla["memberships"]} == {
        (sites["north"], ("coordinator",)),
        (sites["south"], ("coordinator",)),
    }
    for staff_id, role in ((demo_data.FIONA, "facilitator"), (demo_data.THEO, "therapist")):
        member = _get(profile, "intake", f"/v1/staff/{staff_id}", op)
        assert [(m["site_id"], m["roles"]) for m in member["memberships"]] == [
            (sites["north"], [role])
        ]
    # theo is a clinician at Site North under his own user id: his caseload is his clients
    clinicians = _get(profile, "intake", f"/v1/sites/{sites['north']}/clinicians", op)["items"]
    theo = next(c for c in clinicians if c["subject"] == demo_data.THEO)
    assert theo["caseload"] == 4  # the matched, the committed and the two admitted clients


def test_the_coordinators_queue_has_a_referral_at_each_stage(loaded):
    profile, _, sites = loaded
    carla = mint_token(["coordinator"], [sites["north"], sites["south"]], demo_data.CARLA)
    rows = _get(profile, "intake", f"/v1/referrals?site_id={sites['north']}&limit=100", carla)
    statuses = [r["status"] for r in rows["items"]]
    for status in ("received", "screening", "eligible", "orientation", "committed", "admitted"):
        assert status in statuses
    matched = [r for r in rows["items"] if r["status"] == "orientation"]
    assert matched and all(r["therapist_id"] for r in matched)
    names = requests.post(
        profile.api_url("intake") + "/v1/clients/display-names",
        json={"client_ids": [r["id"] for r in rows["items"]]},
        headers={"Authorization": f"Bearer {carla}"},
        timeout=30,
    ).json()["items"]
    assert "Cal Example" in {n["display_name"] for n in names}
    south = _get(profile, "intake", f"/v1/referrals?site_id={sites['south']}&limit=100", carla)
    assert {r["status"] for r in south["items"]} == {"received", "eligible"}


def test_the_group_led_by_fiona_has_the_admitted_clients_as_members(loaded):
    profile, _, sites = loaded
    fiona = mint_token(["facilitator"], [sites["north"]], demo_data.FIONA)
    groups = _get(profile, "skills-group", f"/v1/groups?site_id={sites['north']}", fiona)
    (group,) = [g for g in groups["items"] if g["name"] == demo_data.GROUP["name"]]
    assert len(group["facilitator_ids"]) == 2
    members = _until(
        lambda: [
            e
            for e in _get(profile, "skills-group", f"/v1/groups/{group['id']}/enrollments", fiona)[
                "items"
            ]
            if e["status"] == "active"
        ][1:],  # truthy once both admitted clients are placed
        "both admitted clients placed in the demo group",
    )
    assert members


def test_the_rota_has_theo_on_call_and_a_gap_on_saturday(loaded):
    profile, _, sites = loaded
    carla = mint_token(["coordinator"], [sites["north"]], demo_data.CARLA)
    rota = _get(profile, "coaching", f"/v1/sites/{sites['north']}/rota", carla)
    coverage = _get(profile, "coaching", f"/v1/sites/{sites['north']}/coverage", carla)
    op = mint_token(["operator"], [], "demo-test-operator")
    clinicians = _get(profile, "intake", f"/v1/sites/{sites['north']}/clinicians", op)["items"]
    theo = next(c["id"] for c in clinicians if c["subject"] == demo_data.THEO)
    assert any(shift["clinician_id"] == theo for shift in rota["primary"])
    # the one deliberate gap: Saturday's hours (10:00-14:00 at the site), nobody on call
    zone = ZoneInfo(demo_data.SITES["north"]["timezone"])
    gaps = [datetime.fromisoformat(gap["start"]).astimezone(zone) for gap in coverage["gaps"]]
    assert gaps, coverage
    assert {(at.strftime("%a"), at.strftime("%H:%M")) for at in gaps} == {("Sat", "10:00")}


def test_a_second_load_changes_nothing(loaded):
    profile, _, sites = loaded
    # both admitted clients placed first: the snapshot would otherwise change on its own
    test_the_group_led_by_fiona_has_the_admitted_clients_as_members(loaded)
    before = _snapshot(profile, sites)
    assert demo.load(profile, timeout=60) == {}
    assert _snapshot(profile, sites) == before


def test_a_first_start_leaves_a_stack_with_data_alone(loaded, tmp_path):
    profile, _, _ = loaded
    fresh = dataclasses.replace(profile, root=tmp_path)  # no marker yet; the same services
    own = requests.post(
        profile.api_url("intake") + "/v1/sites",
        json={"name": "Someone's own clinic", "timezone": "UTC", "intake_email": "o@example.org"},
        headers={"Authorization": f"Bearer {mint_token(['operator'], [], 'demo-test-operator')}"},
        timeout=30,
    )
    assert own.status_code == 201, own.text
    assert demo.load_on_first_start(fresh) is None  # someone's own data: left as it is
    assert demo.marker(fresh).is_file()


def _signed_in(profile, user: str) -> str:
    """The user's access token from Keycloak (the dev realm's password-grant test client)."""
    answer = requests.post(
        profile.keycloak_token_url,
        data={"grant_type": "password", "client_id": "dbt-tests", "username": user,
              "password": user, "scope": "openid"},
        timeout=30,
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def test_carla_and_theo_signed_in_at_keycloak_find_their_work(loaded, keycloak):
    """Their roles come from the staff directory the demo filled, not from their tokens."""
    profile, _, sites = loaded
    demo.load(profile, timeout=60)  # another test may have changed carla's entry since
    carla, theo = _signed_in(profile, "carla"), _signed_in(profile, "theo")

    def listed(token: str, site: str) -> list[dict[str, Any]] | None:
        answer = requests.get(
            profile.api_url("intake") + f"/v1/referrals?site_id={site}&limit=100",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        return answer.json()["items"] if answer.status_code == 200 else None

    for site in sites.values():  # coordinator at both sites
        assert _until(lambda site=site: listed(carla, site), "carla's queue answers")
    own = _until(lambda: listed(theo, sites["north"]), "theo's clients at Site North")
    assert len(own) == 4 and len({r["therapist_id"] for r in own}) == 1
    rota = requests.get(
        profile.api_url("coaching") + f"/v1/sites/{sites['north']}/rota",
        headers={"Authorization": f"Bearer {theo}"},
        timeout=30,
    )
    assert rota.status_code == 200, rota.text
