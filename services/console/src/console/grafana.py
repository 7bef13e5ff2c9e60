"""The Grafana dashboard shipped for production, written from the ops page's own panel
definitions (``console.domain.ops_panels``), so the console and Grafana show the same queries:
``python -m console.grafana > deploy/k8s/components/monitoring/dashboards/dbt-platform.json``
(``make docs`` runs it; a unit test checks the committed file is what this prints).

One row per screen of the ops page, two time series a row; Grafana works out
``$__rate_interval`` itself. The data source is a dashboard variable, so the ConfigMap works
with whatever Prometheus data source the Grafana has.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from console.domain.ops_panels import SCREENS, Panel

UID = "dbt-platform-overview"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
WIDTH, HEIGHT = 12, 8  # Grafana's grid is 24 wide


def _timeseries(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    return {
        "type": "timeseries",
        "id": panel_id,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": HEIGHT, "w": WIDTH, "x": x, "y": y},
        "fieldConfig": {
            "defaults": {"unit": panel.unit, "custom": {"lineWidth": 1, "fillOpacity": 10}},
            "overrides": [],
        },
        "options": {
            "legend": {"displayMode": "table", "placement": "bottom", "calcs": ["mean", "max"]},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        "targets": [
            {"refId": "A", "expr": panel.expr, "legendFormat": panel.legend, "range": True}
        ],
    }


def dashboard() -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    y = 0
    for screen in SCREENS:
        panels.append(
            {
                "type": "row",
                "title": screen.title,
                "id": len(panels) + 1,
                "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
                "panels": [],
            }
        )
        y += 1
        for n, panel in enumerate(screen.panels):
            panels.append(_timeseries(panel, len(panels) + 1, (n % 2) * WIDTH, y + n // 2 * HEIGHT))
        y += (len(screen.panels) + 1) // 2 * HEIGHT
    return {
        "uid": UID,
        "title": "dbt platform: services and events",
        "description": (
            "The console's ops page, panel for panel (generated from"
            " console.domain.ops_panels by `make docs`: edit the panels there, not here)."
        ),
        "tags": ["dbt-platform"],
        "timezone": "utc",
        "editable": False,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-1h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                    "refresh": 1,
                }
            ]
        },
        "annotations": {"list": []},
        "panels": panels,
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2) + "\n"


def main() -> int:
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
