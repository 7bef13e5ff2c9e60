"""MongoDB access: one client per process, created lazily (after gunicorn forks)."""

from __future__ import annotations

import threading

from pymongo import MongoClient
from pymongo.database import Database

_clients: dict[str, MongoClient] = {}
_lock = threading.Lock()


def client(uri: str) -> MongoClient:
    with _lock:
        if uri not in _clients:
            _clients[uri] = MongoClient(
                uri,
                serverSelectionTimeoutMS=5_000,
                connectTimeoutMS=3_000,
                tz_aware=True,
                uuidRepresentation="standard",
            )
        return _clients[uri]


def database(uri: str, name: str) -> Database:
    return client(uri)[name]


def ping(uri: str, timeout_ms: int = 1_500) -> None:
    """Raise unless the server answers within ``timeout_ms``."""
    probe = MongoClient(uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms)
    try:
        probe.admin.command("ping")
    finally:
        probe.close()
