"""MongoDB access: the process's client, made on first use (after gunicorn forks), held by the
composition root that builds it (``Mongo``), and the id deletes every server serves by index."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import pymongo
from pymongo import DeleteOne, MongoClient, uri_parser
from pymongo.collection import Collection
from pymongo.database import Database


def new_client(uri: str) -> MongoClient:
    """A client for ``uri``, with the defaults the URI does not set itself (a test may ask for
    less): 5 s to find the server, 3 s to connect; dates read back aware, UUIDs standard."""
    options = {"serverSelectionTimeoutMS": 5_000, "connectTimeoutMS": 3_000}
    given = {k.lower() for k in uri_parser.parse_uri(uri)["options"]}
    return MongoClient(
        uri,
        **{k: v for k, v in options.items() if k.lower() not in given},
        tz_aware=True,
        uuidRepresentation="standard",
    )


class Mongo:
    """One server as a process reaches it: one pooled client, made the first time it is asked
    for (a gunicorn worker makes its own after the fork), shared by every database handle the
    process takes from it. A service's ``bootstrap`` (or the worker's start) builds it."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._client: MongoClient | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> MongoClient:
        with self._lock:
            if self._client is None:
                self._client = new_client(self.uri)
            return self._client

    def database(self, name: str) -> Database:
        return self.client[name]

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def ping(client: MongoClient, timeout_ms: int = 1_500) -> None:
    """Raise unless the server answers within ``timeout_ms`` (server selection included), on
    the process's own client: readiness runs at each scrape (every 5 s locally), and a client
    made per ping cost the api 3.6 ms and FerretDB 2 ms of CPU each time (a connection, its
    handshake, a session ended), against under 1 ms for the ping alone."""
    with pymongo.timeout(timeout_ms / 1000):
        client.admin.command("ping")


def delete_ids(collection: Collection, ids: Iterable[Any]) -> int:
    """Delete documents by ``_id`` in one command: one equality delete per id (index: _id),
    which every server serves from the index. Not ``{_id: {$in: ids}}``: FerretDB v1 pushes no
    ``$in`` down, so that reads and decodes the whole collection to delete a few documents."""
    operations = [DeleteOne({"_id": document_id}) for document_id in dict.fromkeys(ids)]
    if not operations:
        return 0
    return collection.bulk_write(operations, ordered=False).deleted_count
