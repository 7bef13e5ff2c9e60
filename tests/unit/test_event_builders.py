"""``dbt_shared.events.builders``: what coaching's and skills-group's events are built with.
Event data is a stored document's fields as the contracts carry them, validated at once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from coaching import events as coaching_events
from dbt_shared.events.builders import fields_of, iso
from dbt_shared.events.catalog import EventSchemaError
from skills_group import events as skills_events

AT = datetime(2027, 1, 4, 17, 30, tzinfo=UTC)


def test_a_documents_fields_become_event_data_as_the_contracts_carry_them():
    stored = {"_id": "g-1", "site_id": "s-1", "facilitator_ids": ("f-1", "f-2"), "at": AT}

    data = fields_of(stored, "site_id", "facilitator_ids", "at", "room", group_id="_id")

    assert data == {
        "site_id": "s-1",
        "facilitator_ids": ["f-1", "f-2"],
        "at": "2027-01-04T17:30:00+00:00",
        "room": None,
        "group_id": "g-1",
    }
    assert iso(None) is None and iso(AT) == "2027-01-04T17:30:00+00:00"


def test_a_builder_refuses_data_its_contract_does_not_allow(clock):
    card = {"_id": "card-1", "client_id": "client-1", "site_id": "s-1", "date": "2027-01-04"}
    event = coaching_events.diary_card_submitted(card, clock)
    assert event.key == "client-1" and event.subject == "diary-cards/card-1"
    assert event.data["card_id"] == "card-1" and event.data["submitted_at"].startswith("2026")

    with pytest.raises(EventSchemaError):
        coaching_events.diary_card_submitted({**card, "site_id": None}, clock)


def test_a_session_event_says_which_session_where_and_when_keyed_by_its_group(clock):
    session = {
        "_id": "grp-1:3",
        "group_id": "grp-1",
        "site_id": "s-1",
        "starts_at": AT,
        "module": "DT",
        "sequence": 2,
        "status": "cancelled",
    }
    event = skills_events.session_changed(session, None, "closure", clock)

    assert event.key == "grp-1" and event.subject == "sessions/grp-1:3"
    assert event.data["session_id"] == "grp-1:3" and event.data["room"] is None
    assert event.data["starts_at"] == "2027-01-04T17:30:00+00:00"
    assert event.data["previous_starts_at"] is None and event.data["reason"] == "closure"
