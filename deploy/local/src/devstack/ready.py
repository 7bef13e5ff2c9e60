"""Readiness probes. Each returns True when ready and raises or returns False otherwise."""

from __future__ import annotations

import contextlib
import logging
import socket
import urllib.error
import urllib.request


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def http_status(url: str, timeout: float = 2.0) -> int | None:
    """HTTP status of a GET (any status, 4xx/5xx included); None if nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError, ValueError):
        return None


def http_ok(url: str, timeout: float = 2.0) -> bool:
    return http_status(url, timeout) == 200


def http_answers(url: str, timeout: float = 2.0) -> bool:
    return http_status(url, timeout) is not None


@contextlib.contextmanager
def _quiet(logger_name: str):
    logger = logging.getLogger(logger_name)
    old = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(old)


def kafka_ready(bootstrap: str) -> bool:
    """A real metadata request is answered (KafkaAdminClient.list_topics)."""
    host, _, port = bootstrap.rpartition(":")
    if not port_open(host, int(port)):
        return False
    from kafka import KafkaAdminClient

    with _quiet("kafka"):
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            client_id="devstack-probe",
            request_timeout_ms=5000,
        )
        try:
            admin.list_topics()
            return True
        finally:
            admin.close()


def mongodb_ready(uri: str) -> bool:
    from pymongo import MongoClient

    client = MongoClient(uri, serverSelectionTimeoutMS=2000, connectTimeoutMS=1000)
    try:
        client.admin.command("ping")
        return True
    finally:
        client.close()


def mailpit_ready(url: str) -> bool:
    return http_ok(f"{url}/livez") or http_ok(f"{url}/api/v1/info")


def sms_sink_ready(url: str) -> bool:
    return http_ok(f"{url}/healthz")
