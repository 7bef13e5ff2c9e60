"""The CloudEvents envelope on Kafka: what other services (and auditors) rely on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dbt_shared import correlation
from dbt_shared.clock import FixedClock
from dbt_shared.contracts import CATALOG, intake
from dbt_shared.events.catalog import EventSchemaError
from dbt_shared.events.envelope import EnvelopeError, Event, new_event

CLOCK = FixedClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))


def referral_event() -> Event:
    return new_event(
        "intake",
        intake.REFERRAL_RECEIVED,
        key="ref-1",
        subject="referrals/ref-1",
        data={
            "referral_id": "ref-1",
            "site_id": "site-1",
            "program": "adult",
            "received_at": "2026-11-25T12:00:00+00:00",
        },
        clock=CLOCK,
        catalog=CATALOG,
    )


def test_binary_mode_headers_carry_the_cloudevents_attributes():
    with correlation.bound("req-12345678"):
        event = referral_event()
    key, value, headers = event.to_kafka()
    header_map = dict(headers)
    assert key == b"ref-1"
    assert header_map["ce_specversion"] == b"1.0"
    assert header_map["ce_type"] == b"intake.referral.received.v1"
    assert header_map["ce_source"] == b"/dbt-platform/intake"
    assert header_map["ce_id"] == event.id.encode()
    assert header_map["ce_subject"] == b"referrals/ref-1"
    assert header_map["ce_correlationid"] == b"req-12345678"
    assert header_map["content-type"] == b"application/json"
    assert b'"referral_id": "ref-1"' in value or b'"referral_id":"ref-1"' in value


def test_round_trip_through_kafka_form_keeps_every_attribute():
    event = referral_event()
    back = Event.from_kafka(*event.to_kafka())
    assert back == event
    assert back.dedup_key == f"/dbt-platform/intake#{event.id}"


def test_round_trip_through_the_outbox_document():
    event = referral_event()
    stored = event.to_document()
    stored["time"] = stored["time"].replace(tzinfo=None)  # as BSON gives it back
    assert Event.from_document(stored) == event


def test_publishing_refuses_fields_the_contract_does_not_have():
    with pytest.raises(EventSchemaError) as err:
        new_event(
            "intake",
            intake.REFERRAL_RECEIVED,
            key="ref-1",
            subject="referrals/ref-1",
            data={
                "referral_id": "ref-1",
                "site_id": "site-1",
                "program": "adult",
                "received_at": "2026-11-25T12:00:00+00:00",
                "client_email": "someone@example.org",
            },
            clock=CLOCK,
            catalog=CATALOG,
        )
    assert "client_email" in err.value.messages


def test_publishing_refuses_a_missing_required_field():
    with pytest.raises(EventSchemaError) as err:
        new_event(
            "intake",
            intake.SITE_REGISTERED,
            key="s",
            subject="sites/s",
            data={"site_id": "s", "registered_at": "2026-11-25T12:00:00+00:00"},
            clock=CLOCK,
            catalog=CATALOG,
        )
    assert "timezone" in err.value.messages


@pytest.mark.parametrize(
    ("headers", "value"),
    [
        ([], b"{}"),
        ([("ce_specversion", b"1.0"), ("ce_type", b"x.y.z.v1")], b"{}"),
        (
            [
                ("ce_specversion", b"1.0"),
                ("ce_type", b"intake.site.registered.v1"),
                ("ce_source", b"/dbt-platform/intake"),
                ("ce_id", b"1"),
                ("ce_time", b"2026-11-25T12:00:00Z"),
                ("content-type", b"application/json"),
            ],
            b"not json",
        ),
    ],
)
def test_records_that_are_not_our_cloudevents_are_rejected(headers, value):
    with pytest.raises(EnvelopeError):
        Event.from_kafka(b"k", value, headers)
