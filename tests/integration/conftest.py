"""Fixtures of the in-process event backbone tests: the topics made once, a publisher a test."""

from __future__ import annotations

import pytest

from dbt_shared.contracts import ALL_TOPICS, CATALOG
from dbt_shared.events.publisher import EventPublisher
from dbt_shared.events.topics import ensure_topics, with_dead_letters


@pytest.fixture(scope="module")
def topics(infra):
    ensure_topics(infra.kafka_bootstrap, with_dead_letters(ALL_TOPICS))


@pytest.fixture
def publisher(infra, topics):
    pub = EventPublisher(infra.kafka_bootstrap, "test", CATALOG)
    yield pub
    pub.close()
