"""The demo organisation's first-start rule (``make run``/``make up``), without a stack: a
declined demo (``DEMO=0``) is remembered, and a stack started before is not looked at again.
Loading itself: tests/integration/test_demo_organisation.py."""

from __future__ import annotations

import dataclasses
from datetime import date

from devstack import Profile, demo


def _profile(tmp_path) -> Profile:
    # Ports where no stack of this project listens (a test stack's plus 27000): a call to a
    # service finds nothing there.
    return dataclasses.replace(Profile.test(port_offset=27000), root=tmp_path)


def test_declined_demo_starts_empty_and_later_starts_stay_so(tmp_path):
    profile = _profile(tmp_path)
    assert "DEMO=0" in demo.load_on_first_start(profile, wanted=False)
    assert demo.marker(profile).is_file()
    # the next start, demo wanted: no load, no call (the stack was started before)
    assert demo.load_on_first_start(profile, wanted=True) is None


def test_a_failed_first_load_says_how_to_try_again_and_leaves_no_marker(tmp_path):
    profile = _profile(tmp_path)
    message = demo.load_on_first_start(profile, wanted=True)  # no intake answers
    assert message is not None and "make demo" in message
    assert not demo.marker(profile).exists()


def test_the_group_starts_on_the_next_tuesday():
    assert demo.next_tuesday(date(2026, 12, 7)) == date(2026, 12, 8)  # a Monday
    assert demo.next_tuesday(date(2026, 12, 8)) == date(2026, 12, 15)  # a Tuesday: a week on
    assert demo.next_tuesday(date(2026, 12, 10)) == date(2026, 12, 15)


def test_the_sign_in_help_names_the_demo_sites_once_the_demo_is_loaded(tmp_path):
    from devstack.cli import _sign_in_help

    profile = _profile(tmp_path)
    before = _sign_in_help(profile)
    assert "carla (intake coordinator)" in before and "Site North" not in before
    demo.mark_loaded(profile, {"sites": 2})
    after = _sign_in_help(profile)
    assert profile.console_url in after
    assert "Site North (demo) and Site South (demo)" in after
