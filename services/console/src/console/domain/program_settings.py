"""A program's settings as an operator reads them: a name, the rule in a sentence, and the
standard DBT value to show beside the site's own.

The standard values are intake's defaults (``intake.domain.programs.default_settings``); the
console does not import another service, so they are written here and a unit test holds the two
equal (tests/unit/test_console_pages.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    label: str
    rule: str
    unit: str = ""


SETTINGS = (
    Setting(
        "consecutive_miss_limit",
        "Consecutive missed sessions before discharge",
        "A client who misses this many group sessions in a row leaves the program "
        "(Linehan's four-miss rule).",
        "sessions",
    ),
    Setting(
        "late_minutes_count_as_absence",
        "Minutes late that count as an absence",
        "Arriving this many minutes late or more is recorded as a missed session.",
        "minutes",
    ),
    Setting(
        "prenotified_absences_count",
        "Absences told in advance count as misses",
        "When on, a session the client said they would miss still counts towards the miss rule.",
    ),
    Setting(
        "twenty_four_hour_rule",
        "24-hour rule",
        "After self-harm, no non-emergency contact with the therapist for 24 hours; the safety "
        "route stays open whatever this says.",
    ),
    Setting(
        "coaching_ack_target_minutes",
        "Coaching acknowledgement target",
        "The on-call clinician acknowledges a coaching request within this many minutes, or it "
        "is escalated.",
        "minutes",
    ),
    Setting(
        "group_capacity",
        "Group capacity",
        "The most clients one skills group takes; others wait for the next entry point.",
        "clients",
    ),
    Setting(
        "placement_horizon_weeks",
        "Placement horizon",
        "How far ahead rolling admission looks for a seat before the client joins the waitlist.",
        "weeks",
    ),
    Setting(
        "curriculum",
        "Curriculum",
        "The skills modules in order with their weeks; new members join where a mindfulness "
        "block starts.",
    ),
    Setting(
        "closure_policy",
        "When the site is closed",
        "Shift moves that session and every later one by a week, so no curriculum week is lost; "
        "skip drops it.",
    ),
)

_COMMON: dict[str, Any] = {
    "consecutive_miss_limit": 4,
    "late_minutes_count_as_absence": 15,
    "prenotified_absences_count": True,
    "twenty_four_hour_rule": True,
    "coaching_ack_target_minutes": 15,
    "group_capacity": 8,
    "curriculum": "M2 DT6 M2 ER6 M2 IE6",
    "closure_policy": "shift",
    "placement_horizon_weeks": 12,
}

#: Standard DBT values by program kind (adolescent programs: Rathus & Miller's 20-week cycle
#: with Walking the Middle Path, and commonly without the 24-hour rule).
STANDARD = {
    "adult": dict(_COMMON),
    "adolescent": {
        **_COMMON,
        "twenty_four_hour_rule": False,
        "curriculum": "M1 DT4 M1 ER4 M1 IE4 M1 WMP4",
    },
}


def shown(value: Any, setting: Setting) -> str:
    """A value in words: on/off for switches, with its unit for numbers."""
    if isinstance(value, bool):
        return "On" if value else "Off"
    if value is None:
        return "Not set"
    if setting.unit:
        return f"{value} {setting.unit}"
    return str(value).capitalize() if setting.name == "closure_policy" else str(value)


def rows(kind: str, settings: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per setting: label, rule, the program's value, the standard value, and whether
    the program departs from the standard."""
    standard = STANDARD.get(kind, STANDARD["adult"])
    out = []
    for setting in SETTINGS:
        value = settings.get(setting.name)
        out.append(
            {
                "setting": setting,
                "value": shown(value, setting),
                "standard": shown(standard[setting.name], setting),
                "differs": value is not None and value != standard[setting.name],
            }
        )
    return out
