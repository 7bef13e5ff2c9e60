"""Every service's staff directory on the test server's database (FerretDB locally): the shared
handler keeps a member's newest change whatever order the events come in (a late or repeated
older event changes nothing, and raises nothing the consumer would retry), and the site roles
read from it are that newest change's."""

from __future__ import annotations

from datetime import UTC, datetime

from dbt_shared import staff_directory
from dbt_shared.auth import Principal
from dbt_shared.clock import SystemClock
from dbt_shared.events.consumer import HandlerContext
from dbt_shared.staff_directory import StaffDirectory

SUBJECT = "0c1e0000-0000-4000-8000-00000000000b"


def _change(version: int, memberships: list[dict], active: bool = True) -> dict:
    return {
        "subject": SUBJECT,
        "active": active,
        "memberships": memberships,
        "version": version,
        "changed_at": datetime(2026, 3, 3, 15, version, tzinfo=UTC).isoformat(),
    }


def test_an_older_staff_change_never_undoes_a_newer_one(fresh_db):
    ctx = HandlerContext(db=fresh_db, clock=SystemClock(), service="skills-group")
    coordinator = [{"site_id": "north", "roles": ["coordinator"]}]
    therapist = [{"site_id": "north", "roles": ["therapist"]}]
    changes = [_change(1, coordinator), _change(2, therapist), _change(3, [], active=False)]
    for data in (changes[0], changes[2], changes[1], changes[2], changes[0]):
        staff_directory.on_staff_changed(None, data, ctx)  # the event itself is not read
    kept = fresh_db[staff_directory.COLLECTION].find_one({"_id": SUBJECT})
    assert (kept["version"], kept["active"], kept["memberships"]) == (3, False, [])

    directory = StaffDirectory(fresh_db[staff_directory.COLLECTION], cache_s=0)
    signed_in = Principal(SUBJECT, frozenset({"operator"}), frozenset(), site_roles={})
    assert directory.apply(signed_in).roles == frozenset()  # deactivated: nothing at all


def test_the_site_roles_read_are_the_newest_change(fresh_db):
    ctx = HandlerContext(db=fresh_db, clock=SystemClock(), service="coaching")
    both = [
        {"site_id": "north", "roles": ["coordinator"]},
        {"site_id": "south", "roles": ["facilitator", "therapist"]},
    ]
    staff_directory.on_staff_changed(None, _change(2, both), ctx)
    staff_directory.on_staff_changed(None, _change(1, []), ctx)
    directory = StaffDirectory(fresh_db[staff_directory.COLLECTION], cache_s=0)
    carla = directory.apply(Principal(SUBJECT, frozenset(), frozenset(), site_roles={}))
    assert carla.site_roles == {
        "north": frozenset({"coordinator"}),
        "south": frozenset({"facilitator", "therapist"}),
    }
    as_coordinator = carla.acting_as(("operator", "coordinator"))
    assert as_coordinator.can_act_on_site("north") and not as_coordinator.can_act_on_site("south")
