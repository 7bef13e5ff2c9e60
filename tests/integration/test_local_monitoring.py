"""The test stack's Prometheus scrapes every api and worker, and an alert that fires reaches the
mail catcher through Alertmanager, by the route tree production uses, then resolves.

The alert here is a test-only rule (a worker's target down, ``for: 0s``) loaded by a second
Prometheus of this test only, beside the stack's, sending to the stack's Alertmanager: no rule
of this test is in the production rule files."""

from __future__ import annotations

import socket
import time
import uuid

import pytest
import requests
import yaml

from devstack import SERVICES, paths, ready
from devstack.monitoring import alert_mails, alerts_in_alertmanager, prometheus_config

pytestmark = pytest.mark.integration


def wait_until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except requests.RequestException as exc:  # still starting
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def _targets(prometheus_url: str) -> dict[str, str]:
    response = requests.get(f"{prometheus_url}/api/v1/targets", timeout=5)
    response.raise_for_status()
    return {t["labels"]["job"]: t["health"] for t in response.json()["data"]["activeTargets"]}


def test_prometheus_scrapes_every_api_and_worker(monitoring):
    profile = monitoring.profile
    wanted = {*SERVICES, *(f"{s}-worker" for s in SERVICES)}
    if not profile.is_external("ferretdb"):
        wanted.add("ferretdb")  # FerretDB's own metrics handler
    if not profile.is_external("kafka"):
        wanted.add("kafka")  # the broker's JMX exporter agent

    def all_up():
        targets = _targets(profile.prometheus_url)
        return targets if set(targets) == wanted and set(targets.values()) == {"up"} else None

    wait_until(all_up, 60, "every api and worker target up")
    # And the services' own metrics arrive under production's job and service labels.
    query = requests.get(
        f"{profile.prometheus_url}/api/v1/query",
        params={"query": 'count by (job) (up{job="intake-worker", service="intake"} == 1)'},
        timeout=5,
    ).json()
    assert [r["metric"]["job"] for r in query["data"]["result"]] == ["intake-worker"]
    if "ferretdb" in wanted:
        # FerretDB's request counters by command, from the services' own MongoDB traffic.
        def ferretdb_requests():
            result = requests.get(
                f"{profile.prometheus_url}/api/v1/query",
                params={"query": 'sum(ferretdb_client_requests_total{job="ferretdb"}) > 0'},
                timeout=5,
            ).json()["data"]["result"]
            return result or None

        wait_until(ferretdb_requests, 30, "FerretDB's request counters in Prometheus")
    if "kafka" in wanted:
        # The broker's messages in, per topic: the services' events (sites, referrals) landed.
        def broker_messages():
            result = requests.get(
                f"{profile.prometheus_url}/api/v1/query",
                params={"query": f"sum by (topic) ({BROKER_MESSAGES_IN}) > 0"},
                timeout=5,
            ).json()["data"]["result"]
            return result or None

        wait_until(broker_messages, 60, "the broker's messages per topic in Prometheus")


BROKER_MESSAGES_IN = 'kafka_server_brokertopicmetrics_messagesin_total{job="kafka"}'


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_firing_alert_reaches_the_mail_catcher_and_resolves(monitoring, tmp_path):
    profile, stack = monitoring.profile, monitoring.stack
    alertname = f"TestWorkerDown{uuid.uuid4().hex[:8]}"
    rules = tmp_path / "test-only.yml"
    rules.write_text(
        yaml.safe_dump(
            {
                "groups": [
                    {
                        "name": "test-only",
                        "rules": [
                            {
                                "alert": alertname,
                                "expr": 'up{job="skills-group-worker"} == 0',
                                "labels": {"severity": "critical", "team": "platform"},
                                "annotations": {"summary": "skills-group worker down"},
                            }
                        ],
                    }
                ]
            }
        )
    )
    port = _free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump(prometheus_config(profile, rules=[str(rules)])))
    stack.start_process(
        "prometheus-alert-test",
        [
            str(paths.PROMETHEUS_BIN),
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        probe=lambda: ready.http_ok(f"http://127.0.0.1:{port}/-/ready"),
    )
    worker = stack.process("skills-group", "worker")
    try:
        worker.stop(10)
        # platform + critical: platform-page, i.e. platform-oncall@ in the mail catcher.
        firing = wait_until(
            lambda: alerts_in_alertmanager(profile, alertname), 60, "the alert in AM"
        )
        assert firing[0]["labels"]["service"] == "skills-group"
        assert [r["name"] for r in firing[0]["receivers"]] == ["platform-page"]
        mail = wait_until(
            lambda: alert_mails(profile, "platform-oncall@dbt.local", alertname),
            60,
            "the alert's mail",
        )
        assert mail[-1]["Subject"].startswith("[FIRING:1]")
    finally:
        stack.start_service("skills-group", "worker", timeout=120)
    wait_until(lambda: not alerts_in_alertmanager(profile, alertname), 60, "the alert resolved")
    resolved = wait_until(
        lambda: [
            m
            for m in alert_mails(profile, "platform-oncall@dbt.local", alertname)
            if m["Subject"].startswith("[RESOLVED]")
        ],
        60,
        "the resolved mail",
    )
    assert len(resolved) == 1
    stack.processes["prometheus-alert-test"].stop(10)
