"""The people every consuming service keeps from intake's events (``dbt_shared.read_models``):
one model in coaching, skills-group and notifications, whose events may arrive twice or out of
order and still leave it right, and whose queries stay within the site asked about."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from coaching import bootstrap as coaching_bootstrap
from coaching import handlers as coaching_handlers
from dbt_shared import read_models
from dbt_shared.auth import Principal
from dbt_shared.clock import FixedClock
from dbt_shared.contracts import intake
from dbt_shared.errors import InvalidInput
from dbt_shared.storage.memory_documents import InMemoryDocumentStore
from notifications import bootstrap as notifications_bootstrap
from notifications import handlers as notifications_handlers
from skills_group import bootstrap as skills_bootstrap
from skills_group import handlers as skills_handlers
from skills_group import services as skills

CLOCK = FixedClock(datetime(2027, 1, 4, 12, 0, tzinfo=UTC))
NORTH, SOUTH, EAST = "site-north", "site-south", "site-east"


def registered(clinician_id: str, site_id: str, subject: str, roles=("facilitator",)) -> dict:
    return {
        "clinician_id": clinician_id,
        "site_id": site_id,
        "subject": subject,
        "roles": list(roles),
        "registered_at": CLOCK.now().isoformat(),
    }


def deactivated(clinician_id: str, site_id: str) -> dict:
    return {
        "clinician_id": clinician_id,
        "site_id": site_id,
        "deactivated_at": CLOCK.now().isoformat(),
    }


def consuming_services():
    """Each consuming service's clinicians, and its worker's handlers on the same components."""
    coaching = coaching_bootstrap.in_memory(CLOCK)
    skills_group = skills_bootstrap.in_memory(CLOCK)
    notifications = notifications_bootstrap.in_memory(CLOCK)
    return [
        (coaching.repositories.clinicians, coaching_handlers.handlers(coaching)),
        (skills_group.repositories.clinicians, skills_handlers.handlers(skills_group)),
        (notifications.repositories.clinicians, notifications_handlers.handlers(notifications)),
    ]


@pytest.mark.parametrize("service", range(3), ids=["coaching", "skills-group", "notifications"])
def test_a_registration_delivered_twice_keeps_one_clinician_as_first_learned(service):
    clinicians, handlers = consuming_services()[service]
    handle = handlers[intake.CLINICIAN_REGISTERED]

    handle(None, registered("ana", NORTH, "idp|ana", ["therapist"]), None)
    handle(None, registered("ana", NORTH, "idp|ana", ["therapist"]), None)

    assert clinicians.store.count({}) == 1
    ana = clinicians.get("ana")
    assert (ana["site_id"], ana["subject"], ana["roles"]) == (NORTH, "idp|ana", ["therapist"])
    assert [x["_id"] for x in clinicians.of_subject("idp|ana")] == ["ana"]


def test_a_deactivation_learned_before_the_registration_leaves_the_clinician_inactive():
    c = skills_bootstrap.in_memory(CLOCK)
    run = skills_handlers.handlers(c)

    run[intake.CLINICIAN_DEACTIVATED](None, deactivated("ana", NORTH), None)
    run[intake.CLINICIAN_REGISTERED](None, registered("ana", NORTH, "idp|ana"), None)
    run[intake.CLINICIAN_DEACTIVATED](None, deactivated("ana", NORTH), None)  # redelivered

    ana = c.repositories.clinicians.get("ana")
    assert ana["active"] is False
    assert (ana["subject"], ana["roles"]) == ("idp|ana", ["facilitator"])
    assert c.repositories.clinicians.at_site(NORTH, "idp|ana")["_id"] == "ana"
    coordinator = Principal("co", frozenset({"coordinator"}), frozenset({NORTH}))
    with pytest.raises(InvalidInput) as refused:
        skills.create_feed({"clinician_id": "ana"}, c, coordinator)
    assert "deactivated" in refused.value.field_errors[0]["message"]


def test_a_registration_redelivered_after_the_deactivation_does_not_make_them_active_again():
    clinicians = read_models.Clinicians(InMemoryDocumentStore("clinician"))

    clinicians.register(registered("ben", NORTH, "idp|ben"))
    clinicians.deactivate(deactivated("ben", NORTH))
    clinicians.register(registered("ben", NORTH, "idp|ben"))

    assert clinicians.get("ben")["active"] is False


def test_a_person_at_two_sites_is_found_at_each_site_alone():
    clinicians = read_models.Clinicians(InMemoryDocumentStore("clinician"))
    clinicians.register(registered("ana-north", NORTH, "idp|ana"))
    clinicians.register(registered("ana-south", SOUTH, "idp|ana"))
    clinicians.register(registered("ben", NORTH, "idp|ben"))

    assert clinicians.at_site(NORTH, "idp|ana")["_id"] == "ana-north"
    assert clinicians.at_site(SOUTH, "idp|ana")["_id"] == "ana-south"
    assert clinicians.at_site(EAST, "idp|ana") is None
    assert clinicians.at_site(SOUTH, "idp|ben") is None
    assert [x["_id"] for x in clinicians.of_site(NORTH)] == ["ana-north", "ben"]
    assert [x["_id"] for x in clinicians.of_subject("idp|ana")] == ["ana-north", "ana-south"]


def test_an_admission_delivered_twice_keeps_what_the_service_learned_since():
    c = coaching_bootstrap.in_memory(CLOCK)
    run = coaching_handlers.handlers(c)
    admitted = {
        "client_id": "client-1",
        "referral_id": "client-1",
        "site_id": NORTH,
        "program_id": f"{NORTH}:adult",
        "program": "adult",
        "therapist_id": "ana",
        "availability": [],
        "admitted_at": CLOCK.now().isoformat(),
    }
    run[intake.CLIENT_ADMITTED](None, admitted, None)
    run[intake.THERAPIST_ASSIGNED](
        None,
        {
            "referral_id": "client-1",
            "site_id": NORTH,
            "therapist_id": "ben",
            "method": "manual",
            "assigned_at": CLOCK.now().isoformat(),
        },
        None,
    )
    run[intake.CLIENT_ADMITTED](None, admitted, None)  # redelivered

    client = c.repositories.client("client-1")
    assert client["therapist_id"] == "ben"
    assert "availability" not in client, "coaching keeps only what it uses of an admission"
    again, created = read_models.admit(c.repositories.clients, admitted)
    assert created is False and again["therapist_id"] == "ben"
