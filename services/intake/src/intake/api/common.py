"""What every intake api module documents the same way."""

from __future__ import annotations

from dbt_shared.idempotency import IDEMPOTENCY_DOC

__all__ = ["IDEMPOTENCY_DOC"]
