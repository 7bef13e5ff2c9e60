"""The console's probes and metrics, like every api's: /healthz (alive), /readyz (its session
store reachable), /metrics (requests by route template, never by URL)."""

from __future__ import annotations

from console import bootstrap
from console.app import create_app
from console.sessions import MongoSessionStore
from console.testing import FakeProvider, FakeServices
from dbt_shared.storage import mongo

NOWHERE = "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=50&connectTimeoutMS=50"


def test_the_console_is_alive_and_reports_its_session_store_unreachable(clock):
    wired = bootstrap.in_memory(clock, FakeProvider(clock), FakeServices({}), mongodb_uri=NOWHERE)
    wired.sessions = MongoSessionStore(mongo.Mongo(NOWHERE).database("console"), 900)
    client = create_app(wired).test_client()
    assert client.get("/healthz").get_json() == {"status": "ok", "service": "console"}
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.mimetype == "application/problem+json"
    assert ready.get_json()["checks"] == {"mongodb": False}


def test_page_requests_are_counted_by_route_template(clock):
    wired = bootstrap.in_memory(clock, FakeProvider(clock), FakeServices({}))
    client = create_app(wired).test_client()
    client.get("/referrals/0d9a1f2e-7c41-4e55-9b0a-1c2d3e4f5a6b")  # signed out: sent to start
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'route="/referrals/<referral_id>"' in metrics and 'service="console"' in metrics
    assert "0d9a1f2e" not in metrics
