"""Notifications on the real stack, SMS through the local Twilio-compatible sink: a client
enrolled in a group gets the welcome and, for a session 2 hours and 1 minute away, the 2-hour
reminder by SMS within a minute of its due time (at a site where it is daytime); moving a
session moves its reminder and nothing goes out at the old time; at a site where it is 03:00 an
SMS reminder is held until 08:00 while a crisis coaching request reaches the on-call clinician
by SMS at once; STOP stops SMS; no message, event or log holds a client's name or number.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from e2e_intake_clinic import LOW_RISK, new_referral, phone_of, zone_where_it_is

from dbt_shared.contracts import notifications as contract
from devstack.profile import SMS_AUTH_TOKEN
from notifications.domain.sms import signature
from support import Api, read_topic, wait_until

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def digits(number: str) -> str:
    return re.sub(r"\D", "", number)


def sms_to(profile, number: str) -> list[dict]:
    answer = requests.get(f"{profile.sms_url}/api/messages", timeout=5)
    return [m for m in answer.json() if digits(m["to"]) == digits(number)]


def make_site(platform, tokens, zone: str, label: str) -> dict:
    profile = platform.profile
    operator = Api(profile.api_url("intake"), tokens.operator())
    tag = uuid.uuid4().hex[:6]
    site_id = operator.post(
        "/v1/sites",
        json={
            "name": f"{label} {tag}",
            "timezone": zone,
            "intake_email": f"intake-{tag}@clinic.example.org",
            "clinical_lead": {"name": "Dr. Lead", "email": f"lead-{tag}@clinic.example.org"},
        },
    ).json()["id"]
    program = operator.post(f"/v1/sites/{site_id}/programs", json={"kind": "adult"}).json()
    clinicians = {}
    for n, name in enumerate(("therapist", "ana", "ben", "cleo", "dan", "oncall")):
        roles = ["therapist"] if name in ("therapist", "oncall") else ["facilitator"]
        answer = operator.post(
            f"/v1/sites/{site_id}/clinicians",
            json={
                "subject": f"idp|{name}-{tag}",
                "display_name": name.title(),
                "roles": roles,
                "languages": ["en"],
                "email": f"{name}-{tag}@clinic.example.org",
                "phone": f"+1 415 555 {(int(tag, 16) + n) % 10000:04d}",
            },
        )
        assert answer.status_code == 201, answer.text
        clinicians[name] = answer.json()
    skills = Api(profile.api_url("skills-group"), tokens.coordinator(site_id))
    wait_until(
        lambda: skills.get(f"/v1/sites/{site_id}/programs").json().get("items"),
        timeout=30,
        what="skills-group to learn the program",
    )
    return {
        "profile": profile,
        "zone": zone,
        "site_id": site_id,
        "program_id": program["id"],
        "clinicians": clinicians,
        "intake": Api(profile.api_url("intake"), tokens.coordinator(site_id)),
        "skills": skills,
        "notifications": Api(profile.api_url("notifications"), tokens.coordinator(site_id)),
        "coaching": Api(profile.api_url("coaching"), tokens.coordinator(site_id)),
    }


def group_at(site, starts: datetime, facilitators=("ana", "ben"), **more) -> dict:
    local = starts.astimezone(ZoneInfo(site["zone"]))
    body = {
        "site_id": site["site_id"],
        "program_id": site["program_id"],
        "name": f"Group {uuid.uuid4().hex[:4]}",
        "weekday": DAYS[local.weekday()],
        "start_time": local.strftime("%H:%M"),
        "duration_minutes": 60,
        "room": more.pop("room", "Room 2"),
        "facilitator_ids": [site["clinicians"][name]["id"] for name in facilitators],
        "starts_on": local.date().isoformat(),
        **more,
    }
    # skills-group learns the facilitators from intake's events: a 422 until it has
    answer = wait_until(
        lambda: (lambda r: r if r.status_code != 422 else None)(
            site["skills"].post("/v1/groups", json=body)
        ),
        timeout=30,
        what="skills-group to learn the facilitators",
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def admit(site, weekday: str) -> tuple[str, str]:
    """A referral taken through intake to admission, free all day on ``weekday``; answers
    (client id, the client's phone)."""
    tag = uuid.uuid4().hex[:6]
    rid = new_referral({"coordinator": site["intake"], "site_id": site["site_id"]}, tag)["id"]
    for path, body in (
        ("screenings", LOW_RISK),
        ("eligibility", {"decision": "eligible", "reason": "meets criteria"}),
        ("orientation", None),
        (
            "commitment",
            {
                "orientation_sessions": 2,
                "all_modes": True,
                "four_miss_rule": True,
                "consent_to_treatment": True,
            },
        ),
        ("therapist", {"clinician_id": site["clinicians"]["therapist"]["id"]}),
        ("admission", {"availability": [{"weekday": weekday, "start": "00:00", "end": "23:59"}]}),
    ):
        answer = site["intake"].post(f"/v1/referrals/{rid}/{path}", json=body)
        assert answer.status_code in (200, 201), f"{path}: {answer.text}"
    return rid, phone_of(tag)


def deliveries_of(site, client_id: str) -> list[dict]:
    answer = site["notifications"].get("/v1/deliveries", params={"recipient_id": client_id})
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


@pytest.fixture(scope="module")
def day_site(platform, tokens):
    return make_site(platform, tokens, zone_where_it_is(11), "Day Site")


@pytest.fixture(scope="module")
def night_site(platform, tokens):
    return make_site(platform, tokens, zone_where_it_is(3), "Night Site")


def test_the_welcome_and_the_two_hour_reminder_arrive_by_sms(day_site):
    site = day_site
    starts = (datetime.now(UTC) + timedelta(hours=2, minutes=1)).replace(second=0, microsecond=0)
    group_at(site, starts, capacity=1)
    weekday = DAYS[starts.astimezone(ZoneInfo(site["zone"])).weekday()]
    client_id, phone = admit(site, weekday)
    welcome = wait_until(lambda: sms_to(site["profile"], phone), timeout=60, what="the welcome")
    assert "Welcome" in welcome[0]["body"]
    due = starts - timedelta(hours=2)
    reminder = wait_until(
        lambda: [m for m in sms_to(site["profile"], phone) if "Reminder" in m["body"]],
        timeout=max(30.0, (due - datetime.now(UTC)).total_seconds() + 60),
        what="the 2-hour reminder",
    )
    received = datetime.fromisoformat(reminder[0]["received_at"])
    assert received - due < timedelta(minutes=1)
    local = starts.astimezone(ZoneInfo(site["zone"])).strftime("%H:%M")
    assert local in reminder[0]["body"] and reminder[0]["body"].endswith("Reply STOP to opt out.")
    site["first"] = {"client_id": client_id, "phone": phone}


def test_moving_a_session_moves_its_reminder(day_site):
    site = day_site
    starts = (datetime.now(UTC) + timedelta(hours=2, minutes=2)).replace(second=0, microsecond=0)
    group = group_at(site, starts, facilitators=("cleo", "dan"), room="Room 7")
    weekday = DAYS[starts.astimezone(ZoneInfo(site["zone"])).weekday()]
    client_id, phone = admit(site, weekday)
    wait_until(lambda: sms_to(site["profile"], phone), timeout=60, what="the welcome")
    reminder = wait_until(
        lambda: [d for d in deliveries_of(site, client_id) if d["purpose"] == "session_reminder"],
        timeout=30,
        what="the planned reminders",
    )
    session_id = reminder[0]["session_id"]
    later = starts + timedelta(hours=1)
    moved = site["skills"].request(
        "PATCH", f"/v1/sessions/{session_id}", json={"starts_at": later.isoformat()}
    )
    assert moved.status_code == 200, moved.text
    wait_until(
        lambda: any(d["purpose"] == "session_rescheduled" for d in deliveries_of(site, client_id)),
        timeout=30,
        what="the notice of the move",
    )
    two_hours = [
        d
        for d in deliveries_of(site, client_id)
        if d["purpose"] == "session_reminder" and d["status"] == "scheduled"
    ]
    assert any(datetime.fromisoformat(d["due_at"]) == later - timedelta(hours=2) for d in two_hours)
    old_due = starts - timedelta(hours=2)
    wait_until(
        lambda: datetime.now(UTC) > old_due + timedelta(seconds=45),
        timeout=200,
        what="the old due time to pass",
    )
    assert not [m for m in sms_to(site["profile"], phone) if "Reminder" in m["body"]]
    assert group["id"]


def test_at_3am_a_reminder_is_held_while_a_crisis_request_reaches_the_on_call_clinician(
    night_site, tokens
):
    site = night_site
    starts = (datetime.now(UTC) + timedelta(days=1, minutes=2)).replace(second=0, microsecond=0)
    group_at(site, starts)
    weekday = DAYS[starts.astimezone(ZoneInfo(site["zone"])).weekday()]
    client_id, phone = admit(site, weekday)
    held = wait_until(
        lambda: [
            d
            for d in deliveries_of(site, client_id)
            if d["purpose"] == "session_reminder" and d["status"] == "held"
        ],
        timeout=240,
        what="the 24-hour reminder, held for the night",
    )
    assert held and not [m for m in sms_to(site["profile"], phone) if "Reminder" in m["body"]]

    oncall = site["clinicians"]["oncall"]
    all_day = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in DAYS]
    site["coaching"].request(
        "PUT", f"/v1/sites/{site['site_id']}/coaching-hours", json={"hours": all_day}
    )
    rota = {"primary": [{**w, "clinician_id": oncall["id"]} for w in all_day], "backup": []}
    assert (
        site["coaching"].request("PUT", f"/v1/sites/{site['site_id']}/rota", json=rota).status_code
        == 200
    )
    client = Api(site["profile"].api_url("coaching"), tokens.role("client", sub=client_id))
    wait_until(
        lambda: client.get(f"/v1/clients/{client_id}/goals").status_code == 200,
        timeout=30,
        what="coaching to learn the client",
    )
    crisis = client.post("/v1/coaching-requests", json={"kind": "crisis"})
    assert crisis.status_code == 201, crisis.text
    paged = wait_until(
        lambda: sms_to(site["profile"], oncall["phone"]),
        timeout=30,
        what="the on-call clinician's SMS",
    )
    assert "988" in paged[0]["body"]


def test_stop_stops_sms_and_nothing_names_a_client(day_site, tokens):
    site = day_site
    first = site.get("first")
    assert first, "the reminder test runs first"
    url = site["profile"].api_url("notifications") + "/v1/sms/inbound"
    form = {"From": first["phone"].replace(" ", ""), "Body": "STOP"}
    forged = requests.post(url, data=form, headers={"X-Twilio-Signature": "forged"}, timeout=5)
    assert forged.status_code == 403
    signed = requests.post(
        url,
        data=form,
        headers={"X-Twilio-Signature": signature(SMS_AUTH_TOKEN, url, form)},
        timeout=5,
    )
    assert signed.status_code == 200, signed.text
    before = len(sms_to(site["profile"], first["phone"]))
    session = next(
        d for d in deliveries_of(site, first["client_id"]) if d["purpose"] == "session_reminder"
    )["session_id"]
    cancelled = site["skills"].post(
        f"/v1/sessions/{session}/cancellation", json={"reason": "Facilitator ill"}
    )
    assert cancelled.status_code == 200, cancelled.text
    wait_until(
        lambda: any(
            d["purpose"] == "session_cancelled" and d["status"] in ("failed", "sent")
            for d in deliveries_of(site, first["client_id"])
        ),
        timeout=30,
        what="the cancellation notice to be tried",
    )
    assert len(sms_to(site["profile"], first["phone"])) == before

    messages = requests.get(f"{site['profile'].sms_url}/api/messages", timeout=5).json()
    assert not [m for m in messages if "Given" in m["body"] or "Family" in m["body"]]
    events = read_topic(site["profile"].kafka_bootstrap, contract.TOPIC.name)
    assert not [r for r in events if digits(first["phone"]).encode() in r.value]
    log = (site["profile"].log_dir / "notifications-worker.log").read_text()
    assert first["phone"] not in log and digits(first["phone"]) not in log


def test_a_stop_from_a_number_typed_without_its_country_code_shows_and_a_replay_is_ignored(
    platform, tokens
):
    """A coordinator at a Chicago site types the client's number as "312 555 ...": intake stores
    it in E.164, so the provider's STOP (From in E.164) is the client's, their preferences show
    it, a replayed STOP does not undo their START, and each read is on notifications' trail."""
    profile = platform.profile
    operator = Api(profile.api_url("intake"), tokens.operator())
    tag = uuid.uuid4().hex[:6]
    site_id = operator.post(
        "/v1/sites",
        json={
            "name": f"Chicago {tag}",
            "timezone": "America/Chicago",
            "intake_email": f"intake-{tag}@clinic.example.org",
        },
    ).json()["id"]
    national = f"312 555 {int(tag, 16) % 10000:04d}"
    coordinator = Api(profile.api_url("intake"), tokens.coordinator(site_id))
    client_id = new_referral({"coordinator": coordinator, "site_id": site_id}, tag)["id"]
    fixed = coordinator.request(
        "PATCH", f"/v1/referrals/{client_id}", json={"client": {"phone": national}}
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["client"]["phone"] == "+1" + digits(national)

    mine = Api(profile.api_url("notifications"), tokens.role("client", sub=client_id))
    shown = mine.get(f"/v1/preferences/{client_id}").json()
    assert shown["sms_opted_out"] is False and shown["preferred_channel"] == "sms"
    assert shown["language"] == "es" and shown["timezone"] == "America/Chicago"

    url = profile.api_url("notifications") + "/v1/sms/inbound"

    def text(body: str, sid: str) -> None:
        form = {"From": "+1" + digits(national), "Body": body, "MessageSid": sid}
        answer = requests.post(
            url,
            data=form,
            headers={"X-Twilio-Signature": signature(SMS_AUTH_TOKEN, url, form)},
            timeout=5,
        )
        assert answer.status_code == 200, answer.text

    stop, start = f"SM{tag}{'1' * 26}", f"SM{tag}{'2' * 26}"
    text("STOP", stop)
    assert mine.get(f"/v1/preferences/{client_id}").json()["sms_opted_out"] is True
    text("START", start)
    text("STOP", stop)  # the same signed request again
    assert mine.get(f"/v1/preferences/{client_id}").json()["sms_opted_out"] is False

    trail = Api(profile.api_url("notifications"), tokens.operator()).get(
        "/v1/audit", params={"object_id": client_id, "limit": 50}
    )
    assert trail.status_code == 200, trail.text
    reads = [r for r in trail.json()["items"] if r["action"] == "preferences.read"]
    assert len(reads) == 3 and {r["actor"] for r in reads} == {client_id}
