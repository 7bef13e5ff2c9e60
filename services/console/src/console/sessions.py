"""Server-side sessions: the browser holds a signed, random session id and nothing else.

The tokens (access, refresh, id), the signed-in user, the CSRF token and Authlib's sign-in state
live in the console's own database (``console.sessions``, one document per session, found by its
``_id``), or in memory for unit tests. A session unused for ``session_idle_s`` ends on the next
request, whatever the cookie says: the check is on the server, on every request.
"""

from __future__ import annotations

import logging
import secrets
import threading
from datetime import datetime, timedelta
from typing import Any, Protocol

from flask import Flask, Request, Response, g
from flask.sessions import SessionInterface, SessionMixin
from itsdangerous import BadSignature, Signer
from pymongo.database import Database
from pymongo.errors import OperationFailure
from werkzeug.datastructures import CallbackDict

from dbt_shared.clock import Clock

log = logging.getLogger(__name__)

COOKIE_NAME = "dbt_console"

#: Paths that never need a session (assets, probes): no store read for them.
SESSIONLESS_PREFIXES = ("/static/", "/healthz", "/readyz", "/metrics")

#: ``last_seen`` is written again only when older than this: a page with several htmx requests
#: costs one write, and the idle limit is kept within these seconds.
TOUCH_EVERY_S = 15
#: ``g``'s flag of a request a page makes by itself (polling), which is not the user's activity.
PASSIVE = "console_passive_request"


class SessionStore(Protocol):
    def load(self, sid: str) -> dict[str, Any] | None:
        """``{"data": {...}, "last_seen": datetime}`` or None."""

    def save(self, sid: str, data: dict[str, Any], last_seen: datetime) -> None: ...

    def touch(self, sid: str, last_seen: datetime) -> None: ...

    def delete(self, sid: str) -> None: ...


class MemorySessionStore:
    """For unit tests: the same contract in a dict."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def load(self, sid: str) -> dict[str, Any] | None:
        with self._lock:
            record = self.records.get(sid)
            return (
                {"data": dict(record["data"]), "last_seen": record["last_seen"]} if record else None
            )

    def save(self, sid: str, data: dict[str, Any], last_seen: datetime) -> None:
        with self._lock:
            self.records[sid] = {"data": dict(data), "last_seen": last_seen}

    def touch(self, sid: str, last_seen: datetime) -> None:
        with self._lock:
            if sid in self.records:
                self.records[sid]["last_seen"] = last_seen

    def delete(self, sid: str) -> None:
        with self._lock:
            self.records.pop(sid, None)


class MongoSessionStore:
    """``console.sessions``: every read and write is by ``_id`` (index: _id)."""

    def __init__(self, db: Database, idle_s: int) -> None:
        self.collection = db["sessions"]
        self.idle_s = idle_s

    def ensure_indexes(self) -> None:
        # Sessions nobody returns to (a closed browser) are removed by MongoDB's TTL monitor
        # after the idle limit; FerretDB v1 has no TTL index, where they stay until the
        # user's next visit or sign-out finds them (each is a few hundred bytes).
        try:
            self.collection.create_index("expires_at", expireAfterSeconds=0)
        except OperationFailure:
            log.warning("no TTL index on console.sessions (server without TTL support)")

    def load(self, sid: str) -> dict[str, Any] | None:
        doc = self.collection.find_one({"_id": sid})
        return {"data": doc["data"], "last_seen": doc["last_seen"]} if doc else None

    def save(self, sid: str, data: dict[str, Any], last_seen: datetime) -> None:
        expires = last_seen + timedelta(seconds=self.idle_s)
        self.collection.update_one(
            {"_id": sid},
            {"$set": {"data": data, "last_seen": last_seen, "expires_at": expires}},
            upsert=True,
        )

    def touch(self, sid: str, last_seen: datetime) -> None:
        expires = last_seen + timedelta(seconds=self.idle_s)
        self.collection.update_one(
            {"_id": sid}, {"$set": {"last_seen": last_seen, "expires_at": expires}}
        )

    def delete(self, sid: str) -> None:
        self.collection.delete_one({"_id": sid})


class ServerSession(CallbackDict, SessionMixin):
    """A session whose content stays on the server; ``sid`` is what the cookie carries."""

    def __init__(
        self,
        data: dict[str, Any] | None = None,
        sid: str | None = None,
        *,
        last_seen: datetime | None = None,
        timed_out: bool = False,
    ) -> None:
        def on_update(_self: Any) -> None:
            self.modified = True

        super().__init__(data or {}, on_update)
        self.new = sid is None
        self.sid = sid or new_sid()
        self.last_seen = last_seen
        self.timed_out = timed_out  # an earlier session ended for idleness on this request
        self.modified = False
        self.ended = False
        self.previous_sid: str | None = None

    def regenerate(self) -> None:
        """A new id for the same content, at sign-in: an id known before sign-in (planted by
        someone else) is worth nothing after it."""
        if not self.new:
            self.previous_sid = self.sid
        self.sid = new_sid()
        self.new = True
        self.modified = True

    def end(self) -> None:
        """Sign-out: the record is deleted and the cookie removed."""
        self.clear()
        self.ended = True


def new_sid() -> str:
    return secrets.token_urlsafe(32)


class ServerSessionInterface(SessionInterface):
    def __init__(self, store: SessionStore, clock: Clock, idle_s: int, secure: bool) -> None:
        self.store = store
        self.clock = clock
        self.idle_s = idle_s
        self.secure = secure

    def _signer(self, app: Flask) -> Signer:
        return Signer(app.secret_key, salt="console-session")

    def open_session(self, app: Flask, request: Request) -> ServerSession | None:
        if request.path.startswith(SESSIONLESS_PREFIXES):
            return None  # Flask's null session: nothing read, nothing written
        raw = request.cookies.get(COOKIE_NAME)
        if not raw:
            return ServerSession()
        try:
            sid = self._signer(app).unsign(raw).decode()
        except BadSignature:
            return ServerSession()
        record = self.store.load(sid)
        if record is None:
            return ServerSession()
        now = self.clock.now()
        if (now - record["last_seen"]).total_seconds() > self.idle_s:
            self.store.delete(sid)
            return ServerSession(timed_out=bool(record["data"].get("user")))
        return ServerSession(record["data"], sid, last_seen=record["last_seen"])

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not isinstance(session, ServerSession):
            return
        if session.previous_sid:
            self.store.delete(session.previous_sid)
        if session.ended:
            if not session.new or session.previous_sid:
                self.store.delete(session.sid)
            response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="Lax")
            return
        now = self.clock.now()
        if g.get(PASSIVE) and not session.new:
            # A page's own polling (the live coaching queue) is not the user's activity: the
            # idle end still comes 15 minutes after the last thing they did.
            if session.modified:
                self.store.save(session.sid, dict(session), session.last_seen or now)
            return
        if session.new:
            if not session:
                return  # nothing worth keeping: no record, no cookie
            self.store.save(session.sid, dict(session), now)
            response.set_cookie(
                COOKIE_NAME,
                self._signer(app).sign(session.sid.encode()).decode(),
                httponly=True,
                secure=self.secure,
                samesite="Lax",
                path="/",
            )
        elif session.modified:
            self.store.save(session.sid, dict(session), now)
        elif _stale(session.last_seen, now):
            self.store.touch(session.sid, now)


def _stale(last_seen: datetime | None, now: datetime) -> bool:
    return last_seen is None or (now - last_seen).total_seconds() >= TOUCH_EVERY_S
