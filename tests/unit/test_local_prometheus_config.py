"""The local Prometheus (devstack.monitoring): its configuration passes ``promtool check config``
(with the rule files production loads), scrapes every api and worker of the profile under
production's job names, and sends alerts to the profile's Alertmanager. A missing promtool fails
(``make setup`` builds it)."""

from __future__ import annotations

import dataclasses
import subprocess

import pytest
import yaml

from devstack import SERVICES, Profile, monitoring, paths


def _promtool() -> str:
    assert paths.PROMTOOL_BIN.is_file(), f"{paths.PROMTOOL_BIN} is missing: run `make setup`"
    return str(paths.PROMTOOL_BIN)


@pytest.mark.parametrize("profile", [Profile.dev(), Profile.test(port_offset=300)], ids=str)
def test_promtool_accepts_the_configuration(tmp_path, profile):
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump(monitoring.prometheus_config(profile)))
    result = subprocess.run(
        [_promtool(), "check", "config", str(config)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_api_and_worker_is_scraped_under_productions_job_names():
    profile = Profile.test(port_offset=300)
    config = monitoring.prometheus_config(profile)
    jobs = {
        job["job_name"]: (job["static_configs"][0]["targets"], job["static_configs"][0]["labels"])
        for job in config["scrape_configs"]
    }
    expected = {}
    for service in SERVICES:
        api, worker = profile.api_port(service), profile.worker_metrics_port(service)
        expected[service] = ([f"127.0.0.1:{api}"], {"service": service, "kind": "api"})
        expected[f"{service}-worker"] = (
            [f"127.0.0.1:{worker}"],
            {"service": service, "kind": "worker"},
        )
    # And the infrastructure's own exporters: the broker's JMX agent, FerretDB's handler.
    expected["kafka"] = ([f"127.0.0.1:{profile.kafka_metrics_port}"], {"kind": "broker"})
    expected["ferretdb"] = (
        [f"127.0.0.1:{profile.ferretdb_metrics_port}"],
        {"kind": "database"},
    )
    assert jobs == expected
    alertmanagers = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert alertmanagers == [f"127.0.0.1:{profile.alertmanager_port}"]
    assert config["rule_files"] == [str(paths.ROOT / "deploy" / "monitoring" / "rules" / "*.yml")]


def test_monitoring_ports_move_with_the_test_profile_and_never_meet_the_broker():
    dev, test = Profile.dev(), Profile.test(port_offset=2100)
    assert (dev.prometheus_port, dev.alertmanager_port) == (9090, 9194)
    assert (test.prometheus_port, test.alertmanager_port) == (19090 + 2100, 19194 + 2100)
    for profile in (dev, test):
        ports = list(profile.ports().values())
        assert len(ports) == len(set(ports)), profile.ports()


def test_a_local_cap_shortens_long_for_windows_only(tmp_path, monkeypatch):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "platform.yml").write_text(
        yaml.safe_dump(
            {
                "groups": [
                    {
                        "name": "g",
                        "rules": [
                            {"alert": "Slow", "expr": "vector(1)", "for": "10m"},
                            {"alert": "Quick", "expr": "vector(1)", "for": "15s"},
                            {"alert": "Now", "expr": "vector(1)"},
                        ],
                    }
                ]
            }
        )
    )
    monkeypatch.setattr(monitoring, "RULES_DIR", rules)
    profile = dataclasses.replace(Profile.test(port_offset=0), root=tmp_path)

    monkeypatch.delenv(monitoring.ALERT_FOR_MAX_ENV, raising=False)
    assert monitoring.rule_files(profile) == [str(rules / "*.yml")]  # the files themselves

    monkeypatch.setenv(monitoring.ALERT_FOR_MAX_ENV, "30s")
    (pattern,) = monitoring.rule_files(profile)
    assert not pattern.startswith(str(rules))
    copied = yaml.safe_load(
        (profile.data_dir / "prometheus" / "rules" / "platform.yml").read_text()
    )
    fors = {r["alert"]: r.get("for") for r in copied["groups"][0]["rules"]}
    assert fors == {"Slow": "30s", "Quick": "15s", "Now": None}


def test_ferretdb_is_scraped_on_its_metrics_handler_when_the_stack_runs_it():
    for profile in (Profile.dev(), Profile.test(port_offset=300)):
        (job,) = [
            j
            for j in monitoring.prometheus_config(profile)["scrape_configs"]
            if j["job_name"] == "ferretdb"
        ]
        assert job["metrics_path"] == "/debug/metrics"
        assert job["static_configs"][0]["targets"] == [f"127.0.0.1:{profile.ferretdb_metrics_port}"]
    assert (
        Profile.dev().ferretdb_metrics_port,
        Profile.test(port_offset=300).ferretdb_metrics_port,
    ) == (
        8088,
        18088 + 300,
    )
    # An external MongoDB (no FerretDB of ours): no target that could only be down.
    external = dataclasses.replace(Profile.test(), external_mongodb="mongodb://db.example:27017/")
    jobs = [j["job_name"] for j in monitoring.prometheus_config(external)["scrape_configs"]]
    assert "ferretdb" not in jobs


def test_the_broker_is_scraped_on_its_jmx_exporter_when_the_stack_runs_it():
    for profile in (Profile.dev(), Profile.test(port_offset=300)):
        (job,) = [
            j
            for j in monitoring.prometheus_config(profile)["scrape_configs"]
            if j["job_name"] == "kafka"
        ]
        assert job["static_configs"][0]["targets"] == [f"127.0.0.1:{profile.kafka_metrics_port}"]
    assert (Profile.dev().kafka_metrics_port, Profile.test(port_offset=300).kafka_metrics_port) == (
        9308,
        19308 + 300,
    )
    # An external broker (not ours): no target that could only be down.
    external = dataclasses.replace(Profile.test(), external_kafka="broker.example:9092")
    jobs = [j["job_name"] for j in monitoring.prometheus_config(external)["scrape_configs"]]
    assert "kafka" not in jobs and "ferretdb" in jobs


def test_ferretdb_metrics_ports_collide_with_no_port_of_stacks_100_apart():
    """Test stacks of helpers and CI run side by side at offsets 100 apart, beside a dev stack."""
    profiles = [Profile.dev()] + [Profile.test(port_offset=n * 100) for n in range(0, 40)]
    for profile in profiles:
        others = {
            port for other in profiles if other is not profile for port in other.ports().values()
        }
        assert profile.ferretdb_metrics_port not in others, profile
        assert profile.kafka_metrics_port not in others, profile


def test_the_test_stack_scrapes_every_5_s_and_a_dev_stack_as_production_every_30_s():
    """Tests and ``make chaos`` see an alert follow a stopped process within seconds; a dev
    stack at rest scrapes as production does."""
    configs = {
        p.name: monitoring.prometheus_config(p)["global"]
        for p in (Profile.dev(), Profile.test(port_offset=300))
    }
    intervals = {
        name: (g["scrape_interval"], g["evaluation_interval"]) for name, g in configs.items()
    }
    assert intervals == {"dev": ("30s", "30s"), "test": ("5s", "5s")}
