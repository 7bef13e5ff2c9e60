"""The attendance sheet in the facilitator's console: saved member by member as each is set
(htmx rows, the third miss marked), and plain form posts without JS.
"""

# ruff: noqa: F811 (the tests take the services fixture imported from console_groups_support)
from __future__ import annotations

from console_groups_support import (
    ANA,
    GROUP,
    MARISOL,
    S2,
    calls_to,
    csrf_of,
    services,  # noqa: F401
    sign_in,
    text,
)

from console.testing import page

# -- attendance ----------------------------------------------------------------------------------
ROSTER = [
    {
        "client_id": MARISOL,
        "enrollment_id": "enr-m",
        "status": "absent",
        "consecutive_misses": 2,
        "miss_limit": 4,
        "at_risk": False,
        "minutes_late": None,
        "reason": None,
    },
    {
        "client_id": ANA,
        "enrollment_id": "enr-a",
        "status": None,
        "consecutive_misses": 0,
        "miss_limit": 4,
        "at_risk": False,
        "minutes_late": None,
        "reason": None,
    },
]


def test_the_sheet_saves_one_member_as_it_is_set_and_marks_the_third_miss(clock, services):
    services.on("GET", "skills-group", f"/v1/sessions/{S2}/roster", page(ROSTER))
    services.on(
        "PUT",
        "skills-group",
        f"/v1/sessions/{S2}/attendance",
        {
            "session_id": S2,
            "records": [{"client_id": MARISOL, "status": "absent"}],
            "members": [
                {"client_id": MARISOL, "consecutive_misses": 3, "at_risk": True, "status": "active"}
            ],
        },
    )
    client = sign_in(clock, services)
    sheet = client.get(f"/groups/{GROUP}/sessions/{S2}/attendance").get_data(as_text=True)
    assert text(sheet).count("Present") == 2 and "At risk" not in text(sheet)
    assert 'hx-trigger="change"' in sheet and 'id="m-enr-m-absent"' in sheet

    row = client.post(
        f"/groups/{GROUP}/sessions/{S2}/attendance",
        data={
            "client_id": MARISOL,
            "enrollment_id": "enr-m",
            "name": "Marisol Quintanilla",
            "miss_limit": "4",
            "status": "absent",
        },
        headers={"HX-Request": "true", "X-CSRF-Token": csrf_of(sheet)},
    )

    fragment = row.get_data(as_text=True)
    assert row.status_code == 200 and "<html" not in fragment
    assert fragment.strip().startswith('<div class="console-member" id="m-enr-m"')
    assert "At risk: one miss from the limit" in text(fragment) and "Saved" in text(fragment)
    assert "Misses in a row: 3 of 4" in text(fragment)
    assert "/groups/grp-1/members/enr-m#outreach" in fragment  # outreach, one click
    (put,) = calls_to(services, "PUT", f"/v1/sessions/{S2}/attendance")
    assert put["body"] == {"records": [{"client_id": MARISOL, "status": "absent"}]}  # one member


def test_without_js_a_row_posts_and_the_sheet_returns_and_late_needs_its_minutes(clock, services):
    services.on("GET", "skills-group", f"/v1/sessions/{S2}/roster", page(ROSTER))
    services.on(
        "PUT",
        "skills-group",
        f"/v1/sessions/{S2}/attendance",
        {"session_id": S2, "records": [], "members": []},
    )
    client = sign_in(clock, services)
    token = csrf_of(client.get(f"/groups/{GROUP}/sessions/{S2}/attendance").get_data(as_text=True))
    base = {"csrf_token": token, "client_id": ANA, "enrollment_id": "enr-a", "name": "Ana Ortiz"}

    late = client.post(f"/groups/{GROUP}/sessions/{S2}/attendance", data={**base, "status": "late"})

    html = late.get_data(as_text=True)
    assert late.status_code == 422 and "Ana Ortiz: Enter how many minutes late" in text(html)
    assert 'id="m-enr-a-late" name="status" type="radio" value="late" checked' in html
    assert calls_to(services, "PUT", f"/v1/sessions/{S2}/attendance") == []  # nothing sent
    saved = client.post(
        f"/groups/{GROUP}/sessions/{S2}/attendance",
        data={**base, "status": "late", "minutes_late": "10"},
    )
    assert saved.status_code == 303
    assert saved.headers["Location"] == f"/groups/{GROUP}/sessions/{S2}/attendance#m-enr-a"
    (put,) = calls_to(services, "PUT", f"/v1/sessions/{S2}/attendance")
    assert put["body"]["records"] == [{"client_id": ANA, "status": "late", "minutes_late": 10}]
