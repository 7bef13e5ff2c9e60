"""The events skills-group works with: contracts in ``dbt_shared.contracts.skills`` (it records
none yet) and intake's sites and programs, which it consumes."""

from __future__ import annotations

from dbt_shared.contracts import intake, skills
from dbt_shared.events.catalog import Catalog

SERVICE = "skills-group"
# The event types it publishes and consumes (their topics are created when the worker starts).
CATALOG = Catalog.of(intake, skills)
