"""What the platform does at rest, scraped every 5 s by the local Prometheus: the broker's metrics
exporter queries only the MBeans its rules turn into metrics, and an api's readiness checks of the
broker and the database (run at each scrape) keep their connections."""

from __future__ import annotations

import re

import pymongo.errors
import pytest
import yaml

from dbt_shared.kafka_probe import KafkaProbe
from dbt_shared.storage import mongo
from devstack import paths


def _object_name(pattern: str) -> tuple[str, dict[str, str]]:
    """A rule's pattern ``domain<key=value, ...><>Attribute`` as (domain, its fixed keys)."""
    domain, keys = re.match(r"^([\w.]+)<([^>]*)>", pattern).groups()
    fixed = {}
    for part in keys.split(","):
        key, _, value = part.strip().partition("=")
        if re.fullmatch(r"[\w]+", value):  # a literal, not a capture or a class
            fixed[key] = value
    return domain, fixed


def _included(domain: str, fixed: dict[str, str], include: str) -> bool:
    inc_domain, _, inc_keys = include.partition(":")
    if inc_domain != domain:
        return False
    wanted = dict(part.split("=", 1) for part in inc_keys.split(",") if "=" in part)
    return all(fixed.get(key) == value for key, value in wanted.items())


def test_the_broker_exporter_reads_only_the_mbeans_its_rules_export():
    """Without ``includeObjectNames`` the JMX agent reads every attribute of every MBean of the
    broker at each scrape and drops what no rule names: 0.28 s of the broker's CPU per scrape,
    5.6% of a core at the local Prometheus' 5 s, the largest cost of a stack at rest."""
    config = yaml.safe_load(paths.KAFKA_METRICS_CONFIG.read_text())
    include = config.get("includeObjectNames")
    assert include, "the exporter would query every MBean of the broker at each scrape"
    for rule in config["rules"]:
        domain, fixed = _object_name(rule["pattern"])
        assert any(_included(domain, fixed, name) for name in include), rule["pattern"]
    # Each entry names a domain and a type: none is the whole broker again.
    assert all(":type=" in name and not name.startswith("*") for name in include)


class _FakeAdmin:
    """Stands in for kafka-python's admin client: counts what a probe asks of the broker."""

    def __init__(self, broker: dict) -> None:
        self.broker = broker
        broker["connections"] += 1

    def describe_cluster(self) -> dict:
        if not broker_up(self.broker):
            raise ConnectionError("broker away")
        return {"brokers": [{"node_id": 1}]}

    def close(self) -> None:
        self.broker["closed"] += 1


def broker_up(broker: dict) -> bool:
    return broker["up"]


def test_the_brokers_readiness_check_keeps_its_connection_between_scrapes():
    """Each scrape of an api runs its readiness checks (every 5 s locally): a new admin client
    per check was a connection, a handshake and a metadata bootstrap each time."""
    broker = {"up": True, "connections": 0, "closed": 0}
    probe = KafkaProbe("broker:9092", cache_s=0, connect=lambda _servers: _FakeAdmin(broker))
    for _ in range(5):
        probe()
    assert broker["connections"] == 1 and broker["closed"] == 0


def test_the_brokers_readiness_check_fails_while_it_is_away_and_passes_when_back():
    broker = {"up": True, "connections": 0, "closed": 0}
    probe = KafkaProbe("broker:9092", cache_s=0, connect=lambda _servers: _FakeAdmin(broker))
    probe()
    broker["up"] = False
    with pytest.raises(ConnectionError):
        probe()
    assert broker["closed"] == 1  # the broken client is dropped, not kept
    with pytest.raises(ConnectionError):
        probe()
    broker["up"] = True
    probe()  # a fresh client: ready again
    assert broker["connections"] == 3


def test_the_databases_readiness_ping_uses_the_processs_client(monkeypatch):
    """A client made per ping (each scrape) was a connection, a handshake and an ended session
    each time; the process's pooled client answers a ping on a connection it already holds."""
    made = []

    class CountingClient(mongo.MongoClient):
        def __init__(self, *args, **kwargs):
            made.append(args)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(mongo, "MongoClient", CountingClient)
    uri = "mongodb://127.0.0.1:9/?directConnection=true"  # nothing listens: every ping fails
    process = mongo.Mongo(uri)  # the process's client, as its bootstrap holds it
    for _ in range(3):
        with pytest.raises(pymongo.errors.PyMongoError):
            mongo.ping(process.client, timeout_ms=50)
    assert len(made) == 1
    process.close()
