"""Start, watch and stop the local stack: Kafka (KRaft), PostgreSQL, FerretDB, Mailpit, the SMS
sink, Alertmanager and Prometheus, Keycloak (the identity provider), the services and the staff
console.

:class:`Stack` is the whole: what runs where, ``start_all``, restarts and ``stop_all``. Its
infrastructure is started by :mod:`devstack.infrastructure`, the services' processes and the
console by :mod:`devstack.service_processes`, and both spawn, await and stop through
:mod:`devstack.process_group`."""

from __future__ import annotations

import os
import threading
import time

from . import paths
from .infrastructure import Infrastructure
from .process import ManagedProcess
from .process_group import process_key
from .profile import CONSOLE, HOST, INFRASTRUCTURE, KINDS, SERVICES
from .service_processes import ServiceProcesses
from .supervisor import describe

TWIN_EVERY_S = 30.0  # how often a stack started here makes the twins of new collections


class Stack(Infrastructure, ServiceProcesses):
    """Processes of one :class:`Profile`, started and stopped together.

    ``Stack(Profile.test())`` wipes ``.local/test/`` (``.local/test-<offset>/``) when its
    infrastructure starts from nothing; the dev profile keeps its data. Unless ``detached``
    (used by ``python -m devstack up``), every child gets its stop signal when the Python thread
    that started it exits, and :meth:`stop_all` runs at interpreter exit, so a crashed test run
    leaves no broker behind.
    """

    #: Set, it stops the thread that makes index twins (:meth:`_keep_twinning`).
    _twinning: threading.Event | None = None

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop_all()

    def __repr__(self) -> str:
        return f"<Stack {self.profile.name} {sorted(self.running())}>"

    # -- queries ---------------------------------------------------------------------------

    def address(self, key: str) -> str:
        p = self.profile
        if key == "kafka":
            return p.kafka_bootstrap
        if key == "ferretdb":
            return p.mongodb_uri
        if key == "postgres":
            return p.postgres_url
        if key == "mailpit":
            return f"smtp {HOST}:{p.smtp_port}, {p.mailpit_url}"
        if key == "sms-sink":
            return f"sms {p.sms_url}"
        if key == "keycloak":
            return p.keycloak_issuer
        if key == "prometheus":  # HTTP API only: the web UI is not bundled
            return f"{p.prometheus_url}/api/v1/alerts"
        if key == "alertmanager":
            return f"{p.alertmanager_url}/api/v2/alerts"
        if key == CONSOLE:
            return p.console_url
        service, _, kind = key.rpartition("-")
        if kind == "api":
            return p.api_url(service)
        if kind == "worker":
            return p.worker_metrics_url(service)
        return ""

    def table(self, supervision: dict[str, dict] | None = None) -> str:
        """What runs where, as a text table. ``supervision`` (the supervisor's state, see
        :mod:`devstack.supervisor`) adds restart counts and the processes waiting for one."""
        supervision = supervision or {}
        rows = [("process", "pid", "state", "restarts", "address", "log")]
        order = [*INFRASTRUCTURE] + [process_key(s, k) for k in KINDS for s in SERVICES]
        order.append(CONSOLE)
        known = set(self.processes) | set(supervision)
        keys = [k for k in order if k in known] + sorted(k for k in known if k not in order)
        for key in keys:
            proc = self.processes.get(key)
            waiting, restarts = describe(supervision.get(key))
            if proc is not None and proc.is_running():
                # "restarting": alive, but not yet answering its readiness probe
                pid, state = str(proc.pid), "restarting" if waiting == "restarting" else "running"
            elif proc is not None:
                pid, state = str(proc.pid), waiting or proc.describe_exit()
            else:
                pid, state = "-", waiting or "not running"
            log_file = proc.log_file if proc is not None else self.profile.log_file(key)
            log = os.path.relpath(log_file, paths.ROOT)
            rows.append((key, pid, state, restarts, self.address(key), log))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = [
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(line.rstrip() for line in lines)

    def restart(self, key: str, timeout: float = 120.0) -> ManagedProcess:
        """Start one process of the stack again after it died (the supervisor's restart):
        an infrastructure part (its data is kept, never wiped) or ``<service>-<kind>``."""
        old = self.processes.get(key)
        if old is not None:
            if old.is_running():
                return old
            old.reap_group()  # e.g. gunicorn workers of a dead master still holding the port
        if key in INFRASTRUCTURE:
            self._start_infrastructure([key], timeout=timeout, prepare=False)
            return self.processes[key]
        if key == CONSOLE:
            return self.start_console(timeout=timeout)
        service, _, kind = key.rpartition("-")
        return self.start_service(service, kind, timeout=timeout)

    def _keep_twinning(self) -> None:
        """While this stack runs (tests, ``make bench``, ``make chaos``): index twins for the
        collections the services make later (a collection appears with its first document),
        every ``TWIN_EVERY_S``, as the supervisor does under ``make up`` and ``make run``.
        Without its twin, every ``_id`` lookup in a new collection reads the whole table."""
        if self.detached or self._twinning is not None:
            return
        stop = self._twinning = threading.Event()

        def run() -> None:
            while not stop.wait(TWIN_EVERY_S):
                try:
                    self.twin_indexes()
                except Exception:  # the database may be restarting: next time
                    continue

        threading.Thread(target=run, name="index-twins", daemon=True).start()

    def start_all(
        self,
        timeout: float = 120.0,
        service_timeout: float = 90.0,
        *,
        keycloak: bool = False,
        console: bool = False,
        monitoring: bool = False,
    ) -> None:
        """Infrastructure, then the four apis and four workers (started together, then awaited);
        with ``keycloak`` the identity provider too, with ``console`` also the staff console
        (it needs Keycloak: ``make run``/``make up`` start both; the test suites only the
        tests that sign in); with ``monitoring`` Alertmanager and Prometheus last (once every
        target answers, so no alert fires on a process still starting).

        On failure, what this call started is stopped again (processes that were already
        running stay up) and :class:`StackError` is raised.
        """
        with self._lock:
            already = {key for key, proc in self.processes.items() if proc.is_running()}
            try:
                self.start_infrastructure(timeout=timeout, keycloak=keycloak or console)
                pending = []
                for kind in KINDS:
                    for service in SERVICES:
                        if not self._is_running(process_key(service, kind)):
                            proc = self._spawn_service(service, kind)
                            pending.append((proc, self._service_probe(service, kind)))
                deadline = time.monotonic() + service_timeout
                for proc, probe in pending:
                    self._await(proc, probe, deadline)
                if console:
                    self.start_console(timeout=service_timeout)
                if monitoring:
                    self.start_monitoring(timeout=timeout)
                self.twin_indexes()  # the services have made their indexes by now
                self._keep_twinning()
            except BaseException:
                self._stop_keys([key for key in self.processes if key not in already], 5.0)
                raise

    # -- stopping ----------------------------------------------------------------------------

    def stop_all(self, timeout: float | None = None) -> dict[str, int | None]:
        """Stop making index twins, then every process (:meth:`ProcessGroup.stop_all`)."""
        if self._twinning is not None:
            self._twinning.set()
            self._twinning = None
        return super().stop_all(timeout)
