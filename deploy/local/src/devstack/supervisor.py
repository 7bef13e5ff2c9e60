"""Supervision: a stack process that dies is started again, with backoff.

``python -m devstack run`` supervises in the foreground, in its own process. ``up`` starts the
stack as before and then a background daemon, ``python -m devstack supervise``, which adopts the
processes from their pid files and watches them. A process that exits is restarted after 1 s;
while it keeps dying the delay doubles up to 30 s, and a run that stays up for a minute resets
it. Each death and restart is logged (``run``: the terminal; ``up``: ``<data>/logs/supervisor.log``)
and counted in ``<data>/run/supervisor.json``, which ``status`` reads.

The daemon only watches and restarts: ``down`` stops it first (so nothing is restarted while
the stack goes down) and then stops the processes from their pid files as always. If the daemon
is gone, the stack keeps running unsupervised and ``status`` says so.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .process import ManagedProcess, _pid_alive, _proc_start_time
from .profile import INFRASTRUCTURE, KINDS, SERVICES, Profile

if TYPE_CHECKING:
    from .stack import Stack

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
#: A restarted process that has stayed up this long gets the first delay again next time.
STABLE_AFTER = 60.0
POLL_INTERVAL = 0.5
TWIN_EVERY = 60  # rounds: every 30 s, one catalog query
RESTART_TIMEOUT = 120.0


def state_file(profile: Profile) -> Path:
    return profile.run_dir / "supervisor.json"


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


def read_state(profile: Profile) -> dict | None:
    """The state file of the profile's supervisor if that supervisor is alive, else None."""
    try:
        state = json.loads(state_file(profile).read_text())
        pid = int(state["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _pid_alive(pid) or _proc_start_time(pid) != state.get("start_time"):
        return None
    return state


def stop_supervisor(profile: Profile, timeout: float = 30.0) -> int | None:
    """SIGTERM the profile's live supervisor and wait for it (SIGKILL after ``timeout``).
    Returns its pid, or None if none was running."""
    state = read_state(profile)
    if state is None:
        return None
    pid = int(state["pid"])
    start_time = state.get("start_time")

    def alive() -> bool:
        return _pid_alive(pid) and _proc_start_time(pid) == start_time

    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        while alive():
            time.sleep(0.05)
    with contextlib.suppress(OSError, ValueError):
        if json.loads(state_file(profile).read_text()).get("pid") == pid:
            state_file(profile).unlink(missing_ok=True)
    return pid


def clear_stop_marks(profile: Profile) -> None:
    """Remove the ``<name>.stopped`` marks (see ManagedProcess.terminate) once the whole stack
    is down: they only matter to a supervisor watching a running stack."""
    for mark in profile.run_dir.glob("*.stopped"):
        mark.unlink(missing_ok=True)


class Stopped(BaseException):
    """Raised by the supervisor's signal handler to end its loop wherever it is."""


@dataclass
class Watched:
    """Supervision record of one process."""

    restarts: int = 0
    delay: float = BACKOFF_FIRST
    up_since: float = field(default_factory=time.monotonic)
    #: While the process is down: when (monotonic) the next restart is due.
    restart_at: float | None = None
    last_exit: str | None = None
    restarting: bool = False
    #: Stopped on purpose (``stop()``): not restarted until someone starts it again.
    stopped: bool = False


def _order(keys) -> list[str]:
    order = [*INFRASTRUCTURE] + [f"{s}-{k}" for k in KINDS for s in SERVICES]
    return [k for k in order if k in keys] + sorted(k for k in keys if k not in order)


class Supervisor:
    """Watches the processes of ``stack`` (those it holds now) and restarts the ones that die."""

    def __init__(self, stack: Stack, *, mode: str, echo: Callable[[str], None] | None = None):
        self.stack = stack
        self.mode = mode
        self.echo = echo or (lambda message: print(message, flush=True))
        self.watched = {key: Watched() for key in _order(stack.processes)}
        self.started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        self._pid = os.getpid()

    # -- the loop --------------------------------------------------------------------------

    def run_forever(self) -> None:
        """Check every half second until interrupted (KeyboardInterrupt or :class:`Stopped`)."""
        self.save()
        rounds = 0
        while True:
            self.check()
            rounds += 1
            if rounds % TWIN_EVERY == 0:  # collections a service made since get indexed too
                try:
                    self.stack.twin_indexes()
                except Exception as exc:  # the database may be restarting: next time
                    self.echo(f"{_now()} devstack: index twins not made: {exc}")
            time.sleep(POLL_INTERVAL)

    def check(self) -> None:
        """One round: note the processes that died, restart those whose delay is over."""
        changed = False
        for key, watched in self.watched.items():
            now = time.monotonic()
            proc = self.stack.processes.get(key)
            if proc is not None and proc.is_running():
                if watched.delay > BACKOFF_FIRST and now - watched.up_since >= STABLE_AFTER:
                    watched.delay = BACKOFF_FIRST
                continue
            if self._adopt(key, watched, proc):
                changed = True
                continue
            if watched.stopped:
                continue
            if proc is not None and proc.stopped_on_purpose:
                watched.stopped, watched.restart_at = True, None
                watched.last_exit = "stopped on purpose"
                self.echo(
                    f"{_now()} devstack: {key} was stopped on purpose; not restarting it "
                    "(once started again, e.g. with Stack.start_service, it is watched again)"
                )
                changed = True
                continue
            if watched.restart_at is None:
                watched.last_exit = proc.describe_exit() if proc is not None else "is gone"
                watched.restart_at = now + watched.delay
                log = f" (log: {proc.log_file})" if proc is not None else ""
                self.echo(
                    f"{_now()} devstack: {key} {watched.last_exit}{log}; "
                    f"restarting in {watched.delay:g}s"
                )
                changed = True
                continue
            if now >= watched.restart_at:
                self._restart(key, watched)
                changed = True
        if changed:
            self.save()

    def _adopt(self, key: str, watched: Watched, proc) -> bool:
        """A process of ``key`` started by someone else (another devstack process) after this
        one died: watch that one from now on."""
        pid_file = self.stack.profile.run_dir / f"{key}.pid"
        if not pid_file.is_file():
            return False
        other = ManagedProcess.from_pid_file(pid_file)
        if other is None or (proc is not None and other.pid == proc.pid):
            return False
        self.stack.processes[key] = other
        watched.stopped, watched.restart_at, watched.restarting = False, None, False
        watched.up_since = time.monotonic()
        self.echo(f"{_now()} devstack: {key} was started again elsewhere (pid {other.pid})")
        return True

    def _restart(self, key: str, watched: Watched) -> None:
        watched.restarts += 1
        watched.restarting = True
        self.save()
        delay, watched.delay = watched.delay, min(watched.delay * 2, BACKOFF_MAX)
        try:
            proc = self.stack.restart(key, timeout=RESTART_TIMEOUT)
        except Exception as exc:  # StackError mostly; a restart must never end supervision
            watched.restart_at = time.monotonic() + watched.delay
            watched.last_exit = "failed to restart"
            self.echo(
                f"{_now()} devstack: restart {watched.restarts} of {key} failed; "
                f"next try in {watched.delay:g}s\n{exc}"
            )
        else:
            watched.restart_at = None
            watched.up_since = time.monotonic()
            self.echo(
                f"{_now()} devstack: {key} restarted (pid {proc.pid}, "
                f"restart {watched.restarts} after {delay:g}s, "
                f"ready in {proc.ready_after or 0:.1f}s)"
            )
        finally:
            watched.restarting = False

    # -- the state file --------------------------------------------------------------------

    def snapshot(self) -> dict:
        processes = {}
        wall, mono = time.time(), time.monotonic()
        for key, watched in self.watched.items():
            proc = self.stack.processes.get(key)
            if watched.restarting:
                state = "restarting"
            elif watched.stopped:
                state = "stopped"
            elif watched.restart_at is not None:
                state = "down"
            else:
                state = "running"
            processes[key] = {
                "state": state,
                "restarts": watched.restarts,
                "pid": proc.pid if proc is not None else None,
                "last_exit": watched.last_exit,
                "restart_at": (
                    wall + (watched.restart_at - mono) if watched.restart_at is not None else None
                ),
            }
        return {
            "pid": self._pid,
            "start_time": _proc_start_time(self._pid),
            "mode": self.mode,
            "started_at": self.started_at,
            "processes": processes,
        }

    def save(self) -> None:
        path = state_file(self.stack.profile)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{self._pid}.tmp")
        tmp.write_text(json.dumps(self.snapshot(), indent=1) + "\n")
        os.replace(tmp, path)

    def close(self) -> None:
        """Remove the state file (if it is still this supervisor's)."""
        path = state_file(self.stack.profile)
        with contextlib.suppress(OSError, ValueError):
            if json.loads(path.read_text()).get("pid") == self._pid:
                path.unlink()


def describe(entry: dict | None) -> tuple[str | None, str]:
    """(state text for a process that is not running, restart count) from a state entry."""
    if entry is None:
        return None, "-"
    restarts = str(entry.get("restarts", 0))
    if entry.get("state") == "restarting":
        return "restarting", restarts
    if entry.get("state") == "stopped":
        return "stopped on purpose (not restarted)", restarts
    if entry.get("state") == "down":
        due = entry.get("restart_at")
        wait = f", restart in {max(0.0, due - time.time()):.0f}s" if due else ""
        return f"down ({entry.get('last_exit') or 'exited'}{wait})", restarts
    return None, restarts


def supervise(profile: Profile) -> int:
    """The ``up`` daemon: adopt the profile's running processes and keep them running until
    SIGTERM (``down``), SIGINT or SIGHUP."""
    from .stack import Stack

    stopping = False

    def on_signal(signum, _frame):
        nonlocal stopping
        if stopping:
            return
        stopping = True
        raise Stopped

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    stack = Stack.attach(profile)
    if not stack.processes:
        print(f"{_now()} devstack: the {profile.name} stack is not running; nothing to supervise")
        return 1
    supervisor = Supervisor(stack, mode="up")
    print(
        f"{_now()} devstack: supervising the {profile.name} stack (pid {os.getpid()}): "
        + ", ".join(supervisor.watched),
        flush=True,
    )
    try:
        supervisor.run_forever()
    except Stopped:
        print(f"{_now()} devstack: supervisor stopping (the processes keep running)", flush=True)
    finally:
        supervisor.close()
    return 0
