"""Intake's own metrics. Labels are bounded: program kind, risk level, stage, site id.

Never a client or referral id in a label.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REFERRALS_RECEIVED = Counter(
    "dbt_intake_referrals_received_total", "Referrals recorded", ["program"]
)
SCREENINGS = Counter(
    "dbt_intake_screenings_total", "Screenings recorded, by overall risk level", ["risk_level"]
)
ADMISSIONS = Counter("dbt_intake_admissions_total", "Clients admitted", ["program"])
WITHDRAWALS = Counter("dbt_intake_withdrawals_total", "Referrals withdrawn", ["reason"])
WAITLIST = Gauge(
    "dbt_intake_waitlist_size",
    "Referrals waiting, per site and stage",
    ["site_id", "stage"],
    multiprocess_mode="livemax",
)
DAYS_TO_ADMISSION = Histogram(
    "dbt_intake_referral_to_admission_days",
    "Days from referral to admission",
    ["program"],
    buckets=(1, 3, 7, 14, 21, 30, 45, 60, 90, 120, 180, 365),
)
