"""The ops page: platform health for the organisation-wide ``ops`` role, never client data.

One screen per task (services, events, deliveries and response times), each with the alerts
firing now on top and its panels (``domain/ops_panels``, the same definitions as production's
Grafana dashboard) drawn from Prometheus' ``query_range`` by the console's server, for the range
picked (links: they work without JavaScript; htmx swaps only the screen). Every panel is one
query whatever its number of series, all at once; Prometheus or Alertmanager down is said on
the page and the rest still shows. The charts redraw themselves every 30 seconds while the page
is open (a poll, not the user's activity: the idle sign-out still comes).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, render_template, request

from console.domain import ops_alerts, ops_panels
from console.monitoring import MonitoringUnavailable, QueryRefused
from console.sessions import PASSIVE
from console.web import components, error_page, roles

blp = Blueprint("ops", __name__, url_prefix="/ops")

#: The element whose poll redraws the charts (htmx names it in ``HX-Trigger``).
POLL_TARGET = "ops-panels"
POLL_S = 30


@blp.get("", defaults={"screen": ops_panels.SERVICES.key})
@blp.get("/<screen>")
@roles("ops")
def screen(screen: str):
    chosen_screen = ops_panels.SCREENS_BY_KEY.get(screen)
    if chosen_screen is None:
        return error_page(404)
    range_key = request.args.get("range") or ops_panels.DEFAULT_RANGE
    chosen = ops_panels.RANGES.get(range_key)
    if chosen is None:
        # Nothing asked of Prometheus: the picker again, with what is wrong at it.
        return render_template(
            "ops/screen.html",
            **_frame(
                chosen_screen,
                ops_panels.RANGES[ops_panels.DEFAULT_RANGE],
                "Choose a time range from the list: the last "
                + ", the last ".join(r.label for r in ops_panels.RANGES.values())
                + ".",
            ),
            panels=[],
            alerts=None,
        ), 400
    if request.headers.get("HX-Trigger") == POLL_TARGET:
        g.setdefault(PASSIVE, True)
    return render_template(
        "ops/screen.html", **_frame(chosen_screen, chosen), **_read(chosen_screen, chosen)
    )


def _frame(
    chosen_screen: ops_panels.Screen, chosen: ops_panels.Range, range_error: str | None = None
) -> dict[str, Any]:
    return {
        "screen": chosen_screen,
        "screens": ops_panels.SCREENS,
        "chosen": chosen,
        "ranges": ops_panels.RANGES.values(),
        "poll_s": POLL_S,
        "poll_target": POLL_TARGET,
        "range_error": range_error,
    }


def _read(chosen_screen: ops_panels.Screen, chosen: ops_panels.Range) -> dict[str, Any]:
    """The screen's queries at once (one per panel, and the alerts), as the template shows them."""
    monitoring = components().monitoring
    start, end = ops_panels.window(chosen, components().clock.now())
    count = g.get("service_calls")
    calls = {
        panel.key: (
            lambda panel=panel: monitoring.query_range(
                ops_panels.query(panel, chosen), start, end, chosen.step_s, count
            )
        )
        for panel in chosen_screen.panels
    }
    calls["_alerts"] = lambda: monitoring.alerts(count)
    found = monitoring.gather(calls)

    panels = []
    for panel in chosen_screen.panels:
        answer = found[panel.key]
        shown: dict[str, Any] = {"panel": panel, "problem": None, "chart": None}
        if isinstance(answer, MonitoringUnavailable):
            shown["problem"] = "unavailable"
        elif isinstance(answer, QueryRefused):
            shown["problem"] = answer.error
        else:
            shown["chart"] = ops_panels.chart(panel, answer, start, end, chosen.step_s)
        panels.append(shown)

    answer = found["_alerts"]
    if isinstance(answer, MonitoringUnavailable | QueryRefused):
        alerts = None
    elif monitoring.alerts_source == "Alertmanager":
        alerts = ops_alerts.alerts_from_alertmanager(answer, components().settings.runbook_base_url)
    else:
        alerts = ops_alerts.alerts_from_prometheus(answer, components().settings.runbook_base_url)
    unavailable = {
        exc.system: exc.configured
        for exc in found.values()
        if isinstance(exc, MonitoringUnavailable)
    }
    return {
        "panels": panels,
        "alerts": alerts,
        "alerts_source": monitoring.alerts_source,
        # system -> configured (False: no URL given to the console)
        "unavailable": unavailable,
    }
