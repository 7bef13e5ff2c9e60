"""Diary cards: what a client tracks each day, what flags risk, and the week the therapist reads.

A card is one local date: emotions rated 0-5, urges toward target behaviours (the standard three,
suicide, self-harm and substances, plus any the client and therapist add) rated 0-5 with whether
the client acted on them, the skills used that day (codes from the four modules), and overall
distress 0-10. Individual therapy opens with the card, so the weekly ``summary`` is what the
therapist reads first: averages, peaks, days acted, which skills got used, and where distress went.

Two things on a card are **risk**: acting on an urge to self-harm, and an urge to suicide rated
``RISK_URGE_RATING`` or more. Either flags the card for the therapist (and the 24-hour rule).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta

STANDARD_TARGETS = ("suicide", "self_harm", "substances")
TARGET_MAX = 60  # a personal target is a few words of the client's own
RISK_URGE_RATING = 4  # an urge to suicide rated this or more is a risk flag
SELF_HARM_ACTED, SUICIDE_URGE = "self_harm_acted", "suicide_urge"
OTHER = "other"  # skills_by_module key for codes no module lists

MODULES: dict[str, tuple[str, ...]] = {
    "mindfulness": (
        "wise_mind",
        "observe",
        "describe",
        "participate",
        "nonjudgmental",
        "one_mindfully",
        "effectively",
    ),
    "distress_tolerance": (
        "stop",
        "tipp",
        "accepts",
        "self_soothe",
        "improve",
        "pros_and_cons",
        "radical_acceptance",
        "turning_the_mind",
        "willingness",
    ),
    "emotion_regulation": (
        "check_the_facts",
        "opposite_action",
        "problem_solving",
        "abc_please",
        "accumulate_positives",
        "build_mastery",
        "cope_ahead",
    ),
    "interpersonal_effectiveness": ("dear_man", "give", "fast", "validation"),
}
_MODULE_OF = {skill: module for module, skills in MODULES.items() for skill in skills}
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def target_key(target: str) -> str:
    """What makes two targets the same one: case and spacing aside ("Licorice  binge" is
    "licorice binge"), so a card holds one entry per target."""
    return " ".join(target.split()).casefold()


def module_of(skill: str) -> str | None:
    return _MODULE_OF.get(skill)


def _number(value: object) -> float | None:
    # bool is an int to Python, never a rating to a clinician.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _urges(card: dict, target: str) -> list[dict]:
    return [
        urge
        for urge in card.get("urges") or ()
        if isinstance(urge, dict) and urge.get("target") == target
    ]


def self_harm_acted(card: dict) -> bool:
    return any(bool(urge.get("acted")) for urge in _urges(card, "self_harm"))


def suicide_urge_high(card: dict) -> bool:
    return any(
        (rating := _number(urge.get("rating"))) is not None and rating >= RISK_URGE_RATING
        for urge in _urges(card, "suicide")
    )


def risk_flags(card: dict) -> list[str]:
    """The card's risk flags, sorted: a subset of ["self_harm_acted", "suicide_urge"]."""
    flags = []
    if self_harm_acted(card):
        flags.append(SELF_HARM_ACTED)
    if suicide_urge_high(card):
        flags.append(SUICIDE_URGE)
    return sorted(flags)


def parse_week(text: str) -> tuple[date, date]:
    """``YYYY-Www`` (an ISO week, e.g. 2026-W49) -> (its monday, its sunday)."""
    # Bounded before the regex; no message repeats the text (a problem body echoes no input).
    match = _WEEK.match(text) if isinstance(text, str) and len(text) <= 8 else None
    if not match:
        raise ValueError("not an ISO week YYYY-Www (e.g. 2026-W49)")
    year, week = int(match[1]), int(match[2])
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        # Week 53 exists only in some years; week 00 in none.
        raise ValueError("no such ISO week that year (week 53 exists in some years only)") from None
    return monday, monday + timedelta(days=6)


def _card_date(card: dict) -> date | None:
    value = card.get("date")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 1)


def _trend(values: list[float]) -> str | None:
    """First half of the week against the second (the middle day of an odd count sits out):
    a shift of a whole point or more in the mean is a direction, less is noise."""
    if len(values) < 2:
        return None
    half = len(values) // 2
    first, second = sum(values[:half]), sum(values[len(values) - half :])
    # mean(second) - mean(first) >= 1, kept in sums so no float rounding decides a trend
    if second - first >= half:
        return "rising"
    if first - second >= half:
        return "falling"
    return "steady"


def _week_cards(cards: Iterable[dict], monday: date, sunday: date) -> list[tuple[date, dict]]:
    by_date: dict[date, dict] = {}
    for card in cards:
        day = _card_date(card)
        if day is not None and monday <= day <= sunday:
            by_date[day] = card  # a later card for the same date replaces the earlier one
    return sorted(by_date.items(), key=lambda item: item[0])


def summary(cards: Iterable[dict], week: str) -> dict:
    """The ISO ``week``'s cards summarized (cards of other dates ignored; one per date, the last
    given wins). Emotion and urge averages are over the cards that rated them; an urge is one
    per card (its highest rating, acted if any entry acted); a skill counts once a day."""
    monday, sunday = parse_week(week)
    days = _week_cards(cards, monday, sunday)

    emotions: dict[str, list[float]] = {}
    urges: dict[str, dict[str, list]] = {}
    skills: dict[str, dict] = {module: {"uses": 0, "skills": set()} for module in MODULES}
    distress: list[dict] = []
    for day, card in days:
        for name, rating in (card.get("emotions") or {}).items():
            if (value := _number(rating)) is not None:
                emotions.setdefault(name, []).append(value)
        targets = {
            u.get("target")
            for u in card.get("urges") or ()
            if isinstance(u, dict) and isinstance(u.get("target"), str)
        }
        for target in targets:
            entries = _urges(card, target)
            ratings = [r for u in entries if (r := _number(u.get("rating"))) is not None]
            tally = urges.setdefault(target, {"ratings": [], "acted": 0})
            if ratings:
                tally["ratings"].append(max(ratings))
            tally["acted"] += any(bool(u.get("acted")) for u in entries)
        for code in dict.fromkeys(card.get("skills_used") or ()):
            module = module_of(code) or OTHER
            entry = skills.setdefault(module, {"uses": 0, "skills": set()})
            entry["uses"] += 1
            entry["skills"].add(code)
        if (value := _number(card.get("distress"))) is not None:
            distress.append({"date": day.isoformat(), "distress": value})

    def target_order(target: str) -> tuple[int, str]:
        standard = target in STANDARD_TARGETS
        return (STANDARD_TARGETS.index(target) if standard else len(STANDARD_TARGETS), target)

    return {
        "week": week,
        "from": monday.isoformat(),
        "to": sunday.isoformat(),
        "days_filled": len(days),
        "emotions": {name: _mean(emotions[name]) for name in sorted(emotions)},
        "urges": {
            target: {
                "average": _mean(urges[target]["ratings"]) if urges[target]["ratings"] else 0.0,
                "max": int(max(urges[target]["ratings"], default=0)),
                "days_acted": urges[target]["acted"],
            }
            for target in sorted(urges, key=target_order)
        },
        "skills_by_module": {
            module: {"uses": entry["uses"], "skills": sorted(entry["skills"])}
            for module, entry in skills.items()
        },
        "distress": distress,
        "distress_trend": _trend([entry["distress"] for entry in distress]),
    }
