"""Preference changes from several people at once, on the server the tests run against (MongoDB
or FerretDB): each ``PUT`` names one field and keeps the rest, so every change that answered
success is still there at the end, whoever wrote after it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from dbt_shared.auth import Principal
from dbt_shared.clock import FixedClock
from dbt_shared.documents import flush_deferred_deletes
from dbt_shared.errors import StaleWrite
from notifications import bootstrap, repository
from notifications.services import people

SITE, CLIENT = "site-1", "client-1"
ROUNDS = 10


def test_concurrent_changes_of_different_fields_all_hold(fresh_db):
    c = bootstrap.in_memory(FixedClock(datetime(2026, 3, 3, 15, 0, tzinfo=UTC)))
    c.repositories = repository.mongo(fresh_db, c.clock)
    c.repositories.enrollments.insert(
        {"_id": "enr-1", "client_id": CLIENT, "group_id": "g", "site_id": SITE}
    )
    c.contacts.people[CLIENT] = {"channels": {"sms": "+13125550101"}, "preferred_channel": "sms"}
    client = Principal(CLIENT, frozenset({"client"}), frozenset())
    facilitator = Principal("fac", frozenset({"facilitator"}), frozenset({SITE}))
    # each writer owns one field; its value in round r is recognisable
    writers = {
        "reminders": (
            facilitator,
            lambda r: {"channels": {"reminders": ["email", "sms"][r % 2 :]}},
        ),
        "coaching": (facilitator, lambda r: {"channels": {"coaching": ["sms", "email"][r % 2 :]}}),
        "language": (client, lambda r: {"language": f"l{chr(97 + r)}"}),
        "quiet_hours": (
            client,
            lambda r: {"quiet_hours": {"start": f"2{r % 4}:00", "end": "07:00"}},
        ),
    }
    last_ok: dict[str, dict] = {}
    refused: list[str] = []
    guard = threading.Lock()

    def write(name: str) -> None:
        principal, body_of = writers[name]
        for round_ in range(ROUNDS):
            body = body_of(round_)
            try:
                people.put_preferences(CLIENT, body, c, principal)
            except StaleWrite:  # told: 409 after losing every retry
                with guard:
                    refused.append(name)
                continue
            with guard:
                last_ok[name] = body

    threads = [threading.Thread(target=write, args=(name,)) for name in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    flush_deferred_deletes()  # the revisions' locks, before the test's database is dropped
    shown = people.get_preferences(CLIENT, c, client)
    assert set(last_ok) == set(writers), f"a writer never succeeded ({refused})"
    assert shown["channels"]["reminders"] == last_ok["reminders"]["channels"]["reminders"]
    assert shown["channels"]["coaching"] == last_ok["coaching"]["channels"]["coaching"]
    assert shown["language"] == last_ok["language"]["language"]
    assert shown["quiet_hours"] == last_ok["quiet_hours"]["quiet_hours"]


def test_preferences_an_earlier_version_stored_follow_intake_again_after_the_first_start(
    fresh_db,
):
    """The earlier version stored the defaults with the quiet hours a client set ("email",
    "en"): at the first start of this one they are unset, and what the client told intake (SMS,
    Spanish) applies again; the quiet hours stay. The second start changes nothing."""
    c = bootstrap.in_memory(FixedClock(datetime(2026, 3, 3, 15, 0, tzinfo=UTC)))
    c.repositories = repository.mongo(fresh_db, c.clock)
    c.contacts.people[CLIENT] = {
        "channels": {"sms": "+13125550101", "email": "a@example.org"},
        "preferred_channel": "sms",
        "language": "es",
        "timezone": "America/Chicago",
    }
    quiet = {"start": "22:00", "end": "07:00"}
    fresh_db["preferences"].insert_one(
        {
            "_id": CLIENT,
            "_rev": 0,
            "kind": "client",
            "channels": {c: ["email"] for c in ("reminders", "coaching", "attendance")}
            | {"administrative": ["sms", "email"]},  # a choice of theirs
            "preferred_channel": "email",
            "language": "en",
            "timezone": None,
            "quiet_hours": quiet,
            "sms_opted_out": False,
        }
    )
    repository.thaw_preferences(fresh_db)
    repository.thaw_preferences(fresh_db)
    client = Principal(CLIENT, frozenset({"client"}), frozenset())
    shown = people.get_preferences(CLIENT, c, client)
    assert shown["preferred_channel"] == "sms" and shown["language"] == "es"
    assert shown["channels"]["reminders"] == ["sms"]  # frozen "email": intake's choice again
    assert shown["channels"]["administrative"] == ["sms", "email"]  # their own choice stays
    assert shown["quiet_hours"] == quiet and shown["timezone"] == "America/Chicago"
    flush_deferred_deletes()
