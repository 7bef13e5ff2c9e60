"""A list page's documents read by their ids (``find_ids``), on the server the tests run
against: on FerretDB each id is its own ``_id`` equality, the reads made at once (an ``$in``
there reads the whole collection); on MongoDB one ``$in``. Either way the page gets the
documents that exist, in the order asked, with only the fields asked for."""

from __future__ import annotations

from pymongo import MongoClient, monitoring

from dbt_shared.storage.context import Storage


class Commands(monitoring.CommandListener):
    """The ``find`` filters the client sent, while ``recording`` is set."""

    def __init__(self) -> None:
        self.recording = False
        self.filters: list[dict] = []

    def started(self, event):
        if self.recording and event.command_name == "find":
            self.filters.append(event.command.get("filter", {}))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def _stored(db) -> Storage:
    storage = Storage(db)
    rows = storage.documents("rows")
    for n in range(12):
        rows.insert({"_id": f"r{n:02d}", "name": f"Row {n}", "secret": "not for the page"})
    return storage


def test_a_pages_rows_come_by_id_in_the_order_asked_with_only_their_fields(fresh_db):
    storage = _stored(fresh_db)
    rows = storage.documents("rows")
    asked = ["r07", "missing", "r02", "r07", "r11"]

    found = rows.find_ids(asked, {"name": 1})

    assert found == [
        {"_id": "r07", "name": "Row 7"},
        {"_id": "r02", "name": "Row 2"},
        {"_id": "r11", "name": "Row 11"},
    ]
    assert rows.find_ids([]) == []


def test_on_ferretdb_each_id_is_an_equality_and_on_mongodb_one_in(infra, fresh_db):
    storage = _stored(fresh_db)
    ferretdb = "ferretdbVersion" in fresh_db.client.admin.command("buildInfo")
    assert storage.one_read_per_id is ferretdb
    listener = Commands()
    client = MongoClient(infra.mongodb_uri, tz_aware=True, event_listeners=[listener])
    try:
        watched = Storage(client[fresh_db.name])
        listener.recording = True
        found = watched.documents("rows").find_ids(["r03", "r01", "r05"])
        listener.recording = False
    finally:
        client.close()
    assert [d["_id"] for d in found] == ["r03", "r01", "r05"]
    if ferretdb:
        assert sorted(f["_id"] for f in listener.filters) == ["r01", "r03", "r05"]
    else:
        assert listener.filters == [{"_id": {"$in": ["r03", "r01", "r05"]}}]
