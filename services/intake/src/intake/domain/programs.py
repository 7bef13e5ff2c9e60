"""Settings of a DBT program (adult or adolescent) and its skills curriculum.

The defaults are standard DBT practice; every one is a per-program setting because programs
differ. A curriculum is written as module codes with week counts, e.g. "M2 DT6 M2 ER6 M2 IE6":
M mindfulness, DT distress tolerance, ER emotion regulation, IE interpersonal effectiveness,
WMP walking the middle path (adolescent programs only). New members join only where a
mindfulness block starts (rolling admission), so those weeks are the module boundaries.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from dbt_shared import vocabulary

# The kinds of program a site can run.
PROGRAM_KINDS = vocabulary.PROGRAM_KINDS

MODULES = {
    "M": "mindfulness",
    "DT": "distress tolerance",
    "ER": "emotion regulation",
    "IE": "interpersonal effectiveness",
    "WMP": "walking the middle path",
}
ADOLESCENT_ONLY_MODULES = frozenset({"WMP"})

# Linehan's standard adult cycle: three 8-week blocks, each opened by 2 weeks of mindfulness.
ADULT_CURRICULUM = "M2 DT6 M2 ER6 M2 IE6"
# The longest curriculum text: ten times the standard one. Nothing parses a longer text.
CURRICULUM_MAX = 200
# A default to change per program: a 20-week adolescent cycle in the style of Rathus & Miller's
# DBT skills for adolescents, each module opened by a week of mindfulness and Walking the Middle
# Path as the fifth module. Adolescent programs commonly run 18-20 (some 24) weeks.
ADOLESCENT_CURRICULUM = "M1 DT4 M1 ER4 M1 IE4 M1 WMP4"

# Allowed ranges of the numeric settings, inclusive.
SETTING_RANGES = {
    "consecutive_miss_limit": (1, 12),
    "late_minutes_count_as_absence": (0, 120),
    "coaching_ack_target_minutes": (1, 1440),
    "group_capacity": (1, 20),
    # how far ahead rolling admission looks for a seat before a client waits instead
    "placement_horizon_weeks": (1, 52),
}
SWITCHES = ("prenotified_absences_count", "twenty_four_hour_rule")
# Settings that take one of a few values. ``closure_policy``: a site closure shifts the day's
# session and every later one by a week (the standard, no curriculum week lost), or skips it.
CHOICES = {"closure_policy": ("shift", "skip")}

_BLOCK = re.compile(r"([A-Za-z]+)(-?\d+)?")


@dataclass(frozen=True)
class ProgramSettings:
    consecutive_miss_limit: int = 4  # Linehan's four-miss rule
    late_minutes_count_as_absence: int = 15
    prenotified_absences_count: bool = True
    # After self-harm, no non-emergency contact with the therapist for 24 hours. The safety
    # route stays open whatever this says.
    twenty_four_hour_rule: bool = True
    coaching_ack_target_minutes: int = 15
    group_capacity: int = 8
    curriculum: str = ADULT_CURRICULUM
    closure_policy: str = "shift"
    placement_horizon_weeks: int = 12


def _check_kind(kind: str) -> None:
    if kind not in PROGRAM_KINDS:
        raise ValueError(f"a program is {' or '.join(PROGRAM_KINDS)}, got {kind!r}")


def default_settings(kind: str) -> ProgramSettings:
    """Standard DBT settings for an adult or adolescent program."""
    _check_kind(kind)
    if kind == "adolescent":
        # Many adolescent programs do not apply the 24-hour rule.
        return ProgramSettings(twenty_four_hour_rule=False, curriculum=ADOLESCENT_CURRICULUM)
    return ProgramSettings()


def parse_curriculum(text: str) -> list[tuple[str, int]]:
    """The curriculum's blocks in order, as (module code, weeks), e.g. [("M", 2), ("DT", 6)]."""
    # Messages name the block by its position, never repeat the text: a problem body echoes
    # no input.
    if not isinstance(text, str) or not text.split():
        raise ValueError('a curriculum lists modules with week counts, e.g. "M2 DT6 M2 ER6"')
    if len(text) > CURRICULUM_MAX:  # before any regex runs over it
        raise ValueError(f"a curriculum is at most {CURRICULUM_MAX} characters")
    blocks = []
    for number, token in enumerate(text.split(), start=1):
        found = _BLOCK.fullmatch(token)
        if found is None:
            raise ValueError(f"block {number} is not a module with a week count, such as DT6")
        code, weeks = found.group(1).upper(), found.group(2)
        if code not in MODULES:
            # The code is letters only, and the API's schema refuses an unknown one first.
            raise ValueError(
                f"block {number}: unknown module {code!r}; modules are {', '.join(MODULES)}"
            )
        if weeks is None:
            raise ValueError(f"block {number}: the {MODULES[code]} module needs a week count")
        if int(weeks) < 1:
            raise ValueError(f"block {number}: a module lasts at least one week")
        blocks.append((code, int(weeks)))
    return blocks


class ModuleNotInProgram(ValueError):
    """A module the program's kind does not teach (Walking the Middle Path in adult DBT)."""


def validate_curriculum(text: str, kind: str) -> list[tuple[str, int]]:
    """Parse a curriculum and check it suits the program; returns the blocks."""
    _check_kind(kind)
    blocks = parse_curriculum(text)
    if kind != "adolescent":
        for code, _weeks in blocks:
            if code in ADOLESCENT_ONLY_MODULES:
                raise ModuleNotInProgram(
                    f"{code} ({MODULES[code]}) is taught in adolescent programs only, "
                    f"not in a {kind} program"
                )
    if not any(code == "M" for code, _weeks in blocks):
        # Without a mindfulness block there is no week at which a new member may join.
        raise ValueError("a curriculum needs at least one mindfulness (M) block")
    return blocks


def cycle_weeks(text: str) -> int:
    """Length of one pass through the curriculum, in weeks."""
    return sum(weeks for _code, weeks in parse_curriculum(text))


def module_boundaries(text: str) -> list[int]:
    """0-based weeks of the cycle where a mindfulness block starts: where new members may join.

    Mindfulness blocks written back to back ("M1 M1") count as one block.
    """
    boundaries = []
    week = 0
    previous = None
    for code, weeks in parse_curriculum(text):
        if code == "M" and previous != "M":
            boundaries.append(week)
        week += weeks
        previous = code
    return boundaries


def _normalised(blocks: list[tuple[str, int]]) -> str:
    return " ".join(f"{code}{weeks}" for code, weeks in blocks)


class SettingRejected(ValueError):
    """A program setting out of its range or shape; ``field`` names it (``settings.<name>``).
    ``for_kind`` is true when the value is refused only because of the program's kind."""

    def __init__(self, field: str, message: str, *, for_kind: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.for_kind = for_kind


def settings_with(kind: str, overrides: dict[str, object]) -> ProgramSettings:
    """The program's default settings with the given ones changed, each checked for range."""
    settings = default_settings(kind)
    known = {f.name for f in dataclasses.fields(ProgramSettings)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise SettingRejected("settings", f"unknown program setting(s): {', '.join(unknown)}")
    changes: dict[str, object] = {}
    for name, value in overrides.items():
        if name in SETTING_RANGES:
            low, high = SETTING_RANGES[name]
            if isinstance(value, bool) or not isinstance(value, int):
                raise SettingRejected(
                    f"settings.{name}", f"{name} must be a whole number {low}-{high}"
                )
            if not low <= value <= high:
                raise SettingRejected(
                    f"settings.{name}", f"{name} must be between {low} and {high}"
                )
        elif name in SWITCHES:
            if not isinstance(value, bool):
                raise SettingRejected(f"settings.{name}", f"{name} must be true or false")
        elif name in CHOICES:
            if value not in CHOICES[name]:
                raise SettingRejected(
                    f"settings.{name}", f"{name} is one of {', '.join(CHOICES[name])}"
                )
        else:  # curriculum
            try:
                value = _normalised(validate_curriculum(value, kind))
            except ValueError as exc:
                raise SettingRejected(
                    "settings.curriculum", str(exc), for_kind=isinstance(exc, ModuleNotInProgram)
                ) from exc
        changes[name] = value
    return dataclasses.replace(settings, **changes)
