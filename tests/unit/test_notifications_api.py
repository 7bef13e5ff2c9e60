"""``GET /v1/inbox`` through Flask's test client on the in-memory wiring, with real tokens.

A site's coordinators read its inbox; another site's coordinator learns nothing of it (404), a
token with no role is refused (403), and a bad query names the field at fault (422).
"""

from __future__ import annotations

import pytest

from dbt_shared.contracts import CATALOG, intake
from dbt_shared.events.envelope import new_event
from notifications import bootstrap, services
from notifications.app import create_app

SITE = "site-1"


@pytest.fixture
def notifications(clock):
    return bootstrap.in_memory(clock)


@pytest.fixture
def client(api_env, notifications):
    return create_app(notifications).test_client()


def referral_received(components, referral_id: str) -> None:
    event = new_event(
        "intake",
        intake.REFERRAL_RECEIVED,
        key=referral_id,
        subject=f"referrals/{referral_id}",
        data={
            "referral_id": referral_id,
            "site_id": SITE,
            "program": "adult",
            "received_at": components.clock.now().isoformat(),
        },
        clock=components.clock,
        catalog=CATALOG,
    )
    services.on_referrals_received([(event, CATALOG.load(event.type, event.data))], components)


def test_a_coordinator_of_the_site_reads_its_inbox_page_by_page(client, notifications, auth):
    referral_received(notifications, "ref-1")
    referral_received(notifications, "ref-2")
    coordinator = auth("coordinator", SITE)

    first = client.get(f"/v1/inbox?site_id={SITE}&limit=1", headers=coordinator)
    assert first.status_code == 200, first.json
    [item] = first.json["items"]
    assert item["kind"] == "referral_received" and item["priority"] == "normal"
    assert set(item) == {
        "id",
        "site_id",
        "kind",
        "priority",
        "referral_id",
        "program",
        "status",
        "created_at",
    }
    cursor = first.json["next_cursor"]
    second = client.get(f"/v1/inbox?site_id={SITE}&limit=1&cursor={cursor}", headers=coordinator)
    assert second.status_code == 200
    assert second.json["next_cursor"] is None
    assert {item["referral_id"], second.json["items"][0]["referral_id"]} == {"ref-1", "ref-2"}


def test_another_sites_coordinator_gets_404(client, notifications, auth):
    referral_received(notifications, "ref-1")
    response = client.get(f"/v1/inbox?site_id={SITE}", headers=auth("coordinator", "site-2"))
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert "ref-1" not in response.get_data(as_text=True)


def test_a_token_with_no_role_gets_403(client, auth):
    assert client.get(f"/v1/inbox?site_id={SITE}", headers=auth([], SITE)).status_code == 403


def test_a_therapist_of_the_site_gets_403(client, auth):
    response = client.get(f"/v1/inbox?site_id={SITE}", headers=auth("therapist", SITE))
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("query", "field"),
    [("", "site_id"), (f"site_id={SITE}&limit=0", "limit"), (f"site_id={SITE}&cursor=x", "cursor")],
)
def test_a_bad_query_is_a_422_naming_the_field(client, auth, query, field):
    response = client.get(f"/v1/inbox?{query}", headers=auth("coordinator", SITE))
    assert response.status_code == 422
    assert [e["field"] for e in response.json["errors"]] == [field]


def test_a_client_sets_quiet_hours_and_a_bad_window_names_the_field(client, auth):
    mine = auth("client", [], "client-7")
    answer = client.put(
        "/v1/preferences/client-7",
        json={"quiet_hours": {"start": "22:00", "end": "07:00"}, "preferred_channel": "sms"},
        headers=mine,
    )
    assert answer.status_code == 200, answer.json
    assert answer.json["quiet_hours"] == {"start": "22:00", "end": "07:00"}
    assert client.get("/v1/preferences/client-7", headers=mine).json["preferred_channel"] == "sms"
    bad = client.put(
        "/v1/preferences/client-7",
        json={"quiet_hours": {"start": "25:00", "end": "07:00"}},
        headers=mine,
    )
    assert bad.status_code == 422 and bad.json["errors"][0]["field"].startswith("quiet_hours")
    # another client's preferences are not theirs to read
    assert client.get("/v1/preferences/client-8", headers=mine).status_code == 404


def test_the_sms_webhook_refuses_an_unsigned_call_without_a_token(client):
    answer = client.post("/v1/sms/inbound", data={"From": "+13125550101", "Body": "STOP"})
    assert answer.status_code == 403


def test_a_clinicians_own_inbox_holds_their_coaching_alerts(client, notifications, auth):
    from dbt_shared.contracts import coaching
    from notifications.services import alerts

    notifications.repositories.clinicians.store.insert(
        {"_id": "clin-1", "site_id": SITE, "subject": "sub-clin-1"}
    )
    data = {
        "request_id": "req-1",
        "client_id": "client-1",
        "site_id": SITE,
        "kind": "skills",
        "status": "open",
        "crisis": False,
        "routed_to": "clin-1",
        "notified": ["clin-1"],
        "notify_clinical_lead": False,
        "notify_site_intake": False,
        "created_at": notifications.clock.now().isoformat(),
    }
    event = new_event(
        "coaching",
        coaching.REQUEST_CREATED,
        key="client-1",
        subject="r",
        data=data,
        clock=notifications.clock,
        catalog=CATALOG,
    )
    alerts.on_coaching_requests([(event, CATALOG.load(event.type, event.data))], notifications)
    answer = client.get("/v1/me/inbox", headers=auth("therapist", SITE, "sub-clin-1"))
    assert answer.status_code == 200, answer.json
    assert [i["request_id"] for i in answer.json["items"]] == ["req-1"]
    other = client.get("/v1/me/inbox", headers=auth("therapist", SITE, "sub-someone"))
    assert other.status_code == 404
