"""Locally, as in Kubernetes (one metrics directory per pod), a service's api and worker each
keep their own Prometheus multiprocess directory: each /metrics exports only its own process's
series, so a sum over the two instances counts nothing twice."""

from __future__ import annotations

import dataclasses

from prometheus_client import CollectorRegistry, Gauge, generate_latest, multiprocess, values

from devstack.environment import service_env
from devstack.profile import Profile


def test_the_api_and_the_worker_of_a_service_write_to_directories_of_their_own(tmp_path):
    profile = dataclasses.replace(Profile.test(port_offset=0), root=tmp_path)
    api = service_env(profile, "skills-group", "api")["PROMETHEUS_MULTIPROC_DIR"]
    worker = service_env(profile, "skills-group", "worker")["PROMETHEUS_MULTIPROC_DIR"]
    assert api != worker
    assert not api.startswith(worker) and not worker.startswith(api)


def test_the_apis_metrics_do_not_show_the_workers_gauges(tmp_path, monkeypatch):
    profile = dataclasses.replace(Profile.test(port_offset=0), root=tmp_path)
    api = service_env(profile, "skills-group", "api")["PROMETHEUS_MULTIPROC_DIR"]
    worker = service_env(profile, "skills-group", "worker")["PROMETHEUS_MULTIPROC_DIR"]
    # the worker's timer sets a per-site gauge in its own directory
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", worker)
    values.ValueClass = values.get_value_class()
    try:
        gauge = Gauge(
            "dbt_test_waitlist", "w", ["site_id"], registry=None, multiprocess_mode="livemax"
        )
        gauge.labels("site-north").set(7)
    finally:
        monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
        values.ValueClass = values.get_value_class()

    def scrape(directory: str) -> str:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
        return generate_latest(registry).decode()

    assert 'dbt_test_waitlist{site_id="site-north"} 7.0' in scrape(worker)
    assert "dbt_test_waitlist" not in scrape(api)
