"""The stack's infrastructure: Kafka, PostgreSQL, FerretDB, Mailpit, the SMS sink, Keycloak,
Alertmanager and Prometheus, each spawned with its command line and readiness probe; the
profile's data prepared (the test profile's wiped) when nothing of the stack runs yet."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from . import broker, build, keycloak, paths, postgres, ready
from .errors import StackError
from .process import ManagedProcess
from .process_group import INFRA_STOP_TIMEOUT, ProcessGroup
from .profile import (
    CORE_INFRASTRUCTURE,
    FERRETDB_DATABASE,
    HOST,
    INFRASTRUCTURE,
    MONITORING,
    SMS_ACCOUNT_SID,
    SMS_AUTH_TOKEN,
)
from .supervisor import read_state, stop_supervisor

#: Keycloak starts in tens of seconds on a quiet machine (its database comes from setup's
#: template), minutes when the cores are busy: it gets its own, longer deadline.
KEYCLOAK_START_TIMEOUT = 600.0


def _monitoring():
    """devstack.monitoring, imported when used (``python -m devstack.monitoring`` runs it as a
    script, which must not find it imported already by the package)."""
    from . import monitoring

    return monitoring


class Infrastructure(ProcessGroup):
    """Starts the infrastructure processes of a :class:`devstack.Stack`."""

    def start_infrastructure(self, timeout: float = 120.0, *, keycloak: bool = False) -> None:
        """Start Kafka, PostgreSQL, FerretDB, Mailpit and the SMS sink (those not running yet),
        and Keycloak too with ``keycloak``, and wait until each answers (Keycloak within
        ``KEYCLOAK_START_TIMEOUT``).

        When nothing of this stack is running, the profile's data is prepared first: the test
        profile's data directory is wiped, the metrics directories of both profiles too.
        """
        names = list(INFRASTRUCTURE if keycloak else CORE_INFRASTRUCTURE)
        self._start_infrastructure(names, timeout=timeout, prepare=True)

    def start_keycloak(self, timeout: float = KEYCLOAK_START_TIMEOUT) -> None:
        """Start Keycloak (unless it runs) and wait until its realm's discovery document
        answers: for the tests that sign in, after the rest of the infrastructure."""
        self._start_infrastructure(["keycloak"], timeout=timeout, prepare=True)

    def _start_infrastructure(self, names: list[str], *, timeout: float, prepare: bool) -> None:
        with self._lock:
            to_start = [
                name
                for name in INFRASTRUCTURE
                if name in names
                and not self._is_running(name)
                and not self.profile.is_external(name)
            ]
            if not to_start:
                return
            missing = build.missing_artifacts()
            if "keycloak" in to_start:
                missing += build.missing_keycloak()
            if any(name in MONITORING for name in to_start):
                missing += _monitoring().missing()
            if missing:
                raise StackError(
                    "the local stack is not built (missing: "
                    + ", ".join(missing)
                    + "); run `make setup` (python -m devstack setup)"
                )
            if prepare and not self.running():
                self._prepare()
            self.profile.log_dir.mkdir(parents=True, exist_ok=True)
            self.profile.run_dir.mkdir(parents=True, exist_ok=True)
            self.profile.metrics_root.mkdir(parents=True, exist_ok=True)
            ports = {
                "kafka": [self.profile.kafka_port, self.profile.kafka_controller_port],
                "postgres": [self.profile.postgres_port],
                "ferretdb": [self.profile.mongodb_port],
                "mailpit": [self.profile.smtp_port, self.profile.mailpit_http_port],
                "sms-sink": [self.profile.sms_port],
                "keycloak": [self.profile.keycloak_port],
                "prometheus": [self.profile.prometheus_port],
                "alertmanager": [self.profile.alertmanager_port],
            }
            for name in to_start:
                self._check_ports_free(name, ports[name])

            started = time.monotonic()
            deadline = started + timeout
            spawned: list[tuple[ManagedProcess, Callable[[], bool]]] = []
            try:
                for name in to_start:
                    if name == "ferretdb":
                        # FerretDB needs its PostgreSQL database: wait for the server first.
                        for proc, probe in spawned:
                            if proc.name == "postgres":
                                self._await(proc, probe, deadline)
                        self._ensure_ferretdb_database()
                    proc, probe = getattr(self, f"_spawn_{name.replace('-', '_')}")()
                    spawned.append((proc, probe))
                for proc, probe in spawned:
                    own = started + max(timeout, KEYCLOAK_START_TIMEOUT)
                    self._await(proc, probe, own if proc.name == "keycloak" else deadline)
            except BaseException:
                for proc, _ in reversed(spawned):
                    proc.kill()
                raise

    def _prepare(self) -> None:
        p = self.profile
        self._clear_stale_processes()
        if p.ephemeral:
            shutil.rmtree(p.data_dir, ignore_errors=True)
        else:
            shutil.rmtree(p.metrics_root, ignore_errors=True)
        for directory in (p.data_dir, p.log_dir, p.run_dir, p.metrics_root):
            directory.mkdir(parents=True, exist_ok=True)

    def _clear_stale_processes(self) -> None:
        """Processes of an earlier stack of the same profile that are still alive."""
        if self.profile.ephemeral and read_state(self.profile) is not None:
            # A `make up PROFILE=test` supervisor would restart what is killed below.
            print("devstack: stopping the supervisor of an earlier test stack", file=sys.stderr)
            stop_supervisor(self.profile)
        stale = type(self).attach(self.profile)
        mine = {proc.pid for proc in self.processes.values()}
        leftovers = [proc for proc in stale.processes.values() if proc.pid not in mine]
        if not leftovers:
            return
        names = ", ".join(f"{proc.name} (pid {proc.pid})" for proc in leftovers)
        if not self.profile.ephemeral:
            raise StackError(
                f"the {self.profile.name} stack is already running: {names}; "
                "stop it first (`make down` / python -m devstack down)"
            )
        print(f"devstack: killing leftovers of an earlier test stack: {names}", file=sys.stderr)
        for proc in leftovers:
            proc.kill()

    def _spawn_kafka(self) -> tuple[ManagedProcess, Callable[[], bool]]:
        p = self.profile
        proc = self._spawn("kafka", broker.command(p), stop_timeout=INFRA_STOP_TIMEOUT)
        return proc, lambda: ready.kafka_ready(p.kafka_bootstrap)

    @property
    def postgres_data_dir(self) -> Path:
        return self.profile.data_dir / "postgres"

    def _spawn_postgres(self) -> tuple[ManagedProcess, Callable[[], bool]]:
        p = self.profile
        postgres.prepare_data_dir(self.postgres_data_dir)
        cmd = postgres.server_command(
            self.postgres_data_dir, HOST, p.postgres_port, durable=not p.ephemeral
        )
        user = postgres.run_as()
        proc = self._spawn(
            "postgres",
            cmd,
            stop_timeout=INFRA_STOP_TIMEOUT,
            stop_signal=signal.SIGINT,  # fast shutdown; SIGTERM waits for clients to leave
            stop_group=False,  # the postmaster stops its own children
            user=(user.uid, user.gid) if user else None,
        )
        return proc, lambda: postgres.is_ready(HOST, p.postgres_port)

    def ensure_postgres_database(self, name: str, timeout: float = 60.0) -> str:
        """Create a database on the stack's PostgreSQL (started if it is not running, also when
        MongoDB comes from outside) unless it exists; returns ``name``. For a private FerretDB:
        see :meth:`ferretdb_command`."""
        if not self._is_running("postgres"):
            with self._lock:
                self.profile.run_dir.mkdir(parents=True, exist_ok=True)
                self.profile.log_dir.mkdir(parents=True, exist_ok=True)
                self._check_ports_free("postgres", [self.profile.postgres_port])
                proc, probe = self._spawn_postgres()
                try:
                    self._await(proc, probe, time.monotonic() + timeout)
                except BaseException:
                    proc.kill()
                    raise
        postgres.ensure_database(HOST, self.profile.postgres_port, name)
        return name

    def _ensure_ferretdb_database(self) -> None:
        postgres.ensure_database(HOST, self.profile.postgres_port, FERRETDB_DATABASE)

    def ferretdb_command(
        self, port: int | None = None, database: str = FERRETDB_DATABASE
    ) -> list[str]:
        """FerretDB's command line: on ``port`` (default: the profile's MongoDB port), storing
        into PostgreSQL database ``database`` of this stack. A test's own FerretDB uses
        ``ferretdb_command(free_port, stack.ensure_postgres_database("mine"))``."""
        return [
            str(paths.FERRETDB_BIN),
            "--listen-addr",
            f"{HOST}:{port or self.profile.mongodb_port}",
            "--postgresql-url",
            self.profile.postgres_database_url(database),
        ]

    def _spawn_ferretdb(self) -> tuple[ManagedProcess, Callable[[], bool]]:
        p = self.profile
        # Go's collector at a quarter of its default frequency: FerretDB allocates a lot per
        # command (BSON to PostgreSQL's JSON and back) and keeps a small heap; about a tenth
        # less CPU per command for some tens of MB more memory.
        env = {**os.environ, "GOGC": os.environ.get("FERRETDB_GOGC", "400")}
        # The stack's own FerretDB serves its metrics for the local Prometheus (job ferretdb);
        # a test's private FerretDB (ferretdb_command with a port) opens no second handler.
        command = [*self.ferretdb_command(), "--debug-addr", f"{HOST}:{p.ferretdb_metrics_port}"]
        proc = self._spawn("ferretdb", command, env=env, stop_timeout=INFRA_STOP_TIMEOUT)
        return proc, lambda: ready.mongodb_ready(p.mongodb_uri)

    def _spawn_mailpit(self) -> tuple[ManagedProcess, Callable[[], bool]]:
        p = self.profile
        db_dir = p.data_dir / "mailpit"
        db_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            str(paths.MAILPIT_BIN),
            "--smtp",
            f"{HOST}:{p.smtp_port}",
            "--listen",
            f"{HOST}:{p.mailpit_http_port}",
            "--database",
            str(db_dir / "mailpit.db"),
            "--smtp-auth-accept-any",
            "--smtp-auth-allow-insecure",
            "--smtp-disable-rdns",
            "--disable-version-check",
            "--block-remote-css-and-fonts",
            "--max",
            "10000",
        ]
        proc = self._spawn("mailpit", cmd, stop_timeout=INFRA_STOP_TIMEOUT)
        return proc, lambda: ready.mailpit_ready(p.mailpit_url)

    def _spawn_sms_sink(self) -> tuple[ManagedProcess, Callable[[], bool]]:
        """The SMS sink (:mod:`devstack.sms_sink`): nothing to build, this interpreter runs it."""
        p = self.profile
        store = p.data_dir / "sms-sink" / "messages.jsonl"
        store.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "devstack.sms_sink",
            "--listen",
            f"{HOST}:{p.sms_port}",
            "--account-sid",
            SMS_ACCOUNT_SID,
            "--auth-token",
            SMS_AUTH_TOKEN,
            "--store",
            str(store),
        ]
        proc = self._spawn("sms-sink", cmd, stop_timeout=INFRA_STOP_TIMEOUT)
        return proc, lambda: ready.sms_sink_ready(p.sms_url)

    def _spawn_keycloak(self) -> tuple[ManagedProcess, Callable[[], bool]]:
        """Keycloak in development mode on the profile's port, its home (database, imported
        realm) under the profile's data directory (:mod:`devstack.keycloak`); the dev profile
        gets a bootstrap admin of the master realm, the test profile none."""
        p = self.profile
        kc_sh = keycloak.prepare_home(p.data_dir / "keycloak" / "home", fresh_database=False)
        proc = self._spawn(
            "keycloak",
            keycloak.command(kc_sh, p.keycloak_port),
            env=keycloak.environment(admin=not p.ephemeral),
            stop_timeout=INFRA_STOP_TIMEOUT,
        )
        url = keycloak.discovery_url(p.keycloak_port)
        return proc, lambda: ready.http_ok(url)

    def _spawn_alertmanager(self) -> tuple[ManagedProcess, Callable[[], bool]]:
        """Alertmanager: production's route tree, every receiver mailing Mailpit."""
        p = self.profile
        cmd = _monitoring().alertmanager_command(p)
        proc = self._spawn("alertmanager", cmd, stop_timeout=INFRA_STOP_TIMEOUT)
        return proc, lambda: ready.http_ok(f"{p.alertmanager_url}/-/ready")

    def _spawn_prometheus(self) -> tuple[ManagedProcess, Callable[[], bool]]:
        """Prometheus: every api and worker scraped, production's rule files evaluated."""
        p = self.profile
        cmd = _monitoring().prometheus_command(p)
        proc = self._spawn("prometheus", cmd, stop_timeout=INFRA_STOP_TIMEOUT)
        return proc, lambda: ready.http_ok(f"{p.prometheus_url}/-/ready")

    def start_monitoring(self, timeout: float = 60.0) -> None:
        """Start Alertmanager and Prometheus (those not running) and wait until both are ready:
        for ``make run``/``make up`` (after the services) and the tests that watch alerts."""
        self._start_infrastructure(list(MONITORING), timeout=timeout, prepare=True)

    def twin_indexes(self) -> int:
        """GIN twins of FerretDB's indexes in PostgreSQL (``postgres.twin_indexes``), when this
        stack runs the database itself."""
        if self.profile.is_external("ferretdb") or not self._is_running("postgres"):
            return 0
        return postgres.twin_indexes(HOST, self.profile.postgres_port, FERRETDB_DATABASE)
