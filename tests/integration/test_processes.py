"""Crash and restart of real worker processes; readiness when the database goes away."""

from __future__ import annotations

import socket
import uuid

import requests
from pymongo import MongoClient

from dbt_shared.contracts import CATALOG, intake
from dbt_shared.events.outbox import INTENTS_COLLECTION
from dbt_shared.events.publisher import EventPublisher
from devstack.environment import service_env
from devstack.ready import port_open
from support import Api, header, read_topic, referral_event, wait_until


def test_an_event_recorded_while_the_worker_is_down_goes_out_exactly_once(platform, tokens):
    """The api hands a recorded event to the broker right after its write; the relay of the
    worker, killed meanwhile and restarted, finds nothing left to send and sends nothing twice.
    (The relay's own path, an intent whose hand-off never happened, is covered in-process in
    test_outbox_and_consumer.py.)"""
    stack, profile = platform.stack, platform.profile
    stack.process("intake", "worker").kill()  # SIGKILL: no chance to flush anything

    operator = Api(profile.api_url("intake"), tokens.operator())
    created = operator.post(
        "/v1/sites",
        json={
            "name": "Crash Test Site",
            "timezone": "Europe/Berlin",
            "intake_email": "crash@example.org",
        },
    )
    assert created.status_code == 201, created.text
    site_id = created.json()["id"]

    intake_db = MongoClient(profile.mongodb_uri)["dbt_intake"]
    stored = intake_db.sites.find_one({"_id": site_id})
    (event_id,) = [entry["id"] for entry in stored["_outbox"]]
    intents = intake_db[INTENTS_COLLECTION]

    def on_topic():
        return [
            r
            for r in read_topic(platform.kafka_bootstrap, intake.TOPIC.name)
            if header(r, "ce_subject") == f"sites/{site_id}"
        ]

    wait_until(on_topic, timeout=30, what="the api's hand-off to publish the event")
    wait_until(
        lambda: intents.count_documents({"_id": event_id}) == 0,
        timeout=30,
        what="the intent to be deleted once the broker has the event",
    )

    stack.start_service("intake", "worker")
    notifications = Api(profile.api_url("notifications"), tokens.operator())
    wait_until(
        lambda: (
            site_id in [s["id"] for s in notifications.get("/v1/sites?limit=200").json()["items"]]
        ),
        timeout=30,
        what="notifications to learn of the site",
    )
    published = on_topic()
    assert len(published) == 1
    assert header(published[0], "ce_type") == intake.SITE_REGISTERED


def test_consumer_killed_mid_stream_resumes_without_loss_or_duplicates(platform, tokens):
    stack, profile = platform.stack, platform.profile
    site_id = str(uuid.uuid4())
    events = [referral_event(site_id, program="adolescent") for _ in range(40)]
    publisher = EventPublisher(profile.kafka_bootstrap, "test", CATALOG)
    publisher.publish(events)
    publisher.close()

    inbox = MongoClient(profile.mongodb_uri)["dbt_notifications"].inbox_items
    wait_until(
        lambda: inbox.count_documents({"site_id": site_id}) >= 3,
        timeout=30,
        what="the notifications worker to start on the batch",
    )
    stack.process("notifications", "worker").kill()
    seen_at_kill = inbox.count_documents({"site_id": site_id})

    stack.start_service("notifications", "worker")
    wait_until(
        lambda: inbox.count_documents({"site_id": site_id}) == 40,
        timeout=60,
        what="every event to be handled after the restart",
    )
    referral_ids = [d["referral_id"] for d in inbox.find({"site_id": site_id})]
    assert sorted(referral_ids) == sorted(e.key for e in events)
    assert seen_at_kill <= 40


def test_readiness_turns_503_when_the_database_stops_and_recovers(platform, tmp_path):
    """An api of its own on a database of its own (a FerretDB of its own, storing into a
    PostgreSQL database of its own), so stopping that database disturbs no test."""
    stack, profile = platform.stack, platform.profile
    mongo_port, api_port = free_port(), free_port()
    pg_database = stack.ensure_postgres_database(f"readiness_{uuid.uuid4().hex[:8]}")
    database_cmd = stack.ferretdb_command(mongo_port, pg_database)
    database = stack.start_process(
        "readiness-db", database_cmd, probe=lambda: port_open("127.0.0.1", mongo_port)
    )
    env = {
        **service_env(profile, "skills-group"),
        "MONGODB_URI": f"mongodb://127.0.0.1:{mongo_port}/",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    (tmp_path / "metrics").mkdir()
    api_url = f"http://127.0.0.1:{api_port}"
    stack.start_process(
        "readiness-api",
        stack.service_command("skills-group", "api", port=api_port),
        env=env,
        probe=lambda: requests.get(api_url + "/healthz", timeout=1).ok,
    )
    api = Api(api_url)
    wait_until(lambda: api.get("/readyz").status_code == 200, timeout=20, what="ready")

    database.stop()

    def not_ready():
        response = api.get("/readyz")
        return [response] if response.status_code == 503 else None

    (response,) = wait_until(not_ready, timeout=20, what="/readyz to report the database gone")
    body = response.json()
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert body["status"] == 503
    assert body["checks"] == {"mongodb": False, "kafka": True}
    assert api.get("/healthz").status_code == 200, "liveness does not depend on the database"

    stack.start_process(
        "readiness-db", database_cmd, probe=lambda: port_open("127.0.0.1", mongo_port)
    )
    wait_until(lambda: api.get("/readyz").status_code == 200, timeout=30, what="recovery")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
