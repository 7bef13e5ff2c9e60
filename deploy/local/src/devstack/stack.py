"""Start, watch and stop the local stack: Kafka (KRaft), PostgreSQL, FerretDB, Mailpit, the SMS
sink, Alertmanager and Prometheus, Keycloak (the identity provider), the services and the staff
console."""

from __future__ import annotations

import atexit
import base64
import hashlib
import os
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from . import build, keycloak, paths, postgres, ready
from .errors import StackError
from .process import ManagedProcess
from .profile import (
    CONSOLE,
    CORE_INFRASTRUCTURE,
    FERRETDB_DATABASE,
    HOST,
    INFRASTRUCTURE,
    KINDS,
    MONITORING,
    SERVICES,
    SMS_ACCOUNT_SID,
    SMS_AUTH_TOKEN,
    Profile,
    check_service,
    module_name,
)
from .supervisor import describe, read_state, stop_supervisor

TWIN_EVERY_S = 30.0  # how often a stack started here makes the twins of new collections
INFRA_STOP_TIMEOUT = 20.0
SERVICE_STOP_TIMEOUT = 10.0
#: Stopped after the rest of the infrastructure: FerretDB writes to it until it stops.
STOPPED_LAST = ("postgres",)
KAFKA_JVM_OPTS = (
    "-Xms256m",
    "-Xmx512m",
    "-XX:+UseG1GC",
    "-XX:TieredStopAtLevel=1",  # C1 only: faster start-up, plenty for a local broker
    "-Djava.awt.headless=true",
)
#: Keycloak starts in tens of seconds on a quiet machine (its database comes from setup's
#: template), minutes when the cores are busy: it gets its own, longer deadline.
KEYCLOAK_START_TIMEOUT = 600.0


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if not found:
        raise StackError("`java` not found: install a JDK 17+ (Kafka runs on the JVM)")
    return found


def _jmx_exporter() -> Path:
    """The broker's JMX exporter agent, copied into the broker's libs by setup (pom.xml)."""
    found = sorted(paths.KAFKA_LIBS.glob("jmx_prometheus_javaagent-*.jar"))
    if not found:
        raise StackError(f"no JMX exporter agent in {paths.KAFKA_LIBS}: run `make setup`")
    return found[-1]


def _new_cluster_id() -> str:
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _monitoring():
    """devstack.monitoring, imported when used (``python -m devstack.monitoring`` runs it as a
    script, which must not find it imported already by the package)."""
    from . import monitoring

    return monitoring


def process_key(service: str, kind: str) -> str:
    return f"{service}-{kind}"


class Stack:
    """Processes of one :class:`Profile`, started and stopped together.

    ``Stack(Profile.test())`` wipes ``.local/test/`` (``.local/test-<offset>/``) when its
    infrastructure starts from nothing; the dev profile keeps its data. Unless ``detached``
    (used by ``python -m devstack up``), every child gets its stop signal when the Python thread
    that started it exits, and :meth:`stop_all` runs at interpreter exit, so a crashed test run
    leaves no broker behind.
    """

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
        self._twinning: threading.Event | None = None
        if not detached:
            atexit.register(self._at_exit)

    @classmethod
    def attach(cls, profile: Profile) -> Stack:
        """A stack holding the live processes recorded in ``profile.run_dir`` (e.g. by ``up``)."""
        stack = cls(profile, detached=True)
        for pid_file in sorted(profile.run_dir.glob("*.pid")):
            proc = ManagedProcess.from_pid_file(pid_file)
            if proc is not None:
                stack.processes[proc.name] = proc
        return stack

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop_all()

    def __repr__(self) -> str:
        return f"<Stack {self.profile.name} {sorted(self.running())}>"

    # -- queries ---------------------------------------------------------------------------

    def process(self, name: str, kind: str | None = None) -> ManagedProcess | None:
        """``process("kafka")`` or ``process("intake", "api")``."""
        return self.processes.get(process_key(name, kind) if kind else name)

    def running(self) -> list[str]:
        return [name for name, proc in self.processes.items() if proc.is_running()]

    def _is_running(self, key: str) -> bool:
        proc = self.processes.get(key)
        return proc is not None and proc.is_running()

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

    # -- infrastructure --------------------------------------------------------------------

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
        stale = Stack.attach(self.profile)
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

    def _spawn_kafka(self) -> tuple[ManagedProcess, Callable[[], bool]]:
        p = self.profile
        props = self._ensure_kafka_storage()
        cmd = [
            _java(),
            *KAFKA_JVM_OPTS,
            f"-Dlog4j2.configurationFile={paths.KAFKA_LOG4J_CONFIG}",
            f"-Dkafka.logs.file={p.log_file('kafka')}",
            f"-Dkafka.logs.dir={p.log_dir}",
            # Its JMX metrics for Prometheus (job "kafka"): the exporter agent, rules in its file.
            f"-javaagent:{_jmx_exporter()}={HOST}:{p.kafka_metrics_port}:{paths.KAFKA_METRICS_CONFIG}",
            "-cp",
            f"{paths.KAFKA_LIBS}/*",
            "kafka.Kafka",
            str(props),
        ]
        proc = self._spawn("kafka", cmd, stop_timeout=INFRA_STOP_TIMEOUT)
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

    def _render_kafka_properties(self, log_dirs: Path) -> str:
        template = string.Template(paths.KAFKA_PROPERTIES_TEMPLATE.read_text())
        return template.substitute(
            broker_port=self.profile.kafka_port,
            controller_port=self.profile.kafka_controller_port,
            log_dirs=str(log_dirs),
        )

    def _ensure_kafka_storage(self) -> Path:
        """Write server.properties; format the KRaft storage unless it already is.

        Formatting runs a JVM (a few seconds), so a formatted copy per profile and
        configuration is kept under ``.local/kafka/formatted/`` and copied into the (wiped)
        test data directory on the next start.
        """
        kafka_dir = self.profile.data_dir / "kafka"
        log_dirs = kafka_dir / "data"
        props_file = kafka_dir / "server.properties"
        kafka_dir.mkdir(parents=True, exist_ok=True)
        props_file.write_text(self._render_kafka_properties(log_dirs))
        if (log_dirs / "meta.properties").is_file():
            return props_file

        placeholder = Path("/__devstack_log_dirs__")
        digest = hashlib.sha256(self._render_kafka_properties(placeholder).encode())
        for jar in sorted(paths.KAFKA_LIBS.glob("kafka*.jar")):
            digest.update(jar.name.encode())
        formatted = paths.KAFKA_FORMATTED / f"{self.profile.name}-{digest.hexdigest()[:16]}"
        if not (formatted / "meta.properties").is_file():
            self._format_kafka_storage(formatted)
        shutil.rmtree(log_dirs, ignore_errors=True)
        shutil.copytree(formatted, log_dirs)
        return props_file

    def _format_kafka_storage(self, target: Path) -> None:
        paths.KAFKA_FORMATTED.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".format-", dir=paths.KAFKA_FORMATTED))
        try:
            props = work / "server.properties"
            props.write_text(self._render_kafka_properties(work / "data"))
            log = self.profile.log_file("kafka-format")
            log.parent.mkdir(parents=True, exist_ok=True)
            cmd = [
                _java(),
                "-Xmx256m",
                "-XX:TieredStopAtLevel=1",
                f"-Dlog4j2.configurationFile={paths.KAFKA_LOG4J_CONFIG}",
                f"-Dkafka.logs.file={log}",
                "-cp",
                f"{paths.KAFKA_LIBS}/*",
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "-t",
                _new_cluster_id(),
                "-c",
                str(props),
            ]
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            if result.returncode != 0 or not (work / "data" / "meta.properties").is_file():
                raise StackError(
                    f"formatting the Kafka storage failed ({result.returncode}):\n"
                    f"{result.stdout}{result.stderr}",
                    process="kafka",
                )
            shutil.rmtree(target, ignore_errors=True)
            os.replace(work / "data", target)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    # -- services --------------------------------------------------------------------------

    def service_command(self, service: str, kind: str, port: int | None = None) -> list[str]:
        """The command line of a service process; ``port`` overrides the api's profile port."""
        module = module_name(service)
        if kind == "api":
            return [
                str(paths.venv_bin("gunicorn")),
                "--config",
                "python:dbt_shared.gunicorn_conf",
                "--bind",
                f"{HOST}:{port or self.profile.api_port(service)}",
                "--workers",
                "2",
                f"{module}.app:create_app()",
            ]
        if kind == "worker":
            return [str(paths.venv_bin("python")), "-m", f"{module}.worker"]
        raise ValueError(f"unknown process kind {kind!r}; expected 'api' or 'worker'")

    def _service_probe(self, service: str, kind: str) -> Callable[[], bool]:
        if kind == "api":
            url = f"{self.profile.api_url(service)}/healthz"
            return lambda: ready.http_ok(url)
        url = self.profile.worker_metrics_url(service)
        return lambda: ready.http_answers(url)

    def _spawn_service(self, service: str, kind: str) -> ManagedProcess:
        check_service(service)
        key = process_key(service, kind)
        port = (
            self.profile.api_port(service)
            if kind == "api"
            else self.profile.worker_metrics_port(service)
        )
        cmd = self.service_command(service, kind)
        self.profile.log_dir.mkdir(parents=True, exist_ok=True)
        self.profile.run_dir.mkdir(parents=True, exist_ok=True)
        self._check_ports_free(key, [port])
        return self._spawn(
            key, cmd, env=self.profile.service_env(service), stop_timeout=SERVICE_STOP_TIMEOUT
        )

    def start_service(self, service: str, kind: str = "api", timeout: float = 60.0):
        """Start one service process (``kind`` is ``api`` or ``worker``) and wait until it is
        ready: the api answers ``GET /healthz`` with 200, the worker's metrics port answers.
        Returns the running handle (the same one if it is already running)."""
        check_service(service)
        if kind not in KINDS:
            raise ValueError(f"unknown process kind {kind!r}; expected 'api' or 'worker'")
        with self._lock:
            key = process_key(service, kind)
            existing = self.processes.get(key)
            if existing is not None and existing.is_running():
                return existing
            proc = self._spawn_service(service, kind)
            try:
                self._await(proc, self._service_probe(service, kind), time.monotonic() + timeout)
            except BaseException:
                proc.kill()
                raise
            return proc

    def console_command(self, port: int | None = None) -> list[str]:
        """The console (services/console) under gunicorn, like the services' apis."""
        return [
            str(paths.venv_bin("gunicorn")),
            "--config",
            "python:dbt_shared.gunicorn_conf",
            "--bind",
            f"{HOST}:{port or self.profile.console_port}",
            "--workers",
            "2",
            "console.app:create_app()",
        ]

    def start_console(self, timeout: float = 60.0) -> ManagedProcess:
        """Start the staff console (unless it runs) and wait until ``GET /healthz`` answers
        200. It signs people in through Keycloak and calls the four apis: start those first."""
        with self._lock:
            existing = self.processes.get(CONSOLE)
            if existing is not None and existing.is_running():
                return existing
            self.profile.log_dir.mkdir(parents=True, exist_ok=True)
            self.profile.run_dir.mkdir(parents=True, exist_ok=True)
            self._check_ports_free(CONSOLE, [self.profile.console_port])
            proc = self._spawn(
                CONSOLE,
                self.console_command(),
                env=self.profile.console_env(),
                stop_timeout=SERVICE_STOP_TIMEOUT,
            )
            url = f"{self.profile.console_url}/healthz"
            try:
                self._await(proc, lambda: ready.http_ok(url), time.monotonic() + timeout)
            except BaseException:
                proc.kill()
                raise
            return proc

    def start_process(
        self,
        name: str,
        cmd: list[str],
        *,
        probe: Callable[[], bool],
        env: dict[str, str] | None = None,
        timeout: float = 60.0,
    ) -> ManagedProcess:
        """Start an extra process (a test's private database, say), wait for ``probe``."""
        with self._lock:
            proc = self._spawn(name, cmd, env=env, stop_timeout=SERVICE_STOP_TIMEOUT)
            try:
                self._await(proc, probe, time.monotonic() + timeout)
            except BaseException:
                proc.kill()
                raise
            return proc

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

    def twin_indexes(self) -> int:
        """GIN twins of FerretDB's indexes in PostgreSQL (``postgres.twin_indexes``), when this
        stack runs the database itself."""
        if self.profile.is_external("ferretdb") or not self._is_running("postgres"):
            return 0
        return postgres.twin_indexes(HOST, self.profile.postgres_port, FERRETDB_DATABASE)

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
        if self._twinning is not None:
            self._twinning.set()
            self._twinning = None
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
