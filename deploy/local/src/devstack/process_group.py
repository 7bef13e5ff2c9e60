"""A group of managed processes of one :class:`Profile`: spawned with their logs and pid files
under the profile's directories, awaited until their readiness probe answers, and stopped in
order (services first, then the infrastructure, PostgreSQL last). :class:`devstack.Stack` is
one; the infrastructure and the services' processes are started by its two halves,
:mod:`devstack.infrastructure` and :mod:`devstack.service_processes`."""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable, Iterable
from typing import Self

from . import paths, ready
from .errors import StackError
from .process import ManagedProcess
from .profile import HOST, INFRASTRUCTURE, Profile

INFRA_STOP_TIMEOUT = 20.0
SERVICE_STOP_TIMEOUT = 10.0
#: Stopped after the rest of the infrastructure: FerretDB writes to it until it stops.
STOPPED_LAST = ("postgres",)


def process_key(service: str, kind: str) -> str:
    return f"{service}-{kind}"


class ProcessGroup:
    """The processes of one profile, by name (``kafka``, ``intake-api``, ...). Unless
    ``detached``, :meth:`stop_all` runs at interpreter exit."""

    def __init__(
        self,
        profile: Profile | None = None,
        *,
        detached: bool = False,
        die_with_parent: bool | None = None,
    ) -> None:
        self.profile = profile or Profile.dev()
        self.detached = detached
        self.die_with_parent = (not detached) if die_with_parent is None else die_with_parent
        self.processes: dict[str, ManagedProcess] = {}
        self._lock = threading.RLock()
        if not detached:
            atexit.register(self._at_exit)

    @classmethod
    def attach(cls, profile: Profile) -> Self:
        """A group (a :class:`devstack.Stack` when called on it) holding the live processes
        recorded in ``profile.run_dir`` (e.g. by ``up``)."""
        stack = cls(profile, detached=True)
        for pid_file in sorted(profile.run_dir.glob("*.pid")):
            proc = ManagedProcess.from_pid_file(pid_file)
            if proc is not None:
                stack.processes[proc.name] = proc
        return stack

    # -- queries ---------------------------------------------------------------------------

    def process(self, name: str, kind: str | None = None) -> ManagedProcess | None:
        """``process("kafka")`` or ``process("intake", "api")``."""
        return self.processes.get(process_key(name, kind) if kind else name)

    def running(self) -> list[str]:
        return [name for name, proc in self.processes.items() if proc.is_running()]

    def _is_running(self, key: str) -> bool:
        proc = self.processes.get(key)
        return proc is not None and proc.is_running()

    # -- starting --------------------------------------------------------------------------

    def _check_ports_free(self, name: str, ports: Iterable[int]) -> None:
        for port in ports:
            if ready.port_open(HOST, port):
                raise StackError(
                    f"cannot start {name}: {HOST}:{port} is already in use (another "
                    f"{self.profile.name} stack, or another program, listens there)",
                    process=name,
                )

    def _spawn(
        self,
        name: str,
        cmd: list[str],
        *,
        env: dict[str, str] | None = None,
        stop_timeout: float,
        **options,
    ) -> ManagedProcess:
        proc = ManagedProcess.spawn(
            name,
            cmd,
            log_file=self.profile.log_file(name),
            pid_file=self.profile.run_dir / f"{name}.pid",
            env=env,
            cwd=paths.ROOT,
            die_with_parent=self.die_with_parent,
            stop_timeout=stop_timeout,
            **options,
        )
        self.processes[name] = proc
        return proc

    # -- waiting and stopping --------------------------------------------------------------

    def _await(self, proc: ManagedProcess, probe: Callable[[], bool], deadline: float) -> None:
        last_error: BaseException | None = None
        started = time.monotonic()
        while True:
            if not proc.is_running():
                raise StackError(
                    f"{proc.name} {proc.describe_exit()} before it was ready "
                    f"(log: {proc.log_file})\n--- last lines of {proc.log_file.name} ---\n"
                    f"{proc.log_tail()}",
                    process=proc.name,
                    log_file=proc.log_file,
                )
            try:
                if probe():
                    proc.ready_after = time.monotonic() - started
                    return
            except Exception as exc:
                last_error = exc
            if time.monotonic() >= deadline:
                hint = f" (last probe error: {last_error!r})" if last_error else ""
                raise StackError(
                    f"{proc.name} was not ready in time{hint} (log: {proc.log_file})\n"
                    f"--- last lines of {proc.log_file.name} ---\n{proc.log_tail()}",
                    process=proc.name,
                    log_file=proc.log_file,
                )
            time.sleep(0.2)

    def stop_all(self, timeout: float | None = None) -> dict[str, int | None]:
        """Stop every process this stack started (or adopted): services (and extra processes)
        first, then the infrastructure, PostgreSQL last. Each group gets its stop signal
        (SIGTERM; SIGINT for PostgreSQL), then SIGKILL after ``timeout`` seconds (default 10 s
        for services, 20 s for the infrastructure). Returns the exit codes."""
        return self._stop_keys(list(self.processes), timeout)

    def _stop_keys(self, keys: list[str], timeout: float | None) -> dict[str, int | None]:
        with self._lock:
            codes: dict[str, int | None] = {}
            services = [k for k in keys if k in self.processes and k not in INFRASTRUCTURE]
            present = [k for k in INFRASTRUCTURE if k in keys and k in self.processes]
            infra = [k for k in present if k not in STOPPED_LAST]
            last = [k for k in present if k in STOPPED_LAST]
            for group, default in (
                (services, SERVICE_STOP_TIMEOUT),
                (infra, INFRA_STOP_TIMEOUT),
                (last, INFRA_STOP_TIMEOUT),
            ):
                procs = [self.processes[k] for k in group]
                for proc in procs:
                    proc.terminate()
                deadline = time.monotonic() + (default if timeout is None else timeout)
                for proc in procs:
                    codes[proc.name] = proc.finish_stop(deadline)
                    self.processes.pop(proc.name, None)
            return codes

    def _at_exit(self) -> None:
        if self.processes:
            self.stop_all(timeout=5.0)
