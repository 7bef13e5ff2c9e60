"""The groups of every site of the caller's in one answer (console "My groups": one call, not one
per site), on the server the tests run against (FerretDB locally): one equality query per site
on ``site_groups``, the operator's sites from the ``sites`` read model, a page of ``limit`` that
its cursor continues, another site's groups never shown to a site's staff."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from dbt_shared.auth import Principal
from dbt_shared.clock import FixedClock
from dbt_shared.protection import FieldCipher
from dbt_shared.storage.context import Storage
from skills_group import repository, services
from skills_group.bootstrap import Components

SITES = [f"site-{n:02d}" for n in range(20)]


def test_the_groups_of_my_sites_in_one_answer(fresh_db):
    clock = FixedClock(datetime(2027, 1, 4, 12, 0, tzinfo=UTC))
    storage = Storage(fresh_db)
    c = Components(
        repositories=repository.mongo(storage, clock),
        clock=clock,
        locks=storage.lock,
        storage=storage,
        cipher=FieldCipher(os.urandom(32)),
    )
    repository.ensure_indexes(fresh_db)
    r = c.repositories
    for n, site_id in enumerate(SITES):
        r.sites.insert({"_id": site_id, "timezone": "UTC"})
        for k in range(2):
            r.groups.insert(
                {"_id": f"g-{n:02d}-{k}", "site_id": site_id, "program_id": f"{site_id}:adult"}
            )
    operator = Principal("olivia", frozenset({"operator"}), frozenset())
    facilitator = Principal("fiona", frozenset({"facilitator"}), frozenset(SITES[3:5]))

    every, _ = services.list_groups({"limit": 200}, c, operator)
    assert [g["_id"] for g in every] == sorted(
        f"g-{n:02d}-{k}" for n in range(20) for k in range(2)
    )
    mine, _ = services.list_groups({"limit": 200}, c, facilitator)
    assert [g["_id"] for g in mine] == ["g-03-0", "g-03-1", "g-04-0", "g-04-1"]
    first, cursor = services.list_groups({"limit": 5}, c, operator)
    assert len(first) == 5
    # the next page starts where the first ended, mid-site (g-02-0 was the fifth)
    second, _ = services.list_groups({"limit": 5, "cursor": cursor}, c, operator)
    assert [g["_id"] for g in first + second] == [g["_id"] for g in every[:10]]
    names = {i["name"] for i in fresh_db[repository.GROUPS].list_indexes()}
    assert "site_program" in names and "site_groups" in names
