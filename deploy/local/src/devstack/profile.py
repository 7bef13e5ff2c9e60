"""Port profiles: ``dev`` (kept data, default ports) and ``test`` (shifted ports, wiped data).

``DEVSTACK_PORT_OFFSET`` (an integer, default 0) is added to every port of the test profile, so
that two test stacks can run side by side on one machine (two checkouts, or two runs in one
checkout: a non-zero offset also gets a data directory of its own, ``.local/test-<offset>/``).
What the processes are told of a profile (their environment) is :mod:`devstack.environment`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from . import paths

HOST = "127.0.0.1"

#: Service names, in start order.
SERVICES: tuple[str, ...] = ("intake", "skills-group", "coaching", "notifications")
#: Infrastructure process names, in start order (PostgreSQL before FerretDB, which stores its
#: data there). Keycloak, the identity provider, is started by ``make run``/``make up`` and by
#: the tests that sign in (it takes far longer to start than the rest): see ``Stack``.
INFRASTRUCTURE: tuple[str, ...] = (
    "kafka",
    "postgres",
    "ferretdb",
    "mailpit",
    "sms-sink",
    "alertmanager",
    "prometheus",
    "keycloak",
)
#: Prometheus and Alertmanager (devstack.monitoring): started by ``make run``/``make up`` after
#: the services, and by the tests that need them (``Stack.start_monitoring``).
MONITORING: tuple[str, ...] = ("alertmanager", "prometheus")
#: The infrastructure every stack starts (all but Keycloak and the monitoring).
CORE_INFRASTRUCTURE: tuple[str, ...] = tuple(
    n for n in INFRASTRUCTURE if n != "keycloak" and n not in MONITORING
)
#: The staff console (services/console): one process, started after the services' apis.
CONSOLE = "console"
#: The console's OIDC client in the dev realm (deploy/local/keycloak/realm-dbt.json); the
#: secret is a fixed development value, as the dev users' passwords are.
CONSOLE_CLIENT_ID = "dbt-console"
CONSOLE_CLIENT_SECRET = "dbt-console-dev-secret"
#: An idle console session ends after this many seconds (shared clinic computers).
CONSOLE_SESSION_IDLE_S = 900
#: The dev realm's sign-in names (password = name), in the order ``make run`` lists them.
DEV_USERS: tuple[tuple[str, str], ...] = (
    ("olivia", "operator"),
    ("carla", "intake coordinator"),
    ("fiona", "facilitator"),
    ("theo", "therapist"),
    ("oscar", "ops"),
)
#: Process kinds of a service.
KINDS: tuple[str, ...] = ("api", "worker")


def module_name(service: str) -> str:
    """Python package of a service: ``skills-group`` -> ``skills_group``."""
    check_service(service)
    return service.replace("-", "_")


#: The PostgreSQL database that holds FerretDB's data (one schema per MongoDB database).
FERRETDB_DATABASE = "ferretdb"

#: Fixed development credentials of the SMS sink (``devstack.sms_sink``, Twilio's Messages API):
#: an Account SID ("AC" + 32 hex digits) and an Auth Token (32 hex digits). Not secrets: the sink
#: only listens on 127.0.0.1 and sends nothing anywhere.
SMS_ACCOUNT_SID = "ACdb7de500000000000000000000000000"
SMS_AUTH_TOKEN = "5e11d0c5000000000000000000000000"
#: Sender number the notifications service uses locally (Twilio's test "From" number).
SMS_FROM = "+15005550006"

#: Environment variable: added to every port of the test profile.
PORT_OFFSET_ENV = "DEVSTACK_PORT_OFFSET"
_MAX_PORT = 65535


def port_offset_from_env() -> int:
    """``DEVSTACK_PORT_OFFSET`` as an integer (0 when unset or empty)."""
    raw = os.environ.get(PORT_OFFSET_ENV, "").strip()
    if not raw:
        return 0
    try:
        offset = int(raw)
    except ValueError:
        raise ValueError(f"{PORT_OFFSET_ENV} must be an integer, got {raw!r}") from None
    if offset < 0:
        raise ValueError(f"{PORT_OFFSET_ENV} must not be negative, got {offset}")
    return offset


def check_service(service: str) -> None:
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; expected one of {', '.join(SERVICES)}")


@dataclass(frozen=True)
class Profile:
    """Ports and directories of one local stack.

    Use :meth:`dev` or :meth:`test`; they never share a port or a directory, so the test
    suite can run while a dev stack is up.
    """

    name: str
    kafka_port: int
    kafka_controller_port: int
    mongodb_port: int
    #: FerretDB's PostgreSQL; only FerretDB (and tests) connect to it.
    postgres_port: int
    smtp_port: int
    mailpit_http_port: int
    #: The SMS sink (Twilio-compatible Messages API and ``/api/messages``).
    sms_port: int
    api_ports: tuple[int, ...]  # in SERVICES order
    worker_metrics_ports: tuple[int, ...]  # in SERVICES order
    #: Wipe the data directory every time the stack starts.
    ephemeral: bool
    #: Keycloak (the identity provider, realm ``dbt``) and the staff console.
    keycloak_port: int = 8180
    console_port: int = 8000
    #: Prometheus and Alertmanager (not 9093: the broker's controller listens there).
    prometheus_port: int = 9090
    alertmanager_port: int = 9194
    #: FerretDB's metrics handler (``/debug/metrics``; 8088 is the ferretdb command's default).
    ferretdb_metrics_port: int = 8088
    #: The broker's JMX exporter (a Java agent in the broker; 9308 is the Kafka exporters' port).
    kafka_metrics_port: int = 9308
    root: Path = field(default=paths.ROOT)
    #: Infrastructure run elsewhere (explicit env, Testcontainers): used instead of starting it.
    external_kafka: str | None = None
    external_mongodb: str | None = None
    #: What ``DEVSTACK_PORT_OFFSET`` added to the ports (test profile only).
    port_offset: int = 0

    # -- constructors ----------------------------------------------------------------------

    @classmethod
    def dev(cls) -> Profile:
        return cls(
            name="dev",
            kafka_port=9092,
            kafka_controller_port=9093,
            mongodb_port=27017,
            postgres_port=5433,
            smtp_port=1025,
            mailpit_http_port=8025,
            sms_port=8030,
            api_ports=(8001, 8002, 8003, 8004),
            worker_metrics_ports=(9101, 9102, 9103, 9104),
            ephemeral=False,
            keycloak_port=8180,
            console_port=8000,
        )

    @classmethod
    def test(cls, port_offset: int | None = None) -> Profile:
        """The test profile; ``port_offset`` (default: ``DEVSTACK_PORT_OFFSET``) is added to
        every port."""
        offset = port_offset_from_env() if port_offset is None else port_offset
        if offset < 0:
            raise ValueError(f"the port offset must not be negative, got {offset}")
        profile = cls(
            name="test",
            kafka_port=19092 + offset,
            kafka_controller_port=19093 + offset,
            mongodb_port=37017 + offset,
            postgres_port=15433 + offset,
            smtp_port=11025 + offset,
            mailpit_http_port=18025 + offset,
            sms_port=18030 + offset,
            api_ports=tuple(port + offset for port in (18001, 18002, 18003, 18004)),
            worker_metrics_ports=tuple(port + offset for port in (19101, 19102, 19103, 19104)),
            ephemeral=True,
            keycloak_port=18180 + offset,
            console_port=18000 + offset,
            prometheus_port=19090 + offset,
            alertmanager_port=19194 + offset,
            ferretdb_metrics_port=18088 + offset,
            kafka_metrics_port=19308 + offset,
            port_offset=offset,
        )
        highest = max(profile.ports().values())
        if highest > _MAX_PORT:
            raise ValueError(
                f"port offset {offset} is too large: the test profile would need port {highest}"
            )
        return profile

    @classmethod
    def named(cls, name: str) -> Profile:
        if name == "dev":
            return cls.dev()
        if name == "test":
            return cls.test()
        raise ValueError(f"unknown profile {name!r}; expected 'dev' or 'test'")

    # -- addresses -------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return HOST

    @property
    def kafka_bootstrap(self) -> str:
        return self.external_kafka or f"{HOST}:{self.kafka_port}"

    @property
    def kafka_controller(self) -> str:
        return f"{HOST}:{self.kafka_controller_port}"

    @property
    def mongodb_uri(self) -> str:
        return self.external_mongodb or f"mongodb://{HOST}:{self.mongodb_port}/"

    @property
    def postgres_url(self) -> str:
        """FerretDB's PostgreSQL database (the server trusts loopback connections)."""
        return self.postgres_database_url(FERRETDB_DATABASE)

    def postgres_database_url(self, database: str) -> str:
        return f"postgres://postgres@{HOST}:{self.postgres_port}/{database}"

    def is_external(self, part: str) -> bool:
        """Whether ``kafka`` or ``ferretdb`` (and with it ``postgres``) is provided from
        outside rather than started here."""
        return (part == "kafka" and bool(self.external_kafka)) or (
            part in ("ferretdb", "postgres") and bool(self.external_mongodb)
        )

    @property
    def smtp_host(self) -> str:
        return HOST

    @property
    def mailpit_url(self) -> str:
        return f"http://{HOST}:{self.mailpit_http_port}"

    @property
    def sms_url(self) -> str:
        """The SMS sink: ``/2010-04-01/Accounts/{sid}/Messages.json``, ``/api/messages``."""
        return f"http://{HOST}:{self.sms_port}"

    @property
    def keycloak_url(self) -> str:
        return f"http://{HOST}:{self.keycloak_port}"

    @property
    def keycloak_issuer(self) -> str:
        """The dev realm's issuer: what Keycloak's tokens carry as ``iss``."""
        return f"{self.keycloak_url}/realms/dbt"

    @property
    def keycloak_jwks_url(self) -> str:
        return f"{self.keycloak_issuer}/protocol/openid-connect/certs"

    @property
    def keycloak_token_url(self) -> str:
        return f"{self.keycloak_issuer}/protocol/openid-connect/token"

    @property
    def console_url(self) -> str:
        return f"http://{HOST}:{self.console_port}"

    @property
    def prometheus_url(self) -> str:
        return f"http://{HOST}:{self.prometheus_port}"

    @property
    def alertmanager_url(self) -> str:
        return f"http://{HOST}:{self.alertmanager_port}"

    def api_port(self, service: str) -> int:
        check_service(service)
        return self.api_ports[SERVICES.index(service)]

    def api_url(self, service: str) -> str:
        return f"http://{HOST}:{self.api_port(service)}"

    def worker_metrics_port(self, service: str) -> int:
        check_service(service)
        return self.worker_metrics_ports[SERVICES.index(service)]

    def worker_metrics_url(self, service: str) -> str:
        return f"http://{HOST}:{self.worker_metrics_port(service)}/metrics"

    def ports(self) -> dict[str, int]:
        """Every port of the profile, keyed by what listens there."""
        result = {
            "kafka": self.kafka_port,
            "kafka-controller": self.kafka_controller_port,
            "ferretdb": self.mongodb_port,
            "postgres": self.postgres_port,
            "mailpit-smtp": self.smtp_port,
            "mailpit-http": self.mailpit_http_port,
            "sms-sink": self.sms_port,
            "keycloak": self.keycloak_port,
            CONSOLE: self.console_port,
            "prometheus": self.prometheus_port,
            "alertmanager": self.alertmanager_port,
            "ferretdb-metrics": self.ferretdb_metrics_port,
            "kafka-metrics": self.kafka_metrics_port,
        }
        for service in SERVICES:
            result[f"{service}-api"] = self.api_port(service)
            result[f"{service}-worker"] = self.worker_metrics_port(service)
        return result

    # -- directories -----------------------------------------------------------------------

    @property
    def local_dir(self) -> Path:
        return self.root / ".local"

    @property
    def data_dir(self) -> Path:
        """``.local/<name>/``; ``.local/test-<offset>/`` for a test profile with a port offset."""
        suffix = f"-{self.port_offset}" if self.port_offset else ""
        return self.local_dir / f"{self.name}{suffix}"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def run_dir(self) -> Path:
        """Pid files of the processes started by this profile's stacks."""
        return self.data_dir / "run"

    @property
    def metrics_root(self) -> Path:
        return self.data_dir / "metrics"

    def metrics_dir(self, service: str) -> Path:
        check_service(service)
        return self.metrics_root / service

    def log_file(self, process_name: str) -> Path:
        return self.log_dir / f"{process_name}.log"

    @property
    def jwt_public_key_file(self) -> Path:
        return self.local_dir / "secrets" / paths.JWT_PUBLIC_KEY.name

    @property
    def jwt_private_key_file(self) -> Path:
        return self.local_dir / "secrets" / paths.JWT_PRIVATE_KEY.name
