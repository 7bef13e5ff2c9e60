"""The one route tree (deploy/monitoring/alertmanager/routes.yml): production's Alertmanager
configuration (the Secret in deploy/k8s/components/monitoring/) and the local stack's are both
made from it, both pass ``amtool check-config``, and ``amtool config routes test`` sends every
kind of alert to the same receivers in both. A missing amtool fails (``make setup`` builds it).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from devstack import Profile, monitoring, paths

#: (labels, the receivers an alert with them reaches): what an ops team and a clinic rely on.
ROUTING = [
    ({"team": "clinical", "severity": "critical"}, "clinical-page,platform-page"),
    ({"team": "clinical", "severity": "warning"}, "clinical-tickets"),
    ({"team": "clinical", "severity": "info"}, "clinical-tickets"),
    ({"team": "platform", "severity": "critical"}, "platform-page"),
    ({"team": "platform", "severity": "warning"}, "platform-tickets"),
    ({"team": "platform", "severity": "info"}, "platform-tickets"),
    ({"alertname": "Unlabelled"}, "platform-tickets"),  # no label is lost: the root catches it
]


def _amtool() -> str:
    assert paths.AMTOOL_BIN.is_file(), f"{paths.AMTOOL_BIN} is missing: run `make setup`"
    return str(paths.AMTOOL_BIN)


def _production_config() -> dict:
    secret = yaml.safe_load(monitoring.PRODUCTION_MANIFEST.read_text())
    return yaml.safe_load(secret["stringData"]["alertmanager.yaml"])


@pytest.fixture(scope="module")
def configs(tmp_path_factory) -> dict[str, Path]:
    """The committed production configuration and both local profiles', as files."""
    directory = tmp_path_factory.mktemp("alertmanager")
    made = {
        "production": _production_config(),
        "dev": monitoring.local_alertmanager_config(Profile.dev()),
        "test": monitoring.local_alertmanager_config(Profile.test(port_offset=0)),
    }
    files = {}
    for name, config in made.items():
        files[name] = directory / f"{name}.yml"
        files[name].write_text(yaml.safe_dump(config, sort_keys=False))
    return files


@pytest.mark.parametrize("name", ["production", "dev", "test"])
def test_amtool_accepts_each_configuration(configs, name):
    result = subprocess.run(
        [_amtool(), "check-config", str(configs[name])], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("name", ["production", "dev"])
@pytest.mark.parametrize(("labels", "receivers"), ROUTING)
def test_an_alert_reaches_the_same_receivers_locally_and_in_production(
    configs, name, labels, receivers
):
    result = subprocess.run(
        [
            _amtool(),
            "config",
            "routes",
            "test",
            f"--config.file={configs[name]}",
            f"--verify.receivers={receivers}",
            *(f"{key}={value}" for key, value in labels.items()),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receivers


def test_the_committed_production_configuration_is_what_the_route_tree_makes():
    """Editing routes.yml (or receivers.production.yml) without regenerating fails here."""
    assert monitoring.PRODUCTION_MANIFEST.read_text() == monitoring.production_manifest(), (
        "run `python -m devstack.monitoring` and commit the result"
    )


def test_local_and_production_trees_differ_in_their_timings_only():
    production = _production_config()
    local = monitoring.local_alertmanager_config(Profile.dev())
    assert monitoring.strip_timings(local["route"]) == monitoring.strip_timings(production["route"])
    assert local["inhibit_rules"] == production["inhibit_rules"]
    assert [r["name"] for r in local["receivers"]] == [r["name"] for r in production["receivers"]]
    # Locally every notification comes within seconds; nothing waits longer than production.
    for key, value in monitoring.LOCAL_TIMINGS.items():
        assert monitoring.duration_seconds(value) <= monitoring.duration_seconds(
            production["route"][key]
        )


def test_local_receivers_mail_the_profiles_mail_catcher():
    profile = Profile.test(port_offset=7)
    config = monitoring.local_alertmanager_config(profile)
    assert config["global"]["smtp_smarthost"] == f"127.0.0.1:{profile.smtp_port}"
    for receiver in config["receivers"]:
        (email,) = receiver["email_configs"]
        assert email["to"].endswith("@dbt.local")
        assert email["send_resolved"] is True


def test_every_alert_rule_carries_the_labels_the_tree_routes_on():
    """A rule without team or severity would fall to the root's receiver unnoticed."""
    routed = {(labels.get("team"), labels.get("severity")) for labels, _ in ROUTING}
    rules = [
        rule
        for path in sorted(monitoring.RULES_DIR.glob("*.yml"))
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]
    assert rules, f"no alert rule in {monitoring.RULES_DIR}"
    unrouted = [
        rule["alert"]
        for rule in rules
        if (rule.get("labels", {}).get("team"), rule.get("labels", {}).get("severity"))
        not in routed
    ]
    assert not unrouted, f"rules without a routed team and severity: {unrouted}"
