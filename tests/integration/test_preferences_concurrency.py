"""Preference changes from several people at once, on the server the tests run against (MongoDB
or FerretDB): each ``PUT`` names one field and keeps the rest, so every change that answered
success is still there at the end, whoever wrote after it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from dbt_shared.auth import Principal
from dbt_shared.clock import FixedClock
from dbt_shared.errors import StaleWrite
from dbt_shared.storage.context import Storage
from notifications import bootstrap, repository
from notifications.services import people

SITE, CLIENT = "site-1", "client-1"
ROUNDS = 10


def test_concurrent_changes_of_different_fields_all_hold(fresh_db):
    c = bootstrap.in_memory(FixedClock(datetime(2026, 3, 3, 15, 0, tzinfo=UTC)))
    storage = Storage(fresh_db)
    c.repositories = repository.mongo(storage, c.clock)
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

    storage.deferred.sweep()  # the revisions' locks, before the test's database is dropped
    shown = people.get_preferences(CLIENT, c, client)
    assert set(last_ok) == set(writers), f"a writer never succeeded ({refused})"
    assert shown["channels"]["reminders"] == last_ok["reminders"]["channels"]["reminders"]
    assert shown["channels"]["coaching"] == last_ok["coaching"]["channels"]["coaching"]
    assert shown["language"] == last_ok["language"]["language"]
    assert shown["quiet_hours"] == last_ok["quiet_hours"]["quiet_hours"]
