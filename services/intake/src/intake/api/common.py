"""What every intake api module does the same way: the ``Idempotency-Key`` of a creating POST
(documented alike, kept by intake's ``Idempotency`` on its components)."""

from __future__ import annotations

from collections.abc import Callable

from dbt_shared import idempotency
from dbt_shared.idempotency import IDEMPOTENCY_DOC, Idempotency
from dbt_shared.web import components

__all__ = ["IDEMPOTENCY_DOC", "idempotent"]


def idempotent(on_replay: Callable[..., None] | None = None) -> Callable[[Callable], Callable]:
    """``dbt_shared.idempotency.idempotent`` on intake's keys; ``on_replay(resource_id,
    **view_kwargs)`` runs before a kept answer is given again."""
    return idempotency.idempotent(_idempotency, on_replay)


def _idempotency() -> Idempotency:
    return components().idempotency
