"""Prometheus and Alertmanager of the local stack, and the Alertmanager configurations.

Prometheus scrapes every api (``/metrics`` on its port) and every worker (its metrics port) of
the profile, and FerretDB's metrics handler (job ``ferretdb``), evaluates the rule files
production loads (``deploy/monitoring/rules/*.yml``) and sends what fires to the profile's
Alertmanager, which mails it to the local Mailpit.

The route tree has one source, ``deploy/monitoring/alertmanager/routes.yml``. From it come:

- :func:`local_alertmanager_config`: every receiver mails Mailpit (the address in routes.yml);
  the tree's timings (``group_wait``, ``group_interval``, ``repeat_interval``) are replaced by
  :data:`LOCAL_TIMINGS` so that a test or ``make chaos`` sees a notification in seconds; the
  matchers, receivers, grouping, ``continue`` and nesting are production's;
- :func:`production_alertmanager_config`: the receivers of ``receivers.production.yml``, written
  by ``python -m devstack.monitoring`` into ``deploy/k8s/components/monitoring/
  alertmanager-config.yaml`` (a Secret holding ``alertmanager.yaml``).

``python -m devstack.monitoring --check`` exits 1 when that file is not what routes.yml makes.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import sys
from pathlib import Path
from typing import Any

import requests
import yaml

from . import paths
from .profile import HOST, SERVICES, Profile

RULES_DIR: Path = paths.MONITORING_DIR / "rules"
ROUTES_FILE: Path = paths.MONITORING_DIR / "alertmanager" / "routes.yml"
PRODUCTION_RECEIVERS_FILE: Path = paths.MONITORING_DIR / "alertmanager" / "receivers.production.yml"
PRODUCTION_MANIFEST: Path = (
    paths.ROOT / "deploy" / "k8s" / "components" / "monitoring" / "alertmanager-config.yaml"
)
#: The Secret production's Alertmanager reads (its ``spec.configSecret``).
PRODUCTION_SECRET_NAME = "alertmanager-dbt-platform"

#: Scrape and rule evaluation. The test profile: every 5 s, so an alert's state follows a stopped
#: process within seconds in tests and ``make chaos``. The dev profile (``make run``): every 30 s,
#: as production's ServiceMonitors (the console's ops panels are made for it). Over 180 s of an
#: idle stack the 5 s scrapes cost Prometheus 0.86 % of a core, the broker's JMX exporter 0.33 %
#: and each api some 0.1 %, about 2 % of the stack's 7.6 %.
SCRAPE_INTERVAL = {"dev": "30s", "test": "5s"}
#: The route tree's timings, locally (replacing production's at every level that sets one).
LOCAL_TIMINGS: dict[str, str] = {
    "group_wait": "5s",
    "group_interval": "10s",
    "repeat_interval": "1h",
}
TIMING_KEYS = tuple(LOCAL_TIMINGS)
#: Sender of the local alert mails.
LOCAL_MAIL_FROM = "alertmanager@dbt.local"
#: Environment: cap every rule's ``for:`` locally at this duration (e.g. ``30s``), by loading
#: rewritten copies of the rule files; unset, Prometheus loads the files themselves.
ALERT_FOR_MAX_ENV = "DEVSTACK_ALERT_FOR_MAX"
#: Prometheus keeps this much locally (the test profile's data is wiped at every start).
RETENTION = "7d"

_DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNIT_SECONDS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1)


def duration_seconds(text: str) -> int:
    """A Prometheus duration (``1h30m``, ``90s``; whole seconds) in seconds."""
    match = _DURATION.match(str(text).strip())
    if not match or not any(match.groups()):
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(n) * unit for n, unit in zip(match.groups(), _UNIT_SECONDS, strict=True) if n)


# -- Alertmanager ----------------------------------------------------------------------------------


def load_routes(path: Path = ROUTES_FILE) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def _tree(routes: dict[str, Any]) -> dict[str, Any]:
    """What both configurations share: the route tree and the inhibit rules."""
    return {"route": copy.deepcopy(routes["route"]), "inhibit_rules": routes["inhibit_rules"]}


def _with_local_timings(route: dict[str, Any], *, root: bool) -> dict[str, Any]:
    local = {k: v for k, v in route.items() if k not in TIMING_KEYS and k != "routes"}
    if root or any(k in route for k in TIMING_KEYS):
        local.update(LOCAL_TIMINGS)
    if "routes" in route:
        local["routes"] = [_with_local_timings(r, root=False) for r in route["routes"]]
    return local


def local_alertmanager_config(profile: Profile, routes: dict[str, Any] | None = None) -> dict:
    """The local Alertmanager's configuration: production's tree, every receiver mailing the
    profile's Mailpit (plain SMTP on loopback)."""
    routes = routes or load_routes()
    config = _tree(routes)
    config["route"] = _with_local_timings(config["route"], root=True)
    return {
        "global": {
            "smtp_smarthost": f"{profile.smtp_host}:{profile.smtp_port}",
            "smtp_from": LOCAL_MAIL_FROM,
            "smtp_require_tls": False,
            "resolve_timeout": "1m",
        },
        **config,
        "receivers": [
            {
                "name": receiver["name"],
                "email_configs": [{"to": receiver["local_email"], "send_resolved": True}],
            }
            for receiver in routes["receivers"]
        ],
    }


def production_alertmanager_config(routes: dict[str, Any] | None = None) -> dict:
    routes = routes or load_routes()
    production = yaml.safe_load(PRODUCTION_RECEIVERS_FILE.read_text())
    return {"global": production["global"], **_tree(routes), "receivers": production["receivers"]}


def strip_timings(route: dict[str, Any]) -> dict[str, Any]:
    """A route tree without its timings (what the local and production trees share)."""
    stripped = {k: v for k, v in route.items() if k not in TIMING_KEYS and k != "routes"}
    if "routes" in route:
        stripped["routes"] = [strip_timings(r) for r in route["routes"]]
    return stripped


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line strings (the Secret's alertmanager.yaml reads as YAML)."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _dump(config: dict) -> str:
    return yaml.dump(config, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100)


_MANIFEST_HEADER = """\
# GENERATED by `python -m devstack.monitoring` from deploy/monitoring/alertmanager/routes.yml
# (the route tree, shared with the local stack's Alertmanager) and receivers.production.yml:
# edit those and run it again; tests/unit/test_alertmanager_routes.py fails on any drift.
#
# Production's Alertmanager configuration. The cluster's Alertmanager resource (Prometheus
# Operator) reads it with `spec.configSecret: {name}` and mounts the credentials
# with `spec.secrets: [alertmanager-dbt-credentials]` (keys smtp-password,
# pagerduty-clinical, pagerduty-platform; never committed).
"""


def production_manifest() -> str:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": PRODUCTION_SECRET_NAME,
            "labels": {
                "app.kubernetes.io/name": "dbt-platform-alertmanager",
                "app.kubernetes.io/part-of": "dbt-platform",
            },
        },
        "type": "Opaque",
        "stringData": {"alertmanager.yaml": _dump(production_alertmanager_config())},
    }
    return _MANIFEST_HEADER.format(name=PRODUCTION_SECRET_NAME) + _dump(secret)


# -- Prometheus ------------------------------------------------------------------------------------


def scrape_targets(profile: Profile) -> list[tuple[str, str, str, int]]:
    """``(job, service, kind, port)`` of every api and worker: the jobs are named as production's
    ServiceMonitors name them (``<service>`` for the api, ``<service>-worker``)."""
    targets = []
    for service in SERVICES:
        targets.append((service, service, "api", profile.api_port(service)))
        targets.append(
            (f"{service}-worker", service, "worker", profile.worker_metrics_port(service))
        )
    return targets


def exporter_jobs(profile: Profile) -> list[dict]:
    """Scrape jobs of the infrastructure's own exporters, for what this stack starts itself
    (not an external broker or MongoDB): the broker's JMX exporter agent (job ``kafka``:
    messages and bytes per topic, requests, partitions; rules in
    ``deploy/local/kafka/jmx-exporter.yml``; no Kafka exporter is served by the Go module proxy,
    and the workers' ``dbt_consumer_lag`` covers lag) and FerretDB's metrics handler (its
    ``/debug/metrics``: clients, requests by command, the PostgreSQL pool)."""
    jobs = []
    if not profile.is_external("kafka"):
        jobs.append(
            {
                "job_name": "kafka",
                "static_configs": [
                    {
                        "targets": [f"{HOST}:{profile.kafka_metrics_port}"],
                        "labels": {"kind": "broker"},
                    }
                ],
            }
        )
    if profile.is_external("ferretdb"):
        return jobs
    return [
        *jobs,
        {
            "job_name": "ferretdb",
            "metrics_path": "/debug/metrics",
            "static_configs": [
                {
                    "targets": [f"{HOST}:{profile.ferretdb_metrics_port}"],
                    "labels": {"kind": "database"},
                }
            ],
        },
    ]


def rule_files(profile: Profile) -> list[str]:
    """The rule files Prometheus loads: production's, or with ``DEVSTACK_ALERT_FOR_MAX`` set,
    copies under the profile's directory with every ``for:`` capped at that duration."""
    cap = os.environ.get(ALERT_FOR_MAX_ENV, "").strip()
    if not cap:
        return [str(RULES_DIR / "*.yml")]
    limit = duration_seconds(cap)
    out_dir = prometheus_dir(profile) / "rules"
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.yml"):
        old.unlink()
    for source in sorted(RULES_DIR.glob("*.yml")):
        content = yaml.safe_load(source.read_text()) or {}
        for group in content.get("groups", []):
            for rule in group.get("rules", []):
                if "for" in rule and duration_seconds(rule["for"]) > limit:
                    rule["for"] = cap
        (out_dir / source.name).write_text(_dump(content))
    return [str(out_dir / "*.yml")]


def prometheus_config(profile: Profile, rules: list[str] | None = None) -> dict:
    return {
        "global": {
            "scrape_interval": SCRAPE_INTERVAL[profile.name],
            "evaluation_interval": SCRAPE_INTERVAL[profile.name],
            "external_labels": {"stack": f"local-{profile.name}"},
        },
        "alerting": {
            "alertmanagers": [
                {"static_configs": [{"targets": [f"{HOST}:{profile.alertmanager_port}"]}]}
            ]
        },
        "rule_files": rules if rules is not None else [str(RULES_DIR / "*.yml")],
        "scrape_configs": [
            {
                "job_name": job,
                # The services put `service` on their own metrics, as production keeps it.
                "honor_labels": True,
                "metrics_path": "/metrics",
                "static_configs": [
                    {"targets": [f"{HOST}:{port}"], "labels": {"service": service, "kind": kind}}
                ],
            }
            for job, service, kind, port in scrape_targets(profile)
        ]
        + exporter_jobs(profile),
    }


# -- processes -------------------------------------------------------------------------------------


def prometheus_dir(profile: Profile) -> Path:
    return profile.data_dir / "prometheus"


def alertmanager_dir(profile: Profile) -> Path:
    return profile.data_dir / "alertmanager"


def write_prometheus_config(profile: Profile) -> Path:
    directory = prometheus_dir(profile)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "prometheus.yml"
    path.write_text(_dump(prometheus_config(profile, rule_files(profile))))
    return path


def write_alertmanager_config(profile: Profile) -> Path:
    directory = alertmanager_dir(profile)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "alertmanager.yml"
    path.write_text(_dump(local_alertmanager_config(profile)))
    return path


def prometheus_command(profile: Profile) -> list[str]:
    config = write_prometheus_config(profile)
    return [
        str(paths.PROMETHEUS_BIN),
        f"--config.file={config}",
        f"--storage.tsdb.path={prometheus_dir(profile) / 'data'}",
        f"--storage.tsdb.retention.time={RETENTION}",
        f"--web.listen-address={HOST}:{profile.prometheus_port}",
        f"--web.external-url={profile.prometheus_url}",
    ]


def alertmanager_command(profile: Profile) -> list[str]:
    config = write_alertmanager_config(profile)
    return [
        str(paths.ALERTMANAGER_BIN),
        f"--config.file={config}",
        f"--storage.path={alertmanager_dir(profile) / 'data'}",
        f"--web.listen-address={HOST}:{profile.alertmanager_port}",
        f"--web.external-url={profile.alertmanager_url}",
        # One instance: no gossip port (its default, 0.0.0.0:9094, would be shared by stacks).
        "--cluster.listen-address=",
    ]


# -- reading alerts (tests, make chaos) ------------------------------------------------------------


def alerts_in_alertmanager(profile: Profile, alertname: str) -> list[dict]:
    """The active alerts of that name the profile's Alertmanager holds (API v2)."""
    response = requests.get(
        f"{profile.alertmanager_url}/api/v2/alerts",
        params={"filter": f'alertname="{alertname}"', "active": "true", "silenced": "false"},
        timeout=5,
    )
    response.raise_for_status()
    return response.json()


def alert_mails(profile: Profile, to: str, alertname: str) -> list[dict]:
    """The mails Alertmanager sent to ``to`` about ``alertname`` that the profile's Mailpit
    holds (newest first): subjects ``[FIRING:n] <alertname> ...`` and ``[RESOLVED] ...``."""
    response = requests.get(
        f"{profile.mailpit_url}/api/v1/search",
        params={"query": f"to:{to} subject:{alertname}", "limit": 200},
        timeout=5,
    )
    response.raise_for_status()
    return [m for m in response.json().get("messages") or [] if alertname in m["Subject"]]


def missing() -> list[str]:
    """What ``make setup`` has not built yet of the monitoring."""
    return [str(p) for p in (paths.PROMETHEUS_BIN, paths.ALERTMANAGER_BIN) if not p.is_file()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.monitoring",
        description="write production's Alertmanager configuration from the one route tree",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if it is out of date")
    args = parser.parse_args(argv)
    wanted = production_manifest()
    current = PRODUCTION_MANIFEST.read_text() if PRODUCTION_MANIFEST.is_file() else ""
    if args.check:
        if current != wanted:
            print(f"{PRODUCTION_MANIFEST} is out of date: run python -m devstack.monitoring")
            return 1
        return 0
    if current != wanted:
        PRODUCTION_MANIFEST.write_text(wanted)
        print(f"wrote {PRODUCTION_MANIFEST.relative_to(paths.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
