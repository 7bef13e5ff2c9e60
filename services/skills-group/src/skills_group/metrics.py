"""Skills Group's own Prometheus metrics (the shared ones, RED per route and the consumer's, come
from ``dbt_shared.metrics``). Labels: site id and program id, never a client id."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

_LABELS = ["site_id", "program_id"]


def _gauge(name: str, text: str) -> Gauge:
    return Gauge(f"dbt_skills_{name}", text, _LABELS, multiprocess_mode="livemax")


GROUPS = _gauge("groups", "Skills groups, per site and program")
SEATS = _gauge("seats", "Seats (capacity) of the groups")
FILL_RATIO = _gauge("fill_ratio", "Seats taken at each group's next entry point, of all seats")
WAITLIST = _gauge("waitlist_size", "Admitted clients waiting for a seat")
LONGEST_WAIT_DAYS = _gauge("longest_wait_days", "Days the longest-waiting client has waited")
AT_RISK = _gauge("clients_at_risk", "Members one miss below the program's limit")
ATTENDANCE_RATE = _gauge("attendance_rate_4w", "Sessions attended of sessions recorded, 4 weeks")
PLACEMENTS = Counter("dbt_skills_placements_total", "Clients placed in a group", ["placed_by"])
DISCHARGES = Counter("dbt_skills_discharges_total", "Memberships ended early", ["reason"])
