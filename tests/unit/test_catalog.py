"""The event catalog: every type versioned, validated both ways, exportable as JSON Schema."""

from __future__ import annotations

import pytest
from marshmallow import Schema, fields

from dbt_shared.contracts import ALL_TOPICS, CATALOG
from dbt_shared.events.catalog import Catalog, EventSchemaError, EventType
from dbt_shared.events.topics import Topic, strimzi_yaml, with_dead_letters

PHI_FIELD_HINTS = ("name", "email", "phone", "birth", "address", "answer", "note")


def test_every_event_type_is_versioned_and_on_its_producers_topic():
    for event_type in CATALOG.types():
        assert event_type.name.rsplit(".", 1)[-1].startswith("v")
        assert event_type.topic.name == f"dbt.{event_type.producer}.events"


def test_no_event_schema_has_a_field_that_looks_like_client_details():
    for event_type in CATALOG.types():
        for field_name in event_type.schema().fields:
            assert not any(hint in field_name for hint in PHI_FIELD_HINTS), (
                event_type.name,
                field_name,
            )


def test_json_schema_export_describes_every_type():
    exported = CATALOG.json_schema()["$defs"]
    assert set(exported) == {t.name for t in CATALOG.types()}
    received = exported["intake.referral.received.v1"]
    assert received["additionalProperties"] is False
    assert set(received["required"]) == {"referral_id", "site_id", "program", "received_at"}
    assert received["properties"]["program"]["enum"] == ["adult", "adolescent"]


def test_consumers_tolerate_additive_fields_but_publishers_do_not():
    data = {
        "site_id": "s",
        "timezone": "Europe/Berlin",
        "registered_at": "2026-11-25T12:00:00+00:00",
        "added_later": 1,
    }
    loaded = CATALOG.load("intake.site.registered.v1", data)
    assert loaded["site_id"] == "s"
    with pytest.raises(EventSchemaError):
        CATALOG.validate("intake.site.registered.v1", data)


def test_a_type_without_version_cannot_be_registered():
    class Empty(Schema):
        x = fields.String()

    catalog = Catalog()
    with pytest.raises(ValueError, match=r"svc\.noun\.verb\.vN"):
        catalog.register(EventType("intake.thing.happened", Topic("t"), Empty, ""))


def test_each_topic_has_a_dead_letter_twin_in_the_strimzi_resources():
    topics = with_dead_letters(ALL_TOPICS)
    names = {t.name for t in topics}
    for topic in ALL_TOPICS:
        assert topic.name + ".dlq" in names
    rendered = strimzi_yaml(topics)
    assert rendered.count("kind: KafkaTopic") == len(topics)
    assert "topicName: dbt.intake.events.dlq" in rendered


def test_the_event_catalog_doc_is_up_to_date():
    from pathlib import Path

    from dbt_shared.events.catalog_doc import render

    doc = Path(__file__).resolve().parents[2] / "docs" / "events.md"
    assert doc.read_text() == render(), "run `make docs` to regenerate docs/events.md"


def test_the_strimzi_topics_in_deploy_match_the_declarations_in_code():
    from pathlib import Path

    committed = Path(__file__).resolve().parents[2] / "deploy/k8s/base/kafka/topics.yaml"
    assert committed.read_text() == strimzi_yaml(with_dead_letters(ALL_TOPICS)), (
        "run `make docs` to regenerate deploy/k8s/base/kafka/topics.yaml"
    )
