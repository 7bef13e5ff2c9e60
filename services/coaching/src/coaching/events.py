"""The events coaching works with: contracts in ``dbt_shared.contracts.coaching`` (it records
none yet) and intake's sites and programs, which it consumes."""

from __future__ import annotations

from dbt_shared.contracts import coaching, intake
from dbt_shared.events.catalog import Catalog

SERVICE = "coaching"
# The event types it publishes and consumes (their topics are created when the worker starts).
CATALOG = Catalog.of(intake, coaching)
