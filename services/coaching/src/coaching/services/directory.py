"""The read models coaching keeps from other services' events: clinicians and admitted clients
(``dbt_shared.read_models``, as every service keeps them), a client's therapist changes and
skills-group discharges (coaching's own). Keyed on ids: a redelivered event changes nothing."""

from __future__ import annotations

from typing import Any

from coaching.bootstrap import Components
from dbt_shared import read_models
from dbt_shared.errors import StaleWrite


def on_clinician_registered(data: dict[str, Any], c: Components) -> None:
    c.repositories.clinicians.register(data)


def on_client_admitted(data: dict[str, Any], c: Components) -> None:
    # A redelivered admission finds the client and changes nothing (a later change of
    # therapist comes as ``therapist.assigned``).
    read_models.admit(c.repositories.clients, data)


def on_therapist_assigned(data: dict[str, Any], c: Components) -> None:
    """A therapist change after admission (before it, ``client.admitted`` carries one)."""
    if c.repositories.client(data["referral_id"]) is not None:
        _change(c, data["referral_id"], therapist_id=data["therapist_id"])


def on_client_discharged(data: dict[str, Any], c: Components) -> None:
    """Skills group ended early (the miss limit): kept for the therapist's view; coaching and
    its crisis path stay open to the client."""
    if c.repositories.client(data["client_id"]) is not None:
        _change(c, data["client_id"], group_discharged_at=data["discharged_at"])


def _change(c: Components, client_id: str, **values: Any) -> None:
    for _ in range(5):
        current = c.repositories.client(client_id)
        if current is None:
            return
        try:
            c.repositories.clients.save({**current, **values})
            return
        except StaleWrite:
            continue
    raise StaleWrite("client")
