"""The project modules one ``POST /v1/referrals`` passes through, from the view to storage and
back, and every climb back up from shared code into a service (``docs/referral-path.md``).

Intake's real app (``create_app(bootstrap(db))``) on a real MongoDB-protocol server, called with
Flask's test client: a site registered, two referrals posted (what a process does once), then,
after a pause that lets the blocks of list numbers lapse, one POST with an ``Idempotency-Key``
and its retry are traced with ``sys.setprofile`` on the request thread, while Flask's view
function for the route runs (its decorators included; the request hooks every route shares are
listed apart; other threads, such as the hand-off to the broker, are not waited for).

- a *project module* is a source file under ``services/*/src`` or ``shared/src``; the standard
  library and third-party packages are walked through but not counted;
- *the path from the view to storage*: at each message the driver sends to the database
  (``pymongo.network_layer.sendall``), the project modules on the stack; their union, each
  counted once, is the figure. Every module the view entered (pure rules, schemas, helpers that
  lead to no storage) is printed beside it, with the calls from one module into another;
- a *climb back up* is a call from a function of ``shared/`` straight into a function of a
  service, unless the callee was handed to that shared code: an argument or closure variable of
  the calling function, or an attribute (two levels deep) of one. A callable the shared code
  looked up itself (in ``current_app.extensions``, a module global) is a climb.

Run from the checkout: ``python -m tests.bench.referral_path`` (``--time N`` also times N POSTs
with the tracer off). ``MONGODB_URI`` set: that server; else the test-profile infrastructure is
started (``DEVSTACK_PORT_OFFSET`` moves it) and stopped after.
"""

from __future__ import annotations

import argparse
import base64
import functools
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pymongo import MongoClient

try:  # imported by the tests as ``bench.referral_path`` (``tests/`` is on pytest's path)
    from support import referral_body
except ModuleNotFoundError:  # run from the checkout: ``python -m tests.bench.referral_path``
    from tests.support import referral_body

REPO = Path(__file__).resolve().parents[2]
SERVICES = str(REPO / "services") + os.sep
SHARED = str(REPO / "shared" / "src") + os.sep
ENDPOINT = "referrals.Referrals"
QUIET_S = 1.5  # a pause after which a process's blocks of list numbers have lapsed
SEND = f"{os.sep}pymongo{os.sep}network_layer.py"  # storage: a message to the database server


def module_of(filename: str) -> str | None:
    """The dotted name of a project module, ``None`` for anything else."""
    path = os.path.abspath(filename)
    if path.startswith(SHARED):
        rel = path[len(SHARED) :]
    elif path.startswith(SERVICES) and f"{os.sep}src{os.sep}" in path[len(SERVICES) :]:
        rel = path[len(SERVICES) :].split(f"{os.sep}src{os.sep}", 1)[1]
    else:
        return None
    if not rel.endswith(".py"):
        return None
    name = rel[:-3].replace(os.sep, ".")
    return name.removesuffix(".__init__")


def is_shared(module: str) -> bool:
    return module.split(".", 1)[0] == "dbt_shared"


@dataclass
class Climb:
    caller: str  # module.function
    callee: str
    passed_in: bool  # handed to the shared code (an argument, closure or their attribute)


@dataclass
class Trace:
    modules: list[str] = field(default_factory=list)  # in order of first entry
    entries: list[tuple[str | None, str]] = field(default_factory=list)  # (from, into)
    climbs: list[Climb] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)  # entered by the request, outside the view
    # each call into the database driver: the project modules on the stack, view first
    to_storage: list[tuple[str, ...]] = field(default_factory=list)
    round_trips: int = 0  # messages sent to the database
    status: int = 0

    @property
    def storage_path(self) -> list[str]:
        """The modules a call to the database passes through on its way there, in order."""
        found: list[str] = []
        for chain in self.to_storage:
            found += [m for m in chain if m not in found]
        return found

    @property
    def climbs_back_up(self) -> list[Climb]:
        return [c for c in self.climbs if not c.passed_in]


def _code_of(value: Any):
    func = getattr(value, "__func__", value)
    func = getattr(func, "func", func)  # functools.partial
    return getattr(func, "__code__", None)


def _handed_in(caller, callee_code) -> bool:
    """Whether ``callee_code`` is reachable from what was handed to the calling function."""
    code = caller.f_code
    nargs = code.co_argcount + code.co_kwonlyargcount
    nargs += bool(code.co_flags & 0x04) + bool(code.co_flags & 0x08)  # *args, **kwargs
    names = list(code.co_varnames[:nargs]) + list(code.co_freevars)
    local = caller.f_locals
    seen: set[int] = set()

    def reaches(value: Any, depth: int) -> bool:
        if id(value) in seen:
            return False
        seen.add(id(value))
        if _code_of(value) is callee_code:
            return True
        if isinstance(value, list | tuple):
            return any(reaches(v, depth) for v in value[:50])
        if isinstance(value, dict):
            return any(reaches(v, depth) for v in list(value.values())[:50])
        for klass in type(value).__mro__:  # a method of a handed object
            for attr in vars(klass).values():
                if _code_of(attr) is callee_code:
                    return True
        if depth > 0 and hasattr(value, "__dict__") and not isinstance(value, type):
            return any(reaches(v, depth - 1) for v in list(vars(value).values())[:50])
        return False

    return any(name in local and reaches(local[name], 2) for name in names)


class Tracer:
    """Records the project modules a thread enters while ``active``."""

    def __init__(self) -> None:
        self.path = Trace()
        self.in_view = False
        self.thread = threading.get_ident()
        self.view_code = None

    def __call__(self, frame, event: str, _arg) -> None:
        if event != "call":
            return
        if threading.get_ident() != self.thread:
            return
        into = module_of(frame.f_code.co_filename)
        if into is None:
            code = frame.f_code
            if self.in_view and code.co_name == "sendall" and code.co_filename.endswith(SEND):
                self._storage_call(frame.f_back)
            return
        if not self.in_view:
            if into not in self.path.hooks:
                self.path.hooks.append(into)
            return
        caller = frame.f_back
        came_from = None
        walk = caller
        while walk is not None:  # the nearest project frame below
            came_from = module_of(walk.f_code.co_filename)
            if came_from is not None:
                break
            walk = walk.f_back
        if into not in self.path.modules:
            self.path.modules.append(into)
        if came_from != into:
            self.path.entries.append((came_from, into))
        direct = module_of(caller.f_code.co_filename) if caller is not None else None
        if direct is not None and is_shared(direct) and not is_shared(into):
            self.path.climbs.append(
                Climb(
                    f"{direct}.{caller.f_code.co_qualname}",
                    f"{into}.{frame.f_code.co_qualname}",
                    _handed_in(caller, frame.f_code),
                )
            )

    def _storage_call(self, caller) -> None:
        """A round trip to the database: the project modules on the stack, down to the view."""
        self.path.round_trips += 1
        chain: list[str] = []
        walk = caller
        while walk is not None and walk.f_code is not self.view_code:
            name = module_of(walk.f_code.co_filename)
            if name is not None and (not chain or chain[0] != name):
                chain.insert(0, name)
            walk = walk.f_back
        if tuple(chain) not in self.path.to_storage:
            self.path.to_storage.append(tuple(chain))


def trace_request(app, send: Callable[[Any], Any], endpoint: str = ENDPOINT) -> Trace:
    """Trace ``send(client)`` on ``app``: the modules its ``endpoint`` view passes through."""
    tracer = Tracer()
    view = app.view_functions[endpoint]

    @functools.wraps(view)  # its access rule too
    def traced_view(*args, **kwargs):
        tracer.in_view = True
        try:
            return view(*args, **kwargs)
        finally:
            tracer.in_view = False

    app.view_functions[endpoint] = traced_view
    tracer.view_code = traced_view.__code__
    client = app.test_client()
    sys.setprofile(tracer)
    try:
        response = send(client)
    finally:
        sys.setprofile(None)
        app.view_functions[endpoint] = view
    tracer.path.status = response.status_code
    tracer.path.hooks = [m for m in tracer.path.hooks if m not in tracer.path.modules]
    return tracer.path


# -- one intake on a real server ---------------------------------------------------------------
def traced_referral(site_id: str, n: int) -> dict[str, Any]:
    """The ``n``-th referral posted: a client of their own each (none a possible duplicate)."""
    client = {"given_name": f"Path{n}", "family_name": "Tracer", "email": f"path{n}@example.org"}
    return referral_body(site_id, **client, preferred_channel="sms", language="es")


def intake_env(mongodb_uri: str, database: str, kafka: str | None = None) -> dict[str, str]:
    """What intake's api reads at start-up: the server, its database, the dev key, a field key
    (the dev key pair is made if missing)."""
    from devstack import paths
    from devstack.tokens import ensure_jwt_keys

    ensure_jwt_keys()
    env = {
        "MONGODB_URI": mongodb_uri,
        "MONGODB_DATABASE": database,
        "AUTH_PUBLIC_KEY_FILE": str(paths.JWT_PUBLIC_KEY),
        "AUTH_SITE_ROLES_FROM": "token",
        "LOG_LEVEL": "WARNING",
        "FIELD_ENCRYPTION_KEY": base64.b64encode(os.urandom(32)).decode(),
    }
    if kafka:  # the hand-off after the write sends there (else it fails quietly, off the path)
        env["KAFKA_BOOTSTRAP_SERVERS"] = kafka
    return env


@dataclass
class Intake:
    app: Any
    coordinator: dict[str, str]
    site_id: str
    posted: int = 0

    def post(self, client, key: str | None = None):
        self.posted += 1
        headers = dict(self.coordinator)
        if key:
            headers["Idempotency-Key"] = key
        return client.post(
            "/v1/referrals", json=traced_referral(self.site_id, self.posted), headers=headers
        )


def intake_on(db, warm: int = 2) -> Intake:
    """Intake's api on ``db`` (its database named as ``MONGODB_DATABASE`` says), a site
    registered and ``warm`` referrals posted."""
    from intake.app import create_app
    from intake.bootstrap import bootstrap

    return intake_of(create_app(bootstrap(db)), warm)


def intake_of(app, warm: int = 2) -> Intake:
    """Intake's ``app`` (on whatever wiring) with a site registered by an operator, a
    coordinator of it, and ``warm`` referrals posted."""
    from devstack import mint_token

    client = app.test_client()
    operator = {"Authorization": "Bearer " + mint_token(["operator"], [], "op-path")}
    site = client.post(
        "/v1/sites",
        json={"name": "Path", "timezone": "America/Chicago", "intake_email": "i@p.example"},
        headers=operator,
    )
    assert site.status_code == 201, site.json
    site_id = site.json["id"]
    token = mint_token(["coordinator"], [site_id], "coord-path")
    intake = Intake(app, {"Authorization": "Bearer " + token}, site_id)
    for _ in range(warm):
        answer = intake.post(client, key=str(uuid.uuid4()))
        assert answer.status_code == 201, answer.json
    return intake


def trace_post_and_replay(intake: Intake, pause_s: float = 0.0) -> tuple[Trace, Trace]:
    """One POST traced, then its retry with the same ``Idempotency-Key`` (the replay). After
    ``pause_s`` (more than a block of list numbers lives: ``BlockSequences.BLOCK_TTL_S``) the
    POST takes its numbers from the database, as one at a quiet moment does: the longest path."""
    key = str(uuid.uuid4())
    time.sleep(pause_s)
    first = trace_request(intake.app, lambda client: intake.post(client, key=key))
    intake.posted -= 1  # the same body again
    replay = trace_request(intake.app, lambda client: intake.post(client, key=key))
    return first, replay


def report(path: Trace, what: str = "POST /v1/referrals") -> str:
    lines = [f"{what} answered {path.status}"]
    chain = path.storage_path
    lines.append(f"project modules from the view to storage and back: {len(chain)}")
    lines += [f"  {n:2}. {name}" for n, name in enumerate(chain, 1)]
    lines.append(f"round trips to the database: {path.round_trips}, each came by one of:")
    lines += ["  " + " > ".join(stack) for stack in path.to_storage]
    aside = [m for m in path.modules if m not in chain]
    lines.append(
        f"every project module the view entered: {len(path.modules)} (besides those above: "
        + (", ".join(aside) or "none")
        + ")"
    )
    counts: dict[str, int] = {}
    for _from, into in path.entries:
        counts[into] = counts.get(into, 0) + 1
    lines.append(
        f"entries (calls from one project module into another): {len(path.entries)}; "
        "more than once: " + (", ".join(f"{m} x{n}" for m, n in counts.items() if n > 1) or "none")
    )
    up = path.climbs_back_up
    lines.append(f"climbs back up (shared -> service, not handed in): {len(up)}")
    lines += [f"  {climb.caller} -> {climb.callee}" for climb in up]
    handed = [c for c in path.climbs if c.passed_in]
    lines.append(f"calls into a service through what was handed in: {len(handed)}")
    lines += [f"  {climb.caller} -> {climb.callee}" for climb in handed]
    lines.append(f"request hooks (every route, outside the view): {', '.join(path.hooks)}")
    return "\n".join(lines)


def time_posts(intake: Intake, n: int) -> str:
    """``n`` POSTs in a row, the tracer off: their median, p90 and mean in milliseconds."""
    client, took = intake.app.test_client(), []
    for _ in range(n):
        started = time.perf_counter()
        assert intake.post(client, key=str(uuid.uuid4())).status_code == 201
        took.append((time.perf_counter() - started) * 1000)
    took.sort()
    median, p90, mean = took[n // 2], took[int(n * 0.9)], sum(took) / n
    return f"{n} POSTs, tracer off: median {median:.1f} ms, p90 {p90:.1f} ms, mean {mean:.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--time", type=int, default=0, help="also time N POSTs, tracer off")
    args = parser.parse_args()
    stack = None
    uri, kafka = os.environ.get("MONGODB_URI"), os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not uri:
        from devstack import Profile, Stack

        stack = Stack(Profile.test())
        stack.start_infrastructure(timeout=300)
        uri, kafka = stack.profile.mongodb_uri, stack.profile.kafka_bootstrap
    if kafka:  # intake's topic, as its worker makes it: the hand-off after a write sends there
        from dbt_shared.contracts import ALL_TOPICS
        from dbt_shared.events.topics import ensure_topics, with_dead_letters

        ensure_topics(kafka, with_dead_letters(ALL_TOPICS))
    logging.getLogger("kafka").setLevel(logging.CRITICAL)  # the broker going away at the end
    name = f"path_{uuid.uuid4().hex[:10]}"
    os.environ.update(intake_env(uri, name, kafka))
    server = MongoClient(uri, tz_aware=True, uuidRepresentation="standard")
    try:
        intake = intake_on(server[name])
        first, replay = trace_post_and_replay(intake, pause_s=QUIET_S)
        print(report(first))
        print()
        print(report(replay, "its retry with the same Idempotency-Key"))
        if args.time:
            print(time_posts(intake, args.time))
    finally:
        server.drop_database(name)
        if stack is not None:
            stack.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
