"""Notifications keep the client's choices, through the API on the in-memory wiring with real
tokens: a change names what it changes and keeps the rest (a facilitator's change does not wipe
a client's quiet hours or opt-out, two changes at once both hold); what a client told intake
(SMS, Spanish, the site's zone) is what they get until they choose otherwise; a STOP shows in
their preferences and a replayed webhook call changes nothing; every read of a person's
notification data is audited before the answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dbt_shared.contracts import CATALOG, skills
from dbt_shared.events.envelope import new_event
from notifications import bootstrap, services
from notifications.app import create_app
from notifications.domain import sms as sms_rules
from notifications.services import people, reminders

SITE, CLIENT, GROUP = "site-1", "client-1", "group-1"
PHONE = "+13125550101"
URL = "http://localhost/v1/sms/inbound"


@pytest.fixture
def notifications(clock):
    c = bootstrap.in_memory(clock)
    c.repositories.site_zones.zones[SITE] = "America/Chicago"
    c.repositories.enrollments.insert(
        {"_id": "enr-1", "client_id": CLIENT, "group_id": GROUP, "site_id": SITE}
    )
    # what intake answers for the client: SMS and Spanish chosen at intake, the site's zone
    c.contacts.people[CLIENT] = {
        "client_id": CLIENT,
        "site_id": SITE,
        "channels": {"email": "client@example.org", "sms": PHONE},
        "preferred_channel": "sms",
        "language": "es",
        "timezone": "America/Chicago",
    }
    return c


@pytest.fixture
def api(api_env, notifications):
    return create_app(notifications).test_client()


@pytest.fixture
def me(auth):
    return auth("client", [], CLIENT)


def prefs_of(api, headers) -> dict:
    answer = api.get(f"/v1/preferences/{CLIENT}", headers=headers)
    assert answer.status_code == 200, answer.json
    return answer.json


def inbound(api, c, body: str, sid: str | None):
    form = {"From": PHONE, "Body": body, **({"MessageSid": sid} if sid else {})}
    signature = sms_rules.signature(c.sms_auth_token, URL, form)
    answer = api.post("/v1/sms/inbound", data=form, headers={"X-Twilio-Signature": signature})
    assert answer.status_code == 200, answer.get_data(as_text=True)


# -- a change keeps what it does not name ----------------------------------------------------------
def test_a_facilitators_change_keeps_the_clients_quiet_hours_and_opt_out(api, me, auth):
    quiet = {"start": "21:30", "end": "08:00"}
    mine = api.put(
        f"/v1/preferences/{CLIENT}",
        json={"quiet_hours": quiet, "sms_opted_out": True},
        headers=me,
    )
    assert mine.status_code == 200, mine.json
    facilitator = auth("facilitator", SITE)
    theirs = api.put(
        f"/v1/preferences/{CLIENT}",
        json={"channels": {"attendance": ["email"]}},
        headers=facilitator,
    )
    assert theirs.status_code == 200, theirs.json
    shown = prefs_of(api, me)
    assert shown["quiet_hours"] == quiet and shown["sms_opted_out"] is True
    assert shown["channels"]["attendance"] == ["email"]
    assert shown["channels"]["reminders"] == ["sms"]  # the category not named keeps its value
    # quiet hours end only when someone names them as none
    cleared = api.put(f"/v1/preferences/{CLIENT}", json={"quiet_hours": None}, headers=me)
    assert cleared.json["quiet_hours"] is None and cleared.json["sms_opted_out"] is True


def test_two_changes_at_once_both_hold(notifications, me):
    """A facilitator's change lands between the client's read and write: the client's write
    starts again on the newer document and neither change is lost."""
    from dbt_shared.auth import Principal

    c = notifications
    store = c.repositories.preferences
    facilitator = Principal("fac", frozenset({"facilitator"}), frozenset({SITE}))
    client = Principal(CLIENT, frozenset({"client"}), frozenset())
    people.put_preferences(CLIENT, {"timezone": "America/Chicago"}, c, client)
    real_get, raced = store.get, []

    def get_with_a_writer_in_between(document_id):
        found = real_get(document_id)
        if not raced:  # the facilitator writes once, after the client read
            raced.append(True)
            people.put_preferences(CLIENT, {"language": "fr"}, c, facilitator)
        return found

    store.get = get_with_a_writer_in_between
    answer = people.put_preferences(
        CLIENT, {"quiet_hours": {"start": "22:00", "end": "07:00"}}, c, client
    )
    store.get = real_get
    assert answer["language"] == "fr"
    assert answer["quiet_hours"] == {"start": "22:00", "end": "07:00"}
    assert answer["timezone"] == "America/Chicago"
    assert raced, "the facilitator's change came between the read and the write"


def test_changing_a_sites_reminder_offsets_keeps_its_sms_window(api, auth):
    coordinator = auth("coordinator", SITE)
    path = f"/v1/sites/{SITE}/notification-settings"
    window = {"start": "09:00", "end": "20:00"}
    assert api.put(path, json={"sms_window": window}, headers=coordinator).status_code == 200
    answer = api.put(path, json={"reminder_offsets_minutes": [60]}, headers=coordinator)
    assert answer.status_code == 200, answer.json
    assert answer.json["sms_window"] == window and answer.json["reminder_offsets_minutes"] == [60]


def test_the_openapi_says_a_put_changes_only_what_it_names(api):
    put = api.get("/openapi.json").json["paths"]["/v1/preferences/{recipient_id}"]["put"]
    assert "keep their values" in put["summary"] and "partial update" in put["description"]


# -- the defaults follow intake -------------------------------------------------------------------
def test_preferences_follow_what_the_client_told_intake(api, me):
    shown = prefs_of(api, me)
    assert shown["preferred_channel"] == "sms" and shown["language"] == "es"
    assert shown["timezone"] == "America/Chicago"
    assert set(shown["channels"]["reminders"]) == {"sms"}


def session(starts: datetime) -> dict:
    return {
        "id": "sess-1",
        "group_id": GROUP,
        "site_id": SITE,
        "date": starts.astimezone(UTC).date().isoformat(),
        "starts_at": starts.isoformat(),
        "room": "Room 2",
        "status": "planned",
    }


def enroll(c, starts: datetime) -> None:
    data = {
        "enrollment_id": "enr-2",
        "client_id": CLIENT,
        "group_id": GROUP,
        "site_id": SITE,
        "program_id": "prog-1",
        "first_session_id": "sess-1",
        "first_session_starts_at": starts.isoformat(),
        "placed_by": "rolling_admission",
        "enrolled_at": c.clock.now().isoformat(),
    }
    event = new_event(
        "skills-group",
        skills.ENROLLMENT_CREATED,
        key=CLIENT,
        subject="s",
        data=data,
        clock=c.clock,
        catalog=CATALOG,
    )
    reminders.on_enrollments([(event, CATALOG.load(event.type, event.data))], c)


def test_a_client_who_chose_sms_at_intake_keeps_getting_sms_after_setting_quiet_hours(
    api, me, notifications, clock
):
    c = notifications
    answer = api.put(
        f"/v1/preferences/{CLIENT}",
        json={"quiet_hours": {"start": "23:00", "end": "06:00"}},
        headers=me,
    )
    assert answer.status_code == 200, answer.json
    starts = clock.now() + timedelta(hours=2, minutes=1)
    c.sessions.by_group[GROUP] = [session(starts)]
    enroll(c, starts)
    clock.advance(timedelta(minutes=2))
    reminders.promote_due(c)
    services.dispatch_due(c)
    assert [m.to for m in c.sms.sent] and {m.to for m in c.sms.sent} == {PHONE}
    assert not [m for m in c.sender.sent if m.to == "client@example.org"]
    # the reminder names the session's time in the site's zone (Chicago: UTC-6 in March)
    local = starts.astimezone(UTC) - timedelta(hours=6)
    assert any(local.strftime("%H:%M") in m.body for m in c.sms.sent)


# -- STOP shows, a replay changes nothing ----------------------------------------------------------
def test_a_stop_shows_in_the_clients_preferences(api, me, notifications):
    assert prefs_of(api, me)["sms_opted_out"] is False
    inbound(api, notifications, "STOP", "SM" + "a" * 32)
    assert prefs_of(api, me)["sms_opted_out"] is True
    inbound(api, notifications, "START", "SM" + "b" * 32)
    assert prefs_of(api, me)["sms_opted_out"] is False


def test_a_replayed_stop_does_not_undo_a_later_start(api, me, notifications):
    stop, start = "SM" + "1" * 32, "SM" + "2" * 32
    inbound(api, notifications, "STOP", stop)
    inbound(api, notifications, "START", start)
    inbound(api, notifications, "STOP", stop)  # the same signed request again
    assert prefs_of(api, me)["sms_opted_out"] is False
    assert len(notifications.repositories.inbound_sms.documents) == 2


# -- every read is audited before the answer -------------------------------------------------------
def test_reads_of_inboxes_deliveries_and_preferences_are_audited(api, me, auth, notifications):
    coordinator = auth("coordinator", SITE, sub="coord-1")
    assert api.get(f"/v1/inbox?site_id={SITE}", headers=coordinator).status_code == 200
    assert api.get(f"/v1/deliveries?site_id={SITE}", headers=coordinator).status_code == 200
    assert api.get(f"/v1/deliveries?recipient_id={CLIENT}", headers=coordinator).status_code == 200
    prefs_of(api, coordinator)
    prefs_of(api, me)
    assert api.get("/v1/me/inbox", headers=me).status_code == 200
    trail = api.get("/v1/audit?limit=50", headers=auth("operator", [])).json["items"]
    assert [(r["action"], r["object_id"], r["actor"]) for r in trail] == [
        ("inbox.read", SITE, "coord-1"),
        ("delivery.list_site", SITE, "coord-1"),
        ("delivery.list", CLIENT, "coord-1"),
        ("preferences.read", CLIENT, "coord-1"),
        ("preferences.read", CLIENT, CLIENT),
        ("my_inbox.read", CLIENT, CLIENT),
    ]
    assert {r["site_id"] for r in trail[:-1]} == {SITE}
    assert api.get("/v1/audit", headers=coordinator).status_code == 403


def test_no_answer_leaves_without_its_audit_record(api, auth, notifications):
    def broken(*_args, **_kwargs):
        raise RuntimeError("the audit trail cannot be written")

    notifications.repositories.audit.record = broken
    answer = api.get(f"/v1/inbox?site_id={SITE}", headers=auth("coordinator", SITE))
    assert answer.status_code == 500
    assert "items" not in (answer.json or {})
