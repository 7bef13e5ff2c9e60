"""The read model of who works where that every service keeps, and the site roles it gives.

Intake owns the staff directory (its ``/v1/staff`` API); each change publishes
``intake.staff.changed.v1`` with the member's whole state now: the identity provider's subject,
whether they are active, their memberships (site id and the roles held there) and a version
number. Every service (intake too) keeps the last of these per subject in ``staff_directory``
(no name, no PHI) with the handler below, and ``StaffDirectory.apply`` gives the caller of a
request whose token comes from a ``directory`` issuer (``dbt_shared.auth``) the roles it holds
at each site:

- a member's roles are per site: a coordinator at A and therapist at B is a coordinator at A
  only (``Principal.can_act_on_site`` asks for the route rule's roles at the site in question);
- a deactivated member holds no role at all, not even the organisation-wide roles their token
  asserts: every request is refused;
- someone not in the directory keeps only the token's organisation-wide roles (operator, client,
  service).

Each api process reads a subject's entry at most every ``STAFF_DIRECTORY_CACHE_S`` seconds (2):
a removal or a deactivation takes effect everywhere within that, plus the event's way through
the broker, whatever the lifetime of the token.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError, PyMongoError

from dbt_shared.auth import Principal
from dbt_shared.contracts import intake
from dbt_shared.events.consumer import Handler, HandlerContext
from dbt_shared.events.envelope import Event
from dbt_shared.problems import Problem

COLLECTION = "staff_directory"
DEFAULT_CACHE_S = 2.0


def on_staff_changed(_event: Event, data: dict[str, Any], ctx: HandlerContext) -> None:
    """Keep the member's state of the event, unless a newer version is kept already (a
    redelivered or late older event never undoes a newer one)."""
    state = {
        "active": bool(data["active"]),
        "memberships": [
            {"site_id": m["site_id"], "roles": sorted(set(m["roles"]))} for m in data["memberships"]
        ],
        "version": int(data["version"]),
        "changed_at": data["changed_at"],
    }
    # index: _id. The version bound makes an older event (or a repeat) match nothing; its
    # upsert then collides with the kept entry's _id: nothing is written.
    with contextlib.suppress(DuplicateKeyError):
        ctx.db[COLLECTION].update_one(
            {"_id": data["subject"], "version": {"$lt": state["version"]}},
            {"$set": state},
            upsert=True,
        )


HANDLERS: dict[str, Handler] = {intake.STAFF_CHANGED: on_staff_changed}


def site_roles_of(entry: dict[str, Any] | None) -> dict[str, frozenset[str]]:
    """The roles held at each site by a directory entry (none when inactive or unknown)."""
    if entry is None or not entry.get("active", False):
        return {}
    held: dict[str, frozenset[str]] = {}
    for membership in entry.get("memberships", []):
        roles = frozenset(membership.get("roles", ()))
        if roles:
            held[membership["site_id"]] = held.get(membership["site_id"], frozenset()) | roles
    return held


class StaffDirectory:
    """Site roles from the ``staff_directory`` read model, for ``dbt_shared.tokens.authenticate``.

    A subject's entry is read again once it is ``cache_s`` seconds old (one ``_id`` read a
    subject per interval and process; at most ``MAX_CACHED`` subjects kept)."""

    MAX_CACHED = 4096

    def __init__(
        self,
        collection: Collection | Callable[[], Collection],
        cache_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # A callable: the collection is had at the first lookup (an api starts without its
        # database, and token-claim callers never need it).
        self._collection = collection
        if cache_s is None:
            cache_s = float(os.environ.get("STAFF_DIRECTORY_CACHE_S") or DEFAULT_CACHE_S)
        self.cache_s = cache_s
        self._clock = clock
        self._cache: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._lock = threading.Lock()

    def _entries(self) -> Collection:
        if callable(self._collection) and not isinstance(self._collection, Collection):
            self._collection = self._collection()
        return self._collection  # type: ignore[return-value]

    def entry(self, subject: str) -> dict[str, Any] | None:
        now = self._clock()
        cached = self._cache.get(subject)
        if cached is not None and now - cached[0] < self.cache_s:
            return cached[1]
        try:
            entry = self._entries().find_one({"_id": subject})  # index: _id
        except PyMongoError as exc:
            # Never guess who works where: without the directory, no site role can be had.
            raise Problem(
                503,
                "Service Unavailable",
                "site roles cannot be read: the staff directory is unavailable",
                headers={"Retry-After": "5"},
            ) from exc
        with self._lock:
            if len(self._cache) >= self.MAX_CACHED:
                self._cache.clear()
            self._cache[subject] = (now, entry)
        return entry

    def apply(self, principal: Principal) -> Principal:
        """The caller with its site roles from the directory (see the module's rules)."""
        entry = self.entry(principal.subject)
        if entry is None:
            return principal  # not staff: the token's organisation-wide roles only
        if not entry.get("active", False):
            return dataclasses.replace(
                principal, roles=frozenset(), sites=frozenset(), site_roles={}
            )
        held = site_roles_of(entry)
        site_roles = frozenset().union(*held.values()) if held else frozenset()
        return dataclasses.replace(
            principal,
            roles=principal.roles | site_roles,
            sites=frozenset(held),
            site_roles=held,
        )
