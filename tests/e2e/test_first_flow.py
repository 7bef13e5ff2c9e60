"""The first flow across the real processes: a site, a referral, the inbox, the email, Kafka.

What a clinic sees: an operator registers a site; a coordinator records a referral; the site's
inbox shows it and the intake mailbox gets a generic email within seconds; nothing identifying
the client ever leaves intake.
"""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
import requests
from pymongo import MongoClient

from dbt_shared.contracts import ALL_TOPICS, CATALOG
from dbt_shared.events.topics import with_dead_letters
from devstack import SERVICES
from support import Api, header, read_topic, wait_until

CLIENT = {
    "given_name": "Marisol",
    "family_name": "Quintanilla-Brookes",
    "date_of_birth": "1991-07-04",
    "email": "marisol.qb@example.org",
    "phone": "+1 312 555 0187",
}
PHI_MARKERS = [
    CLIENT["given_name"],
    CLIENT["family_name"],
    CLIENT["email"],
    "555 0187",
    "5550187",
    CLIENT["date_of_birth"],
]


@pytest.fixture(scope="module")
def flow(platform, tokens):
    """Registers a site and a referral once; the tests below look at what followed."""
    profile = platform.profile
    intake = Api(profile.api_url("intake"))
    site_email = f"intake-{uuid.uuid4().hex[:6]}@riverside.example.org"
    key = str(uuid.uuid4())
    site = intake.as_(tokens.operator()).post(
        "/v1/sites",
        json={
            "name": "Riverside Clinic",
            "timezone": "America/Chicago",
            "intake_email": site_email,
        },
        headers={"Idempotency-Key": key},
    )
    assert site.status_code == 201, site.text
    site_id = site.json()["id"]
    coordinator = intake.as_(tokens.coordinator(site_id))
    referral = coordinator.post(
        "/v1/referrals",
        json={
            "site_id": site_id,
            "program": "adult",
            "source": "GP",
            "consent_to_contact": True,
            "client": CLIENT,
        },
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert referral.status_code == 201, referral.text
    return {
        "profile": profile,
        "site_id": site_id,
        "site_email": site_email,
        "site_key": key,
        "site_response": site.json(),
        "referral": referral.json(),
        "referral_request_id": referral.headers["X-Request-ID"],
        "started": time.monotonic(),
    }


def test_every_api_answers_its_operational_endpoints(platform):
    for service in SERVICES:
        api = Api(platform.profile.api_url(service))
        assert api.get("/healthz").json()["status"] == "ok"
        ready = api.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"] == {
            "mongodb": True,
            "kafka": True,
        }
        metrics = api.get("/metrics")
        assert metrics.status_code == 200 and "dbt_http_requests_total" in metrics.text
        spec = api.get("/openapi.json").json()
        assert spec["openapi"].startswith("3.1")
        assert "bearerAuth" in spec["components"]["securitySchemes"]
        docs = api.get("/docs")
        assert docs.status_code == 200 and "swagger-ui" in docs.text.lower()
    intake_paths = Api(platform.profile.api_url("intake")).get("/openapi.json").json()["paths"]
    assert {
        "/v1/sites",
        "/v1/sites/{site_id}",
        "/v1/referrals",
        "/v1/referrals/{referral_id}",
    } <= set(intake_paths)


def _token(**overrides) -> str:
    now = int(time.time())
    claims = {
        "sub": "op",
        "roles": ["operator"],
        "sites": [],
        "iss": "dbt-platform-dev",
        "aud": "dbt-platform",
        "iat": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    from devstack import Profile

    key = Profile.test().jwt_private_key_file.read_text()
    return jwt.encode(claims, key, algorithm="RS256")


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer not-a-jwt",
        "Bearer "
        + jwt.encode(
            {
                "sub": "op",
                "roles": ["operator"],
                "aud": "dbt-platform",
                "iss": "dbt-platform-dev",
                "exp": int(time.time()) + 600,
            },
            None,
            algorithm="none",
        ),
        "Basic b3A6b3A=",
    ],
    ids=["missing", "garbage", "alg-none", "basic"],
)
def test_requests_without_a_valid_token_get_401(platform, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = requests.post(
        platform.profile.api_url("intake") + "/v1/sites",
        json={"name": "x", "timezone": "UTC", "intake_email": "x@example.org"},
        headers=headers,
        timeout=10,
    )
    assert response.status_code == 401
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "overrides",
    [{"aud": "another-app"}, {"exp": int(time.time()) - 120}, {"iss": "https://evil.example"}],
    ids=["wrong-audience", "expired", "wrong-issuer"],
)
def test_well_signed_tokens_with_bad_claims_get_401(platform, overrides):
    response = Api(platform.profile.api_url("intake"), _token(**overrides)).get("/v1/sites")
    assert response.status_code == 401


def test_idempotency_key_returns_the_first_result_and_refuses_a_different_body(flow, tokens):
    intake = Api(flow["profile"].api_url("intake"), tokens.operator())
    body = {
        "name": "Riverside Clinic",
        "timezone": "America/Chicago",
        "intake_email": flow["site_email"],
    }
    again = intake.post("/v1/sites", json=body, headers={"Idempotency-Key": flow["site_key"]})
    assert again.status_code == 201
    assert again.json() == flow["site_response"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    different = intake.post(
        "/v1/sites", json={**body, "name": "Other"}, headers={"Idempotency-Key": flow["site_key"]}
    )
    assert different.status_code == 422
    assert different.json()["errors"][0]["field"] == "Idempotency-Key"


def test_the_referral_is_received_and_only_its_site_can_see_it(flow, tokens):
    referral = flow["referral"]
    assert referral["status"] == "received"
    assert referral["site_id"] == flow["site_id"]
    intake = Api(flow["profile"].api_url("intake"))
    path = f"/v1/referrals/{referral['id']}"
    assert intake.as_(tokens.coordinator(flow["site_id"])).get(path).status_code == 200
    other = intake.as_(tokens.coordinator(str(uuid.uuid4()))).get(path)
    assert other.status_code == 404
    assert other.headers["Content-Type"].startswith("application/problem+json")
    # a coordinator cannot create referrals for a site that is not theirs
    elsewhere = intake.as_(tokens.coordinator("some-other-site")).post(
        "/v1/referrals",
        json={
            "site_id": flow["site_id"],
            "program": "adult",
            "source": "GP",
            "consent_to_contact": True,
            "client": CLIENT,
        },
    )
    assert elsewhere.status_code == 404
    # nor can a role that has no business creating them
    therapist = intake.as_(tokens.role("therapist", flow["site_id"])).post(
        "/v1/referrals",
        json={
            "site_id": flow["site_id"],
            "program": "adult",
            "source": "GP",
            "consent_to_contact": True,
            "client": CLIENT,
        },
    )
    assert therapist.status_code == 403


def test_malformed_referrals_are_refused_field_by_field_and_change_nothing(flow, tokens):
    profile = flow["profile"]
    referrals = MongoClient(profile.mongodb_uri)["dbt_intake"].referrals
    before = referrals.count_documents({"site_id": flow["site_id"]})
    response = Api(profile.api_url("intake"), tokens.coordinator(flow["site_id"])).post(
        "/v1/referrals",
        json={
            "site_id": flow["site_id"],
            "program": "teen",
            "source": "GP",
            "consent_to_contact": False,
            "client": {**CLIENT, "email": "not-an-email", "date_of_birth": "2999-01-01"},
        },
    )
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["Content-Type"].startswith("application/problem+json")
    fields = {e["field"] for e in problem["errors"]}
    assert fields == {"program", "consent_to_contact", "client.email", "client.date_of_birth"}
    assert referrals.count_documents({"site_id": flow["site_id"]}) == before


def test_the_site_inbox_shows_the_referral_within_seconds(flow, tokens):
    inbox = Api(flow["profile"].api_url("notifications"), tokens.coordinator(flow["site_id"]))
    page = wait_until(
        lambda: (
            (body := inbox.get(f"/v1/inbox?site_id={flow['site_id']}").json())["items"] and body
        ),
        timeout=20,
        what="the inbox item",
    )
    assert [i["referral_id"] for i in page["items"]] == [flow["referral"]["id"]]
    assert page["items"][0]["kind"] == "referral_received"
    assert page["next_cursor"] is None
    other = inbox.as_(tokens.coordinator(str(uuid.uuid4()))).get(
        f"/v1/inbox?site_id={flow['site_id']}"
    )
    assert other.status_code == 404


def test_the_site_intake_mailbox_gets_a_generic_email(flow):
    mailpit = flow["profile"].mailpit_url

    def find_message():
        listing = requests.get(f"{mailpit}/api/v1/messages", timeout=5).json()
        for message in listing.get("messages", []):
            if any(to["Address"] == flow["site_email"] for to in message["To"]):
                return message
        return None

    summary = wait_until(find_message, timeout=20, what="the email in the mail catcher")
    full = requests.get(f"{mailpit}/api/v1/message/{summary['ID']}", timeout=5).json()
    assert full["Subject"] == "New referral received"
    assert flow["referral"]["id"] in full["Text"]
    for marker in PHI_MARKERS:
        assert marker not in full["Text"] and marker not in full["Subject"]


def test_every_service_learns_of_the_site(flow, tokens):
    for service in ("skills-group", "coaching", "notifications"):
        api = Api(flow["profile"].api_url(service), tokens.coordinator(flow["site_id"]))
        wait_until(
            lambda api=api: (
                [s["id"] for s in api.get("/v1/sites").json()["items"]] == [flow["site_id"]]
            ),
            timeout=20,
            what=f"{service} to know the site (and only it, for this coordinator)",
        )


def test_metrics_count_requests_and_events(flow):
    profile = flow["profile"]
    api_metrics = requests.get(profile.api_url("intake") + "/metrics", timeout=5).text
    assert 'route="/v1/referrals"' in api_metrics and 'status="201"' in api_metrics

    handled = (
        'dbt_events_consumed_total{outcome="handled",service="notifications",'
        'type="intake.referral.received.v1"}'
    )

    def handled_counted():  # the referral's event, not only an earlier one (the site's)
        text = requests.get(profile.worker_metrics_url("notifications"), timeout=5).text
        return text if handled in text else None

    worker_metrics = wait_until(
        handled_counted, timeout=20, what="the notifications worker to count handled events"
    )
    assert (
        'dbt_events_consumed_total{outcome="handled",service="notifications",type="intake.referral.received.v1"}'
        in worker_metrics
    )
    # published by the api's hand-off or, failing that, by the worker's relay: each process
    # exports its own series (one metrics directory per process, as one per pod)
    intake_processes = "".join(
        requests.get(url, timeout=5).text
        for url in (profile.api_url("intake") + "/metrics", profile.worker_metrics_url("intake"))
    )
    assert (
        'dbt_events_published_total{service="intake",type="intake.referral.received.v1"}'
        in intake_processes
    )


def test_events_on_kafka_are_cloudevents_without_client_details(flow):
    profile = flow["profile"]
    wait_until(
        lambda: MongoClient(profile.mongodb_uri)["dbt_notifications"].deliveries.find_one(
            {"subject_ref": flow["referral"]["id"], "status": "sent"}
        ),
        timeout=20,
        what="the delivery outcome to be recorded",
    )
    seen_types = set()
    for topic in with_dead_letters(ALL_TOPICS):
        for record in read_topic(profile.kafka_bootstrap, topic.name):
            raw = (record.value or b"") + b"".join(v or b"" for _, v in record.headers or [])
            for marker in PHI_MARKERS:
                assert marker.encode() not in raw, f"PHI on {topic.name}"
            assert flow["site_email"].encode() not in raw, "contact details stay out of events"
            if topic.name.endswith(".dlq"):
                continue  # dead letters may be anything; they were checked for PHI above
            assert header(record, "ce_specversion") == "1.0"
            assert (
                header(record, "ce_id")
                and header(record, "ce_source")
                and header(record, "ce_time")
            )
            assert CATALOG.knows(header(record, "ce_type"))
            seen_types.add(header(record, "ce_type"))
    delivery_events = [
        r
        for r in read_topic(profile.kafka_bootstrap, "dbt.notifications.events")
        if header(r, "ce_correlationid") == flow["referral_request_id"]
    ]
    assert [header(r, "ce_type") for r in delivery_events] == ["notifications.delivery.sent.v1"], (
        "the email's outcome is traced to the request that recorded the referral"
    )
    assert {
        "intake.site.registered.v1",
        "intake.referral.received.v1",
        "notifications.delivery.sent.v1",
    } <= seen_types


def test_a_refused_request_frees_its_idempotency_key(flow, tokens):
    operator = Api(flow["profile"].api_url("intake"), tokens.operator())
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {
        "site_id": str(uuid.uuid4()),
        "program": "adult",
        "source": "GP",
        "consent_to_contact": True,
        "client": CLIENT,
    }
    unknown = operator.post("/v1/referrals", json=body, headers=key)
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "site_id"
    fixed = operator.post("/v1/referrals", json={**body, "site_id": flow["site_id"]}, headers=key)
    assert fixed.status_code == 201, fixed.text


def test_request_ids_are_echoed_but_only_opaque_ones_are_kept(flow):
    api = Api(flow["profile"].api_url("intake"))
    mine = str(uuid.uuid4())
    assert api.get("/healthz", headers={"X-Request-ID": mine}).headers["X-Request-ID"] == mine
    smuggled = "Marisol.Quintanilla-Brookes.1991-07-04"
    echoed = api.get("/healthz", headers={"X-Request-ID": smuggled}).headers["X-Request-ID"]
    assert echoed != smuggled and uuid.UUID(echoed)
