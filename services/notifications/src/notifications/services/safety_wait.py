"""How long the oldest safety alert not sent yet has waited: an urgent delivery (a high-risk
screening's alert, a risk raised in coaching, a crisis page, a page to the clinician on call)
still waiting or retrying. The worker measures it every 15 s for SafetyAlertNotDelivered, which
fires past 5 minutes (``deploy/monitoring/rules/clinical.yml``)."""

from __future__ import annotations

from notifications import metrics
from notifications.bootstrap import Components


def report_safety_wait(components: Components) -> float:
    """Seconds the oldest urgent delivery not sent yet has waited (0: none waits), also set as
    ``dbt_notifications_safety_pending_oldest_seconds``."""
    made = components.repositories.deliveries.oldest_urgent_waiting()
    now = components.clock.now()
    waited = 0.0 if made is None else max((now - made).total_seconds(), 0.0)
    metrics.SAFETY_PENDING_OLDEST.set(waited)
    return waited
