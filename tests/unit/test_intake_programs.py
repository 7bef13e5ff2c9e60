"""Program settings and the skills curriculum, as a program lead would configure them."""

from __future__ import annotations

import pytest

from intake.domain.programs import (
    cycle_weeks,
    default_settings,
    module_boundaries,
    parse_curriculum,
    settings_with,
    validate_curriculum,
)


def test_adult_defaults_follow_standard_dbt():
    settings = default_settings("adult")
    assert settings.consecutive_miss_limit == 4
    assert settings.late_minutes_count_as_absence == 15
    assert settings.prenotified_absences_count is True
    assert settings.twenty_four_hour_rule is True
    assert settings.coaching_ack_target_minutes == 15
    assert settings.group_capacity == 8
    assert settings.curriculum == "M2 DT6 M2 ER6 M2 IE6"


def test_the_adult_default_curriculum_is_24_weeks_with_joins_at_weeks_0_8_16():
    curriculum = default_settings("adult").curriculum
    assert cycle_weeks(curriculum) == 24
    assert module_boundaries(curriculum) == [0, 8, 16]


def test_adolescent_defaults_drop_the_24_hour_rule_and_teach_walking_the_middle_path():
    settings = default_settings("adolescent")
    assert settings.twenty_four_hour_rule is False
    assert settings.consecutive_miss_limit == 4
    blocks = validate_curriculum(settings.curriculum, "adolescent")
    assert ("WMP", 4) in blocks
    assert 18 <= cycle_weeks(settings.curriculum) <= 20
    assert module_boundaries(settings.curriculum) == [0, 5, 10, 15]


def test_an_unknown_program_kind_is_refused():
    with pytest.raises(ValueError, match="adult or adolescent"):
        default_settings("child")


def test_parse_curriculum_reads_modules_and_weeks_in_order():
    assert parse_curriculum("M2 DT6 m2 er6") == [("M", 2), ("DT", 6), ("M", 2), ("ER", 6)]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "e.g."),
        ("M2 XY6", "unknown module 'XY'"),
        ("M2 DT", "needs a week count"),
        ("M2 DT0", "at least one week"),
        ("M2 DT-3", "at least one week"),
        ("M2, DT6", "not a module with a week count"),
    ],
)
def test_malformed_curricula_are_refused_with_the_problem_named(text, problem):
    with pytest.raises(ValueError, match=problem):
        parse_curriculum(text)


def test_walking_the_middle_path_belongs_to_adolescent_programs_only():
    assert validate_curriculum("M1 WMP4", "adolescent") == [("M", 1), ("WMP", 4)]
    with pytest.raises(ValueError, match="adolescent programs only"):
        validate_curriculum("M2 DT6 M2 WMP4", "adult")


def test_a_curriculum_without_mindfulness_leaves_no_week_to_join():
    with pytest.raises(ValueError, match="mindfulness"):
        validate_curriculum("DT6 ER6 IE6", "adult")


def test_the_9_and_7_week_variant_puts_boundaries_at_each_mindfulness_block():
    curriculum = "M2 DT7 M2 ER7 M2 IE5"
    assert cycle_weeks(curriculum) == 25
    assert module_boundaries(curriculum) == [0, 9, 18]


def test_back_to_back_mindfulness_counts_as_one_join_point():
    assert module_boundaries("M1 M1 DT6 M2 ER6") == [0, 8]


def test_settings_can_be_overridden_within_their_ranges():
    settings = settings_with(
        "adult",
        {
            "consecutive_miss_limit": 3,
            "late_minutes_count_as_absence": 0,
            "prenotified_absences_count": False,
            "group_capacity": 9,
            "curriculum": "m2 dt7 m2 er7 m2 ie5",
        },
    )
    assert settings.consecutive_miss_limit == 3
    assert settings.late_minutes_count_as_absence == 0
    assert settings.prenotified_absences_count is False
    assert settings.group_capacity == 9
    assert settings.curriculum == "M2 DT7 M2 ER7 M2 IE5"
    assert settings.twenty_four_hour_rule is True  # untouched defaults stay


def test_adolescent_overrides_start_from_adolescent_defaults():
    settings = settings_with("adolescent", {"group_capacity": 6})
    assert settings.twenty_four_hour_rule is False
    assert "WMP" in settings.curriculum


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"consecutive_miss_limit": 0}, "between 1 and 12"),
        ({"consecutive_miss_limit": 13}, "between 1 and 12"),
        ({"late_minutes_count_as_absence": 121}, "between 0 and 120"),
        ({"coaching_ack_target_minutes": 0}, "between 1 and 1440"),
        ({"coaching_ack_target_minutes": 1441}, "between 1 and 1440"),
        ({"group_capacity": 21}, "between 1 and 20"),
        ({"group_capacity": "8"}, "whole number"),
        ({"group_capacity": True}, "whole number"),
        ({"twenty_four_hour_rule": "no"}, "true or false"),
        ({"curriculum": "M2 DT6 M2 WMP4"}, "adolescent programs only"),
        ({"max_members": 8}, "unknown program setting"),
    ],
)
def test_out_of_range_overrides_are_refused(overrides, problem):
    with pytest.raises(ValueError, match=problem):
        settings_with("adult", overrides)
