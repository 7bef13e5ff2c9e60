"""Helpers for the tests: waiting with a deadline, reading topics, HTTP, a referral to post."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient

T = TypeVar("T")


def wait_until(check: Callable[[], T], timeout: float = 20.0, what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:  # the thing may not be up yet
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


def read_topic(bootstrap: str, topic: str, timeout: float = 10.0) -> list:
    """Every record on ``topic`` right now, from the beginning of each partition."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return []
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        records: list = []
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < end[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise AssertionError(f"could not read {topic} to its end in {timeout}s")
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def header(record, name: str) -> str | None:
    for key, value in record.headers or []:
        if key == name:
            return value.decode()
    return None


def committed_offset(bootstrap: str, group: str, tp: TopicPartition) -> int:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        meta = admin.list_group_offsets(group).get(group, {}).get(tp)
        return meta.offset if meta else -1
    finally:
        admin.close()


class Api:
    """A tiny HTTP client for one service's API."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url
        self.token = token

    def as_(self, token: str | None) -> Api:
        return Api(self.base_url, token)

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.token and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.token}"
        return requests.request(method, self.base_url + path, headers=headers, timeout=15, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs) -> requests.Response:
        return self.request("PATCH", path, **kwargs)


def referral_body(site_id: str, **client_fields: Any) -> dict[str, Any]:
    """A ``POST /v1/referrals`` body: an adult referral from a GP, consent to contact given, for
    Marisol Quintanilla; ``client_fields`` change or add fields of the client (their
    ``preferred_channel``, ``language``, another name)."""
    return {
        "site_id": site_id,
        "program": "adult",
        "source": "GP",
        "consent_to_contact": True,
        "client": {
            "given_name": "Marisol",
            "family_name": "Quintanilla",
            "date_of_birth": "1991-07-04",
            "email": "marisol.q@example.org",
            "phone": "+1 312 555 0147",
            **client_fields,
        },
    }


def referral_event(site_id: str, referral_id: str | None = None, program: str = "adult"):
    """An ``intake.referral.received.v1`` event as intake would record it."""
    from datetime import UTC, datetime

    from dbt_shared.clock import SystemClock
    from dbt_shared.contracts import CATALOG, intake
    from dbt_shared.events.envelope import new_event

    referral_id = referral_id or str(uuid.uuid4())
    return new_event(
        "intake",
        intake.REFERRAL_RECEIVED,
        key=referral_id,
        subject=f"referrals/{referral_id}",
        data={
            "referral_id": referral_id,
            "site_id": site_id,
            "program": program,
            "received_at": datetime.now(UTC).isoformat(),
        },
        clock=SystemClock(),
        catalog=CATALOG,
    )
