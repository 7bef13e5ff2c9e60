"""Intake's HTTP API on the in-memory wiring: Flask's test client, real signed tokens.

What a caller of the API sees: the status codes and ``Location`` of a short journey, and problem
bodies (RFC 9457) that say precisely what was refused: the referral's status and the step for
an illegal step, the field at fault for bad input, 404 rather than another site's data, 403 for
a token without the role, 405 with ``Allow``, and one title per status whatever raised it.
"""

from __future__ import annotations

import http

import pytest

from intake import bootstrap
from intake.app import create_app
from support import referral_body

PROBLEM = "application/problem+json"
LOW_RISK = {
    "cssrs": [False] * 6,
    "phq9": [1, 1, 1, 1, 0, 1, 0, 0, 0],
    "gad7": [1, 1, 0, 0, 1, 0, 0],
    "ders16_total": 40,
    "bsl23_mean": 0.8,
}
AGREED = {"all_modes": True, "four_miss_rule": True, "consent_to_treatment": True}
TUESDAY_EVENINGS = [{"weekday": "tue", "start": "17:00", "end": "21:00"}]


@pytest.fixture
def components(clock):
    return bootstrap.in_memory(clock)


@pytest.fixture
def client(api_env, components):
    return create_app(components).test_client()


@pytest.fixture
def operator(auth):
    return auth(["operator"], [], "op")


def referral_json(site_id: str, **client_changes) -> dict:
    """Marisol's referral, her messages by text in Spanish (``client_changes`` change her)."""
    client = {"preferred_channel": "sms", "language": "es", **client_changes}
    return referral_body(site_id, **client)


@pytest.fixture
def site_id(client, operator) -> str:
    created = client.post(
        "/v1/sites",
        json={"name": "Riverside", "timezone": "America/Chicago", "intake_email": "i@r.example"},
        headers=operator,
    )
    assert created.status_code == 201, created.json
    return created.json["id"]


@pytest.fixture
def coordinator(auth, site_id):
    return auth(["coordinator"], [site_id], "coord")


@pytest.fixture
def referral_id(client, site_id, coordinator) -> str:
    created = client.post("/v1/referrals", json=referral_json(site_id), headers=coordinator)
    assert created.status_code == 201, created.json
    return created.json["id"]


def field_at_fault(response) -> list[str]:
    return [error["field"] for error in response.json["errors"]]


TO_ORIENTATION = (
    ("screenings", LOW_RISK),
    ("eligibility", {"decision": "eligible", "reason": "Meets criteria."}),
    ("orientation", None),
)
TO_COMMITTED = (*TO_ORIENTATION, ("commitment", {"orientation_sessions": 1, **AGREED}))


def advance(client, headers: dict, referral_id: str, steps) -> None:
    """Take the referral through ``steps`` ((path, body) pairs), each of which must succeed."""
    for path, body in steps:
        response = client.post(f"/v1/referrals/{referral_id}/{path}", json=body, headers=headers)
        assert response.status_code in (200, 201), (path, response.json)


def test_a_short_journey_over_http(client, operator, site_id, coordinator):
    site = client.get(f"/v1/sites/{site_id}", headers=operator)
    assert site.status_code == 200 and site.json["timezone"] == "America/Chicago"
    program = client.post(f"/v1/sites/{site_id}/programs", json={"kind": "adult"}, headers=operator)
    assert program.status_code == 201
    assert program.json["settings"]["group_capacity"] == 8
    assert program.json["settings"]["cycle_weeks"] == 24
    therapist = client.post(
        f"/v1/sites/{site_id}/clinicians",
        json={
            "subject": "idp|ana",
            "display_name": "Dr. Ana Ortiz",
            "roles": ["therapist"],
            "languages": ["en", "es"],
        },
        headers=operator,
    )
    assert therapist.status_code == 201 and therapist.json["caseload"] == 0

    created = client.post("/v1/referrals", json=referral_json(site_id), headers=coordinator)
    assert created.status_code == 201
    rid = created.json["id"]
    assert created.headers["Location"] == f"/v1/referrals/{rid}"
    shown = client.get(created.headers["Location"], headers=coordinator)
    assert shown.status_code == 200 and shown.json["client"]["given_name"] == "Marisol"
    assert shown.json["allowed_actions"] == ["record_screening", "withdraw"]

    def step(path: str, body: dict | None = None, status: int = 200) -> dict:
        response = client.post(f"/v1/referrals/{rid}/{path}", json=body, headers=coordinator)
        assert response.status_code == status, response.json
        return response.json

    screened = step("screenings", LOW_RISK, status=201)
    assert screened["risk_level"] == "low" and screened["referral_status"] == "screening"
    step("eligibility", {"decision": "eligible", "reason": "Meets criteria."})
    step("orientation")
    step("commitment", {"orientation_sessions": 2, **AGREED})
    matched = step("therapist", {})
    assert matched["therapist"]["clinician_id"] == therapist.json["id"]
    admitted = step("admission", {"availability": TUESDAY_EVENINGS})
    assert admitted["status"] == "admitted"
    assert admitted["admission"]["availability"] == TUESDAY_EVENINGS
    listed = client.get(f"/v1/referrals?site_id={site_id}", headers=coordinator)
    assert [(r["id"], r["therapist_id"]) for r in listed.json["items"]] == [
        (rid, therapist.json["id"])
    ]
    assert "client" not in listed.json["items"][0]


def test_a_created_site_answers_where_it_lives(client, operator):
    created = client.post(
        "/v1/sites",
        json={"name": "Lakeside", "timezone": "Europe/Berlin", "intake_email": "i@l.example"},
        headers=operator,
    )

    assert created.status_code == 201
    assert created.headers["Location"] == f"/v1/sites/{created.json['id']}"
    assert client.get(created.headers["Location"], headers=operator).json["name"] == "Lakeside"


def test_an_illegal_step_answers_409_with_the_status_and_the_step(client, referral_id, coordinator):
    refused = client.post(f"/v1/referrals/{referral_id}/orientation", headers=coordinator)

    assert refused.status_code == 409
    assert refused.headers["Content-Type"].startswith(PROBLEM)
    assert refused.json["current_status"] == "received"
    assert refused.json["action"] == "start_orientation"
    assert refused.json["type"].endswith("/illegal-transition")
    assert refused.json["instance"] == f"/v1/referrals/{referral_id}/orientation"
    after = client.get(f"/v1/referrals/{referral_id}", headers=coordinator).json
    assert after["status"] == "received" and len(after["history"]) == 1


def test_admission_blocked_answers_409_with_the_reasons(client, operator, site_id, coordinator):
    client.post(f"/v1/sites/{site_id}/programs", json={"kind": "adult"}, headers=operator)
    rid = client.post("/v1/referrals", json=referral_json(site_id), headers=coordinator).json["id"]
    advance(client, coordinator, rid, TO_COMMITTED)

    blocked = client.post(
        f"/v1/referrals/{rid}/admission",
        json={"availability": TUESDAY_EVENINGS},
        headers=coordinator,
    )

    assert blocked.status_code == 409 and blocked.headers["Content-Type"].startswith(PROBLEM)
    assert blocked.json["reasons"] == ["no therapist is assigned"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("screenings", {**LOW_RISK, "phq9": [1] * 8}, "phq9"),
        ("screenings", {**LOW_RISK, "gad7": [0, 0, 0, 4, 0, 0, 0]}, "gad7[3]"),
        ("eligibility", {"decision": "maybe", "reason": "x"}, "decision"),
        (
            "admission",
            {"availability": [{"weekday": "tue", "start": "21:00", "end": "17:00"}]},
            "availability[0].end",
        ),
        ("withdrawal", {"reason": "bored"}, "reason"),
    ],
    ids=["short-phq9", "gad7-item-out-of-range", "decision", "times", "withdrawal-reason"],
)
def test_bad_input_to_a_step_answers_422_naming_the_field_and_changes_nothing(
    client, referral_id, coordinator, path, body, field
):
    before = client.get(f"/v1/referrals/{referral_id}", headers=coordinator).json

    refused = client.post(f"/v1/referrals/{referral_id}/{path}", json=body, headers=coordinator)

    assert refused.status_code == 422 and refused.headers["Content-Type"].startswith(PROBLEM)
    assert field_at_fault(refused) == [field]
    assert client.get(f"/v1/referrals/{referral_id}", headers=coordinator).json == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "not-an-email"}, "client.email"),
        ({"phone": "call me"}, "client.phone"),
        ({"date_of_birth": "2090-01-01"}, "client.date_of_birth"),
        ({"preferred_channel": "pigeon"}, "client.preferred_channel"),
    ],
)
def test_a_bad_referral_answers_422_naming_the_field(
    client, site_id, coordinator, components, changes, field
):
    refused = client.post(
        "/v1/referrals", json=referral_json(site_id, **changes), headers=coordinator
    )

    assert refused.status_code == 422
    assert field_at_fault(refused) == [field]
    assert components.repositories.referrals.documents == {}


def test_rules_only_the_use_case_knows_also_answer_422_naming_the_field(
    client, operator, site_id, coordinator, referral_id
):
    unknown_site = client.post(
        "/v1/referrals", json=referral_json("no-such-site"), headers=operator
    )
    assert unknown_site.status_code == 422 and field_at_fault(unknown_site) == ["site_id"]

    advance(client, coordinator, referral_id, TO_ORIENTATION)
    incomplete = client.post(
        f"/v1/referrals/{referral_id}/commitment",
        json={"orientation_sessions": 2, **AGREED, "four_miss_rule": False},
        headers=coordinator,
    )
    assert incomplete.status_code == 422 and field_at_fault(incomplete) == ["four_miss_rule"]

    client.post(f"/v1/sites/{site_id}/programs", json={"kind": "adult"}, headers=operator)
    curriculum = client.post(
        f"/v1/sites/{site_id}/programs",
        json={"kind": "adolescent", "settings": {"curriculum": "DT6 ER6"}},
        headers=operator,
    )
    assert curriculum.status_code == 422
    assert field_at_fault(curriculum) == ["settings.curriculum"]


def test_another_sites_coordinator_is_told_nothing_exists(client, auth, site_id, referral_id):
    stranger = auth(["coordinator"], ["another-site"], "stranger")

    for response in (
        client.get(f"/v1/referrals/{referral_id}", headers=stranger),
        client.post(f"/v1/referrals/{referral_id}/screenings", json=LOW_RISK, headers=stranger),
        client.get(f"/v1/sites/{site_id}", headers=stranger),
        client.get(f"/v1/waitlist?site_id={site_id}", headers=stranger),
    ):
        assert response.status_code == 404, response.request.path
        assert response.headers["Content-Type"].startswith(PROBLEM)
    listed = client.get("/v1/referrals", headers=stranger)
    assert listed.status_code == 200 and listed.json["items"] == []


def test_a_token_without_a_role_for_it_is_forbidden(
    client, auth, site_id, coordinator, referral_id
):
    nobody = auth([], [site_id], "nobody")

    for response in (
        client.get("/v1/sites", headers=nobody),
        client.get(f"/v1/referrals/{referral_id}", headers=nobody),
        client.post("/v1/referrals", json=referral_json(site_id), headers=nobody),
        client.get("/v1/audit", headers=coordinator),
        client.get(f"/v1/clients/{referral_id}/contact", headers=coordinator),
        client.post(f"/v1/sites/{site_id}/programs", json={"kind": "adult"}, headers=coordinator),
    ):
        assert response.status_code == 403, response.request.path
        assert response.headers["Content-Type"].startswith(PROBLEM)
    assert client.get(f"/v1/sites/{site_id}/programs", headers=coordinator).json["items"] == []


def test_the_service_role_reads_contact_channels(client, auth, referral_id):
    service = auth(["service"], [], "service:notifications")

    contact = client.get(f"/v1/clients/{referral_id}/contact", headers=service)

    assert contact.status_code == 200
    # the number as intake stores it: E.164
    assert contact.json["channels"] == {"email": "marisol.q@example.org", "sms": "+13125550147"}
    assert contact.json["timezone"] == "America/Chicago"


def test_a_method_the_resource_lacks_answers_405_with_allow(client, operator, site_id, referral_id):
    for path, method, allowed in (
        (f"/v1/referrals/{referral_id}", "DELETE", {"GET", "PATCH"}),
        ("/v1/sites", "PUT", {"GET", "POST"}),
        (f"/v1/referrals/{referral_id}/orientation", "GET", {"POST"}),
    ):
        response = client.open(path, method=method, headers=operator)
        assert response.status_code == 405, path
        assert response.headers["Content-Type"].startswith(PROBLEM)
        assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}
        assert method not in response.headers["Allow"]


def test_every_access_is_audited_with_its_request_id(client, referral_id, coordinator, components):
    read = client.get(f"/v1/referrals/{referral_id}", headers=coordinator)

    (entry,) = [e for e in components.repositories.audit.entries if e["action"] == "referral.read"]
    assert entry["request_id"] == read.headers["X-Request-ID"]
    assert entry["actor"] == "coord" and entry["object_id"] == referral_id


def test_the_same_status_always_carries_the_same_title(
    client, auth, operator, site_id, coordinator, referral_id
):
    nobody = auth([], [], "nobody")
    stranger = auth(["coordinator"], ["another-site"], "stranger")
    client.post(f"/v1/sites/{site_id}/programs", json={"kind": "adult"}, headers=operator)
    clinician = {"subject": "idp|ana", "display_name": "Ana", "roles": ["therapist"]}
    client.post(f"/v1/sites/{site_id}/clinicians", json=clinician, headers=operator)
    responses = [
        client.get("/v1/sites"),  # no token
        client.get("/v1/sites", headers={"Authorization": "Bearer not-a-token"}),
        client.get("/v1/sites", headers=nobody),
        client.post("/v1/sites", json={}, headers=coordinator),
        client.get("/v1/audit", headers=coordinator),
        client.get("/v1/no-such-thing", headers=operator),
        client.get(f"/v1/referrals/{referral_id}", headers=stranger),
        client.get("/v1/referrals/no-such-referral", headers=operator),
        client.delete(f"/v1/referrals/{referral_id}", headers=operator),
        client.post(
            f"/v1/referrals/{referral_id}/admission",
            json={"availability": TUESDAY_EVENINGS},
            headers=coordinator,
        ),
        client.post(f"/v1/sites/{site_id}/programs", json={"kind": "adult"}, headers=operator),
        client.post(f"/v1/sites/{site_id}/clinicians", json=clinician, headers=operator),
        client.post("/v1/referrals", json=referral_json(site_id, email="x"), headers=coordinator),
        client.post("/v1/referrals", json=referral_json("no-such-site"), headers=operator),
        client.get("/v1/referrals?cursor=%25%25", headers=coordinator),
    ]

    titles: dict[int, set[str]] = {}
    for response in responses:
        assert response.headers["Content-Type"].startswith(PROBLEM), response.request.path
        assert response.json["status"] == response.status_code
        titles.setdefault(response.status_code, set()).add(response.json["title"])
    assert set(titles) == {401, 403, 404, 405, 409, 422}
    for status, seen in titles.items():
        expected = "Unprocessable Content" if status == 422 else http.HTTPStatus(status).phrase
        assert seen == {expected}, f"{status} answered with titles {seen}"
