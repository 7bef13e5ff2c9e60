"""Which events carry health state, and that the docs say so (docs/events.md)."""

from __future__ import annotations

from pathlib import Path

from dbt_shared.contracts import CATALOG, coaching, intake

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def test_events_tying_a_client_to_a_crisis_a_risk_level_or_the_24_hour_hold_are_marked():
    marked = {t.name for t in CATALOG.types() if t.health_state}
    # a crisis request or one held by the 24-hour rule, and both risk flags
    assert {coaching.REQUEST_CREATED, coaching.RISK_FLAGGED, intake.RISK_FLAGGED} <= marked
    assert intake.REFERRAL_RECEIVED not in marked, "ids and a program alone are not marked"


def test_the_event_docs_list_the_events_that_carry_health_state_and_what_that_means():
    doc = DOC.read_text()
    section = doc.split("## Events that carry health state", 1)[1].split("\n## ", 1)[0]
    listed = {line.split("`")[1] for line in section.splitlines() if line.startswith("- `")}
    assert listed == {t.name for t in CATALOG.types() if t.health_state}
    for event_type in CATALOG.types():
        entry = doc.split(f"### `{event_type.name}`", 1)[1].split("\n### ", 1)[0]
        assert ("Carries health state" in entry) == event_type.health_state, event_type.name
        assert f"source `{event_type.source}`" in entry
    assert "holds health information" in doc, "what a consumer of such an event takes on"


def test_each_service_publishes_its_types_under_the_source_consumers_accept_them_from():
    from coaching import events as coaching_events
    from dbt_shared.contracts import notifications, skills
    from dbt_shared.events.envelope import source_of
    from intake import events as intake_events
    from notifications import events as notification_events
    from skills_group import events as skills_events

    published = {
        intake_events: intake,
        skills_events: skills,
        coaching_events: coaching,
        notification_events: notifications,
    }
    for module, contract in published.items():
        for event_type in contract.EVENT_TYPES:
            assert event_type.source == source_of(module.SERVICE), event_type.name
