"""The local stack's index twins (``devstack.postgres.twin_indexes``): FerretDB pushes equality
down as jsonb containment, which only a GIN twin of its index serves."""

from __future__ import annotations

import uuid

from devstack import postgres
from devstack.profile import FERRETDB_DATABASE, HOST


def _plan(profile, schema: str, table: str, document_id: str) -> str:
    # What FerretDB sends for find_one({"_id": ...}), with the parameters inlined (as the
    # server's plan_cache_mode makes the planner see them); a table this small would be read
    # whole anyway, so the plan is asked for with sequential scans ruled out.
    query = (
        "SET enable_seqscan = off; "
        f'EXPLAIN SELECT _jsonb FROM "{schema}"."{table}" '
        f"WHERE _jsonb->'_id' @> '\"{document_id}\"'"
    )
    conn = ["-h", HOST, "-p", str(profile.postgres_port), "-U", postgres.SUPERUSER]
    found = postgres._run(
        [str(postgres.binary("psql")), *conn, "-d", FERRETDB_DATABASE, "-XAtc", query]
    )
    assert found.returncode == 0, found.stderr
    return found.stdout


def _table(profile, schema: str, collection: str) -> str:
    conn = ["-h", HOST, "-p", str(profile.postgres_port), "-U", postgres.SUPERUSER]
    query = (
        "SELECT tablename FROM pg_tables "
        f"WHERE schemaname = '{schema}' AND tablename LIKE '{collection}_%'"
    )
    found = postgres._run(
        [str(postgres.binary("psql")), *conn, "-d", FERRETDB_DATABASE, "-XAtc", query]
    )
    return found.stdout.strip()


def test_a_collection_of_the_same_name_in_every_database_gets_its_twin(infra, mongo):
    """Every service has a ``processed_events``: a twin made in one database's schema is no
    reason to leave the others' without (their ``_id`` lookups would read the whole table)."""
    names = [f"twins_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    try:
        for name in names:
            collection = mongo[name]["processed_probe"]
            collection.insert_many([{"_id": f"e-{n}"} for n in range(200)])
        postgres.twin_indexes(HOST, infra.profile.postgres_port, FERRETDB_DATABASE)
        for name in names:
            table = _table(infra.profile, name, "processed_probe")
            assert table, f"no table for {name}.processed_probe"
            plan = _plan(infra.profile, name, table, "e-7")
            assert "Seq Scan" not in plan and "_gin" in plan, f"{name}: {plan}"
    finally:
        for name in names:
            mongo.drop_database(name)
