"""The alerts firing now, as Alertmanager (``GET /api/v2/alerts``) or Prometheus
(``GET /api/v1/alerts``) list them, for the ops page: name, severity, where (service, topic,
channel, job: bounded labels), since, summary and the runbook link. Plain code."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def runbook_link(url: str | None, base: str = "") -> str | None:
    """A runbook link the page may show: http(s), or a path on this host; a path in the
    repository as the rules give it (``docs/runbooks.md#workerdown``) joined to ``base``
    (``RUNBOOK_BASE_URL``, where the docs are published) when there is one. Nothing else
    (no ``javascript:``)."""
    if not url:
        return None
    if url.startswith(("https://", "http://")) or (url.startswith("/") and url[1:2] != "/"):
        return url
    if base.startswith(("https://", "http://")) and ":" not in url.split("/", 1)[0]:
        return urljoin(base.rstrip("/") + "/", url.lstrip("/"))
    return None


def _alert(
    labels: dict, annotations: dict, since: str | None, state: str, runbook_base: str
) -> dict[str, Any]:
    runbook = annotations.get("runbook_url") or annotations.get("runbook") or ""
    return {
        "name": labels.get("alertname", "Unnamed alert"),
        "severity": labels.get("severity", ""),
        "team": labels.get("team", ""),
        "where": ", ".join(
            f"{k} {labels[k]}" for k in ("service", "topic", "channel", "job") if labels.get(k)
        ),
        "summary": annotations.get("summary") or annotations.get("description") or "",
        "runbook": runbook_link(runbook, runbook_base),
        "runbook_text": runbook,
        "since": (since or "")[:16].replace("T", " ") + (" UTC" if since else ""),
        "state": state,
    }


def _ordered(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(alerts, key=lambda a: (SEVERITY_ORDER.get(a["severity"], 3), a["since"]))


def alerts_from_alertmanager(answer: Any, runbook_base: str = "") -> list[dict[str, Any]]:
    """Alertmanager's ``GET /api/v2/alerts?active=true``: those firing, silenced ones marked."""
    found = []
    for item in answer if isinstance(answer, list) else []:
        status = (item.get("status") or {}).get("state", "active")
        state = "silenced" if status == "suppressed" else "firing"
        labels, annotations = item.get("labels") or {}, item.get("annotations") or {}
        found.append(_alert(labels, annotations, item.get("startsAt"), state, runbook_base))
    return _ordered(found)


def alerts_from_prometheus(answer: Any, runbook_base: str = "") -> list[dict[str, Any]]:
    """Prometheus' ``GET /api/v1/alerts``: the firing ones (not those still pending)."""
    items = ((answer or {}).get("data") or {}).get("alerts") or []
    return _ordered(
        [
            _alert(
                a.get("labels") or {},
                a.get("annotations") or {},
                a.get("activeAt"),
                "firing",
                runbook_base,
            )
            for a in items
            if a.get("state") == "firing"
        ]
    )
