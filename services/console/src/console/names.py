"""Clients' names for a page: one display-names call to intake for the whole page, never one
per row (intake audits the call). A name goes only into a page's body, never a URL or a title."""

from __future__ import annotations

from collections.abc import Iterable

from console.client import UserCalls

#: Intake names at most this many clients per call: a page shows no more.
DISPLAY_NAMES_MAX = 100


def client_names(calls: UserCalls, client_ids: Iterable[str | None]) -> dict[str, str]:
    """Client id -> display name, for the page's clients (each asked once, in page order)."""
    wanted = list(dict.fromkeys(i for i in client_ids if i))[:DISPLAY_NAMES_MAX]
    if not wanted:
        return {}
    found = calls.look_up("intake", "/v1/clients/display-names", {"client_ids": wanted})
    return {item["client_id"]: item.get("display_name") for item in found.get("items") or []}
