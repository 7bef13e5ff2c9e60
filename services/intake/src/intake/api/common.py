"""What every intake api module documents the same way."""

from __future__ import annotations

IDEMPOTENCY_DOC = {
    "parameters": [
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            "description": "Retrying with the same key returns the first result.",
        }
    ]
}
