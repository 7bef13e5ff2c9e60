"""The chaos run's consumer-lag alert: the broker kept down under load until ConsumerLagGrowing
fires, is mailed, and resolves once the broker is back (see ``chaos.py``)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from devstack import Profile, Stack, monitoring
from tests.bench.chaos_load import Load, until

# -- the consumer-lag alert ----------------------------------------------------------------------
#: The alert a broker outage must raise (deploy/monitoring/rules/platform.yml), and the cap on
#: every rule's `for:` in this run's Prometheus (production waits minutes).
LAG_ALERT = "ConsumerLagGrowing"
ALERT_FOR_MAX = "30s"


@dataclass
class AlertTrail:
    """What the monitoring saw of one broker outage; times in seconds from the kill (fired,
    mailed) or from the broker's return (resolved, resolved mail); None: never seen."""

    outage_s: float  # at most
    down_s: float = 0.0  # the broker was down this long (less once the alert was mailed)
    posted: int = 0
    receiver: str = ""
    mailbox: str = ""
    fired: float | None = None
    mailed: float | None = None
    resolved: float | None = None
    resolved_mail: float | None = None


def lag_alert_on_broker_outage(stack: Stack, profile: Profile, load: Load, wait_s: float):
    """Kill the broker and keep it down for the trail's outage under ``load``, then start it;
    follow ConsumerLagGrowing through Alertmanager's API and Mailpit until it has resolved."""
    trail = AlertTrail(outage_s=load.total / load.rate)
    mailboxes = {r["name"]: r["local_email"] for r in monitoring.load_routes()["receivers"]}

    def mails(subject: str) -> bool:  # this outage's: not one seen before the kill
        found = monitoring.alert_mails(profile, trail.mailbox, LAG_ALERT)
        return any(m["Subject"].startswith(subject) and m["ID"] not in seen for m in found)

    def mailed() -> bool:
        if trail.mailed is None and trail.mailbox and mails("[FIRING"):
            trail.mailed = time.monotonic() - killed
        return trail.mailed is not None

    def fired() -> bool:
        alerts = monitoring.alerts_in_alertmanager(profile, LAG_ALERT)
        if alerts and trail.fired is None:
            trail.fired = time.monotonic() - killed
            trail.receiver = alerts[0]["receivers"][0]["name"]
            trail.mailbox = mailboxes[trail.receiver]
        return bool(alerts)

    # An alert of an earlier kill of this run must be over first, and its mails do not count.
    until(lambda: not monitoring.alerts_in_alertmanager(profile, LAG_ALERT), wait_s)
    seen = {
        m["ID"]
        for box in mailboxes.values()
        for m in monitoring.alert_mails(profile, box, LAG_ALERT)
    }
    load.start()
    time.sleep(5.0)  # referrals on their way before the kill
    stack.processes["kafka"].kill()
    killed = time.monotonic()
    # Down for the outage, or less once the alert has fired and been mailed.
    until(
        lambda: time.monotonic() - killed >= trail.outage_s or (fired() and mailed()),
        trail.outage_s + 5,
    )
    stack.restart("kafka", timeout=180)
    back = time.monotonic()
    trail.down_s = back - killed
    load.finish.set()
    if trail.fired is None:
        until(fired, wait_s)
    if trail.mailbox:
        until(mailed, wait_s)
    if trail.fired is not None and until(lambda: not fired(), wait_s):
        trail.resolved = time.monotonic() - back
        if until(lambda: mails("[RESOLVED]"), wait_s):
            trail.resolved_mail = time.monotonic() - back
    load.join()
    trail.posted = len(load.accepted)
    return trail


def report_lag_alert(trail: AlertTrail) -> int:
    def seconds(value: float | None, after: str) -> str:
        return "never" if value is None else f"{value:.1f} s after {after}"

    print()
    print(f"consumer-lag alert ({LAG_ALERT})")
    print(f"  broker down                   {trail.down_s:.1f} s (at most {trail.outage_s:.0f} s)")
    print(f"  referrals accepted meanwhile  {trail.posted}")
    print(f"  fired in Alertmanager         {seconds(trail.fired, 'the kill')}")
    print(f"  routed to                     {trail.receiver or '-'} ({trail.mailbox or '-'})")
    print(f"  mail in Mailpit               {seconds(trail.mailed, 'the kill')}")
    print(f"  resolved in Alertmanager      {seconds(trail.resolved, 'the broker returned')}")
    print(f"  resolved mail in Mailpit      {seconds(trail.resolved_mail, 'the broker returned')}")
    if None in (trail.fired, trail.mailed, trail.resolved, trail.resolved_mail):
        print("FAIL: the consumer-lag alert did not fire, reach the mail catcher and resolve")
        return 1
    print("PASS")
    return 0
