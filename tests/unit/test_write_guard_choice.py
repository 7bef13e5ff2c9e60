"""Where a save's guard is chosen: ``needs_write_lock`` (the server's ``buildInfo``, or
``MONGODB_WRITE_GUARD``), asked once by a process's ``Storage``, whose stores then save through
the revision in the filter alone (MongoDB) or through the revision's lock first (FerretDB).

The server is a stand-in that answers ``buildInfo`` as each server does; what it answers is
the whole of what the choice reads.
"""

from __future__ import annotations

from typing import Any

import pytest

from dbt_shared.storage.context import Storage
from dbt_shared.storage.document_locks import needs_write_lock

MONGODB_7 = {"version": "7.0.14", "gitVersion": "ce59cfc6a3c5e5c067dca0d30697edd68d4f5188", "ok": 1}
FERRETDB_1 = {
    "version": "7.0.42",
    "gitVersion": "a3b5a6ef",
    "ferretdbVersion": "v1.24.0",
    "ferretdbFeatures": {},
    "ok": 1,
}


class _Admin:
    def __init__(self, build_info: dict[str, Any]) -> None:
        self.build_info = build_info
        self.asked = 0

    def command(self, name: str) -> dict[str, Any]:
        assert name == "buildInfo"
        self.asked += 1
        return self.build_info


class _Server:
    """A database handle whose client answers ``buildInfo`` as the given server does."""

    def __init__(self, build_info: dict[str, Any]) -> None:
        self.admin = _Admin(build_info)
        self.client = self
        self.name = "clinic"


@pytest.fixture(autouse=True)
def _no_override(monkeypatch):
    monkeypatch.delenv("MONGODB_WRITE_GUARD", raising=False)


def test_ferretdb_gets_the_lock_and_mongodb_the_filter_alone():
    assert needs_write_lock(_Server(FERRETDB_1)) is True
    assert needs_write_lock(_Server(MONGODB_7)) is False


@pytest.mark.parametrize(
    ("setting", "server", "lock"),
    [
        ("revision", FERRETDB_1, False),
        ("lock", MONGODB_7, True),
        ("LOCK", MONGODB_7, True),
        ("auto", FERRETDB_1, True),
        ("auto", MONGODB_7, False),
    ],
)
def test_the_setting_overrides_what_the_server_says(monkeypatch, setting, server, lock):
    monkeypatch.setenv("MONGODB_WRITE_GUARD", setting)
    assert needs_write_lock(_Server(server)) is lock


def test_a_storage_asks_the_server_once_on_first_use():
    server = _Server(FERRETDB_1)
    storage = Storage(server)
    assert server.admin.asked == 0  # not at start: the server may be away then
    assert storage.write_lock is True
    assert storage.write_lock is True
    assert server.admin.asked == 1


def test_a_storage_told_its_guard_never_asks():
    server = _Server(FERRETDB_1)
    assert Storage(server, write_lock=False).write_lock is False
    assert server.admin.asked == 0
