"""What the therapist's charts draw, from coaching's answers: the diary card week and the
alliance line. Each gives the chart's data (drawn by ``static/charts.js`` with uPlot, read
from a JSON data block: no inline script) and the rows of the table behind it, which says the
same to a screen reader; plus the few sentences a therapist reads in ten seconds."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

STANDARD_TARGETS = {"suicide": "Suicide", "self_harm": "Self-harm", "substances": "Substances"}


def _label(code: str) -> str:
    """A code as words (``check_the_facts``: "Check the facts"); a client's own words as typed."""
    return STANDARD_TARGETS.get(code) or code.replace("_", " ").capitalize()


def shift_week(week: str, by: int) -> str:
    year, number = int(week[:4]), int(week[6:8])
    monday = date.fromisocalendar(year, number, 1) + timedelta(weeks=by)
    y, w, _ = monday.isocalendar()
    return f"{y}-W{w:02d}"


def diary_week(answer: dict[str, Any]) -> dict[str, Any]:
    """coaching's ``GET /v1/clients/{id}/diary-cards`` as a chart (distress 0-10 and each
    urge 0-5 per day, acted-on days marked) and a table (one row a day)."""
    days = answer.get("days") or []
    labels = [date.fromisoformat(d["date"]).strftime("%a %d") for d in days]
    targets: list[str] = []
    emotions: list[str] = []
    for d in days:
        for u in d.get("urges") or []:
            if u["target"] not in targets:
                targets.append(u["target"])
        for name in d.get("emotions") or {}:
            if name not in emotions:
                emotions.append(name)
    order = list(STANDARD_TARGETS)  # the standard targets first, then the client's own
    targets.sort(key=lambda t: (0, order.index(t), "") if t in order else (1, 0, t.casefold()))
    emotions.sort()

    def urge(d: dict, target: str) -> dict | None:
        return next((u for u in d.get("urges") or [] if u["target"] == target), None)

    series = [{"label": "Distress (0-10)", "values": [d.get("distress") for d in days]}]
    for target in targets:
        found = [urge(d, target) for d in days]
        series.append(
            {
                "label": f"Urge: {_label(target)} (0-5)",
                "values": [u["rating"] if u else None for u in found],
                "acted": [bool(u and u.get("acted")) for u in found],
            }
        )
    rows = []
    for d, label in zip(days, labels, strict=True):
        rows.append(
            {
                "label": label,
                "filled": d.get("filled", False),
                "distress": d.get("distress"),
                "emotions": [
                    (_label(name), d["emotions"][name])
                    for name in emotions
                    if name in (d.get("emotions") or {})
                ],
                "urges": [
                    (_label(t), u["rating"], bool(u.get("acted")))
                    for t in targets
                    if (u := urge(d, t)) is not None
                ],
                "skills": [_label(s) for s in d.get("skills_used") or []],
            }
        )
    filled = [d for d in days if d.get("filled")]
    acted = [
        f"{_label(t)} on {n} day{'s' if n != 1 else ''}"
        for t in targets
        if (n := sum(1 for d in days if (u := urge(d, t)) and u.get("acted")))
    ]
    peak = max(filled, key=lambda d: d.get("distress") or 0, default=None)
    summary = [f"{len(filled)} of 7 days filled in."]
    if peak is not None and peak.get("distress") is not None:
        summary.append(
            f"Highest distress {peak['distress']} of 10 on "
            f"{date.fromisoformat(peak['date']).strftime('%A')}."
        )
    summary.append("Acted on: " + ", ".join(acted) + "." if acted else "No urge acted on.")
    skills = sum(len(d.get("skills_used") or []) for d in days)
    summary.append(f"{skills} skill use{'s' if skills != 1 else ''} recorded.")
    return {
        "chart": {"labels": labels, "series": series},
        "rows": rows,
        "summary": summary,
        "emotions": [_label(e) for e in emotions],
        "any": bool(filled),
    }


def alliance(answer: dict[str, Any]) -> dict[str, Any]:
    """coaching's ``GET /v1/clients/{id}/alliance`` as a line of totals (0-40) against the
    client's own baseline, ruptures flagged on their check-in, with the repair noted."""
    ruptures = {
        r["checkin_id"]: r
        for r in (answer.get("open_ruptures") or []) + (answer.get("repaired_ruptures") or [])
    }
    points = []
    for p in answer.get("series") or []:
        rupture = ruptures.get(p["id"])
        points.append(
            {
                "date": (p.get("at") or "")[:10],
                "kind": p.get("session_kind"),
                "total": p.get("total"),
                "baseline": p.get("baseline"),
                "rupture": rupture,
            }
        )
    chart = {
        "labels": [p["date"] for p in points],
        "series": [
            {"label": "Alliance total (0-40)", "values": [p["total"] for p in points]},
            {"label": "Own baseline", "values": [p["baseline"] for p in points]},
        ],
        "ruptures": [n for n, p in enumerate(points) if p["rupture"]],
    }
    return {
        "chart": chart,
        "points": points,
        "open": answer.get("open_ruptures") or [],
        "repaired": answer.get("repaired_ruptures") or [],
    }
