"""The local Kafka broker (KRaft, one node): its JVM command line with the JMX exporter agent,
its ``server.properties`` and its formatted storage, kept per profile and configuration so a
wiped test stack starts without formatting again."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import string
import subprocess
import tempfile
import uuid
from pathlib import Path

from . import paths
from .errors import StackError
from .profile import HOST, Profile

JVM_OPTS = (
    "-Xms256m",
    "-Xmx512m",
    "-XX:+UseG1GC",
    "-XX:TieredStopAtLevel=1",  # C1 only: faster start-up, plenty for a local broker
    "-Djava.awt.headless=true",
)


def java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if not found:
        raise StackError("`java` not found: install a JDK 17+ (Kafka runs on the JVM)")
    return found


def jmx_exporter() -> Path:
    """The broker's JMX exporter agent, copied into the broker's libs by setup (pom.xml)."""
    found = sorted(paths.KAFKA_LIBS.glob("jmx_prometheus_javaagent-*.jar"))
    if not found:
        raise StackError(f"no JMX exporter agent in {paths.KAFKA_LIBS}: run `make setup`")
    return found[-1]


def new_cluster_id() -> str:
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def command(profile: Profile) -> list[str]:
    """The broker's command line; its storage is made ready first (:func:`ensure_storage`)."""
    p = profile
    props = ensure_storage(p)
    return [
        java(),
        *JVM_OPTS,
        f"-Dlog4j2.configurationFile={paths.KAFKA_LOG4J_CONFIG}",
        f"-Dkafka.logs.file={p.log_file('kafka')}",
        f"-Dkafka.logs.dir={p.log_dir}",
        # Its JMX metrics for Prometheus (job "kafka"): the exporter agent, rules in its file.
        f"-javaagent:{jmx_exporter()}={HOST}:{p.kafka_metrics_port}:{paths.KAFKA_METRICS_CONFIG}",
        "-cp",
        f"{paths.KAFKA_LIBS}/*",
        "kafka.Kafka",
        str(props),
    ]


def render_properties(profile: Profile, log_dirs: Path) -> str:
    template = string.Template(paths.KAFKA_PROPERTIES_TEMPLATE.read_text())
    return template.substitute(
        broker_port=profile.kafka_port,
        controller_port=profile.kafka_controller_port,
        log_dirs=str(log_dirs),
    )


def ensure_storage(profile: Profile) -> Path:
    """Write server.properties; format the KRaft storage unless it already is.

    Formatting runs a JVM (a few seconds), so a formatted copy per profile and
    configuration is kept under ``.local/kafka/formatted/`` and copied into the (wiped)
    test data directory on the next start.
    """
    kafka_dir = profile.data_dir / "kafka"
    log_dirs = kafka_dir / "data"
    props_file = kafka_dir / "server.properties"
    kafka_dir.mkdir(parents=True, exist_ok=True)
    props_file.write_text(render_properties(profile, log_dirs))
    if (log_dirs / "meta.properties").is_file():
        return props_file

    placeholder = Path("/__devstack_log_dirs__")
    digest = hashlib.sha256(render_properties(profile, placeholder).encode())
    for jar in sorted(paths.KAFKA_LIBS.glob("kafka*.jar")):
        digest.update(jar.name.encode())
    formatted = paths.KAFKA_FORMATTED / f"{profile.name}-{digest.hexdigest()[:16]}"
    if not (formatted / "meta.properties").is_file():
        format_storage(profile, formatted)
    shutil.rmtree(log_dirs, ignore_errors=True)
    shutil.copytree(formatted, log_dirs)
    return props_file


def format_storage(profile: Profile, target: Path) -> None:
    paths.KAFKA_FORMATTED.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".format-", dir=paths.KAFKA_FORMATTED))
    try:
        props = work / "server.properties"
        props.write_text(render_properties(profile, work / "data"))
        log = profile.log_file("kafka-format")
        log.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            java(),
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
            new_cluster_id(),
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
