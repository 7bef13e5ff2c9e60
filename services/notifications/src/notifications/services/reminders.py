"""Reminders that follow the calendar, the welcome, and session notices.

Each reminder is one scheduled delivery keyed by (session, client, offset): planned when a
client is enrolled and, hourly, for the sessions of the next two days of each group with
members (skills-group's calendar, asked at that moment), and from the event when a session of
those days is scheduled; moved when its session moves, cancelled when it is cancelled or the
client leaves; never for a session before the client's first one. A scheduled delivery waits in
the schedule (by the minute it falls due) and joins the send queue when its minute comes:
neither step reads anything but pending work.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dbt_shared.clock import aware
from dbt_shared.errors import StaleWrite
from notifications import metrics
from notifications.bootstrap import Components
from notifications.domain.deliveries import DeliveryStatus, TransientFailure
from notifications.domain.purposes import Priority, priority_rank
from notifications.schedule import slot_of
from notifications.services.alerts import Batch, delivery, item, store

log = logging.getLogger(__name__)
_NAMESPACE = uuid.UUID("0f1c7b52-3c2e-4d1e-9a55-6b8e0d7c4a11")
DEFAULT_OFFSETS_MINUTES = (24 * 60, 120)
PLAN_DAYS = 2
LATE_GRACE = timedelta(minutes=5)  # a reminder planned this late still goes; later, not


def offsets(c: Components, site_id: str) -> tuple[int, ...]:
    stored = (c.repositories.settings.get(site_id) or {}).get("reminder_offsets_minutes")
    return tuple(stored) if stored else DEFAULT_OFFSETS_MINUTES


def _zone(c: Components, site_id: str) -> ZoneInfo:
    return ZoneInfo(c.repositories.site_zones.timezone_of(site_id) or "UTC")


def _when(c: Components, site_id: str, starts_at: datetime) -> dict[str, str]:
    local = starts_at.astimezone(_zone(c, site_id))
    return {"day": local.strftime("%a %-d %b"), "time": local.strftime("%H:%M")}


# -- enrollment and leaving ----------------------------------------------------------------------
def on_enrollments(batch: Batch, c: Components) -> None:
    now, items, out, groups = c.clock.now(), [], [], set()
    for event, data in batch:
        c.repositories.enrollments.insert(
            {
                "_id": data["enrollment_id"],
                "client_id": data["client_id"],
                "group_id": data["group_id"],
                "site_id": data["site_id"],
                "status": "active",
                "first_session_starts_at": data["first_session_starts_at"],
            }
        )
        starts = aware(data["first_session_starts_at"])
        args = {"reference": data["enrollment_id"][:8], **_when(c, data["site_id"], starts)}
        out.append(
            delivery(
                event,
                site_id=data["site_id"],
                purpose="welcome",
                kind="client",
                recipient_id=data["client_id"],
                channel=None,
                priority=Priority.NORMAL,
                now=now,
                args=args,
            )
        )
        items.append(
            item(
                event,
                site_id=data["site_id"],
                kind="welcome",
                priority=Priority.NORMAL,
                now=now,
                recipient_id=data["client_id"],
                day=args["day"],
                time=args["time"],
            )
        )
        groups.add(data["group_id"])
    store(c, items, out)
    # A member moved by hand: the group they left sends them nothing more.
    on_members_left(
        [
            (event, {**data, "enrollment_id": data["transferred_from_enrollment_id"]})
            for event, data in batch
            if data.get("transferred_from_enrollment_id")
        ],
        c,
    )
    for group_id in groups:
        try:
            _plan_counted(c, group_id)
        except TransientFailure:  # skills-group not answering: the hourly plan catches up
            log.warning("reminders not planned yet", extra={"group_id": group_id})


def on_members_left(batch: Batch, c: Components) -> None:
    """Graduated or discharged: the membership ends, its reminders still to come are cancelled."""
    for _event, data in batch:
        enrollment = c.repositories.enrollments.get(data["enrollment_id"])
        if enrollment is None or enrollment["status"] != "active":
            continue
        c.repositories.enrollments.save({**enrollment, "status": "left"})
        for d in c.repositories.deliveries.of_recipient(
            data["client_id"], DeliveryStatus.SCHEDULED
        ):
            if d.get("group_id") == enrollment["group_id"]:
                _cancel(c, d)


# -- planning ------------------------------------------------------------------------------------
def plan_all(c: Components) -> int:
    """The hourly plan: every group with members (index ``status``: the active memberships)."""
    groups = {e["group_id"] for e in c.repositories.enrollments.find({"status": "active"})}
    planned = 0
    for group_id in sorted(groups):
        try:
            planned += _plan_counted(c, group_id)
        except TransientFailure:  # this group's calendar next hour; the others now
            log.warning("reminders not planned yet", extra={"group_id": group_id})
    return planned


def _plan_counted(c: Components, group_id: str) -> int:
    """``plan_group``, its outcome counted (``dbt_notifications_reminder_plans_total``): a
    calendar that cannot be read is what CalendarRemindersFailing watches."""
    try:
        planned = plan_group(c, group_id)
    except TransientFailure:
        metrics.REMINDER_PLANS.labels("calendar_unreachable").inc()
        raise
    metrics.REMINDER_PLANS.labels("planned").inc()
    return planned


def plan_group(c: Components, group_id: str) -> int:
    members = c.repositories.enrolled(group_id)
    if not members:
        return 0
    now = c.clock.now()
    today = now.date()
    sessions = c.sessions.sessions(
        group_id,
        (today - timedelta(days=1)).isoformat(),
        (today + timedelta(days=PLAN_DAYS)).isoformat(),
    )
    planned = []
    for session in sessions:
        if session.get("status") != "cancelled":
            planned += _reminders_of(c, session, members, now)
    return _store_fresh(c, planned)


def on_groups_scheduled(batch: Batch, c: Components) -> None:
    _plan_scheduled(  # a new group's calendar: every session is in its event
        c,
        [
            {**s, "group_id": data["group_id"], "site_id": data["site_id"], "room": data["room"]}
            for _event, data in batch
            for s in data["sessions"]
        ],
    )


def on_sessions_scheduled(batch: Batch, c: Components) -> None:
    _plan_scheduled(c, [data for _event, data in batch])  # one added to a group's calendar


def _plan_scheduled(c: Components, scheduled: list[dict[str, Any]]) -> None:
    """Sessions put on a calendar: one in the plan's days gets its group's members' reminders
    at once, from the event (no calendar read); a later one is the hourly plan's when its days
    come. Ids derived from (session, client, offset): a redelivery plans nothing twice."""
    now = c.clock.now()
    last_day = (now + timedelta(days=PLAN_DAYS)).date()
    members: dict[str, list[dict[str, Any]]] = {}
    planned = []
    for data in scheduled:
        starts = aware(data["starts_at"])
        if data["status"] == "cancelled" or not now < starts or starts.date() > last_day:
            continue
        if data["group_id"] not in members:  # a group's sessions come together: one read
            members[data["group_id"]] = c.repositories.enrolled(data["group_id"])
        session = {
            "id": data["session_id"],
            "group_id": data["group_id"],
            "site_id": data["site_id"],
            "room": data.get("room"),
            "starts_at": starts,
        }
        planned += _reminders_of(c, session, members[data["group_id"]], now)
    _store_fresh(c, planned)


def _reminders_of(c, session, members, now: datetime) -> list[dict[str, Any]]:
    """The reminders of one session still to come for each member whose first session it is
    not before, at each of the site's offsets not past (by more than the grace)."""
    starts = aware(session["starts_at"])
    if starts <= now:
        return []
    planned = []
    for member in members:
        if aware(member["first_session_starts_at"]) > starts:
            continue  # never before the client's first session
        for minutes in offsets(c, session["site_id"]):
            due = starts - timedelta(minutes=minutes)
            if due < now - LATE_GRACE:
                continue
            planned.append(_reminder(c, session, member, minutes, due, now))
    return planned


def _store_fresh(c: Components, planned: list[dict[str, Any]]) -> int:
    fresh = [d for d in planned if c.repositories.deliveries.get(d["_id"]) is None]  # index: _id
    store(c, [], fresh)
    return len(fresh)


def _reminder(c, session, member, minutes: int, due: datetime, now: datetime) -> dict[str, Any]:
    key = f"reminder:{session['id']}:{member['client_id']}:{minutes}"
    starts = aware(session["starts_at"])
    args = {
        "reference": session["id"][:8],
        "room": session.get("room") or "",
        **_when(c, session["site_id"], starts),
    }
    scheduled = due > now
    return {
        "_id": str(uuid.uuid5(_NAMESPACE, key)),
        "site_id": session["site_id"],
        "channel": None,
        "purpose": "session_reminder",
        "recipient_kind": "client",
        "recipient_id": member["client_id"],
        "subject_ref": session["id"][:8],
        "text_args": args,
        "priority": Priority.NORMAL,
        "priority_rank": priority_rank(Priority.NORMAL),
        "at_once": False,
        "status": DeliveryStatus.SCHEDULED if scheduled else DeliveryStatus.PENDING,
        "attempts": 0,
        "due_at": due,
        "next_attempt_at": due,
        "created_at": now,
        "cause_event_id": key,
        "correlation_id": None,
        "session_id": session["id"],
        "session_starts_at": starts,
        "group_id": session["group_id"],
        "offset_minutes": minutes,
    }


# -- the calendar changes ------------------------------------------------------------------------
def on_sessions_moved(batch: Batch, c: Components) -> None:
    now, out = c.clock.now(), []
    for event, data in batch:
        starts = aware(data["starts_at"])
        for d in c.repositories.deliveries.of_session(data["session_id"], DeliveryStatus.SCHEDULED):
            due = starts - timedelta(minutes=int(d.get("offset_minutes", 0)))
            if due < now - LATE_GRACE:
                _cancel(c, d)
                continue
            moved = {
                **d,
                "due_at": due,
                "next_attempt_at": due,
                "session_starts_at": starts,
                "text_args": {**d["text_args"], **_when(c, data["site_id"], starts)},
            }
            try:
                if due <= now:  # due already: straight to the send queue
                    c.repositories.deliveries.save({**moved, "status": DeliveryStatus.PENDING})
                    c.repositories.schedule.remove(d["_id"])
                else:
                    c.repositories.schedule.put(d["_id"], due)
                    c.repositories.deliveries.save(moved)
            except StaleWrite:
                continue
        out += _notices(c, event, data, "session_rescheduled", starts, now)
    store(c, [], out)


def on_sessions_cancelled(batch: Batch, c: Components) -> None:
    now, out = c.clock.now(), []
    for event, data in batch:
        for status in (DeliveryStatus.SCHEDULED, DeliveryStatus.PENDING):
            for d in c.repositories.deliveries.of_session(data["session_id"], status):
                _cancel(c, d)
        out += _notices(c, event, data, "session_cancelled", aware(data["starts_at"]), now)
    store(c, [], out)


def _notices(c, event, data, purpose: str, starts: datetime, now: datetime) -> list[dict]:
    """A notice of the change to each member (their channel, and their own inbox) and to the
    session's facilitators (email and own inbox; the session as skills-group has it now)."""
    args = {
        "reference": data["session_id"][:8],
        "room": data.get("room") or "",
        **_when(c, data["site_id"], starts),
    }
    previous = data.get("previous_starts_at")
    if previous:
        before = _when(c, data["site_id"], aware(previous))
        args.update(previous_day=before["day"], previous_time=before["time"])
    people = [("client", m["client_id"], None) for m in c.repositories.enrolled(data["group_id"])]
    people += [("clinician", f, "email") for f in _facilitators(c, data, starts)]
    out, items = [], []
    for kind, person, channel in people:
        out.append(
            delivery(
                event,
                site_id=data["site_id"],
                purpose=purpose,
                kind=kind,
                recipient_id=person,
                channel=channel,
                priority=Priority.NORMAL,
                now=now,
                args=args,
            )
        )
        items.append(
            item(
                event,
                site_id=data["site_id"],
                kind=purpose,
                priority=Priority.NORMAL,
                now=now,
                recipient_id=person,
                session_id=data["session_id"],
                day=args["day"],
                time=args["time"],
            )
        )
    c.repositories.inbox.add_many(items)
    return out


def _facilitators(c, data, starts: datetime) -> list[str]:
    day = starts.astimezone(_zone(c, data["site_id"])).date()
    try:
        sessions = c.sessions.sessions(
            data["group_id"],
            (day - timedelta(days=1)).isoformat(),
            (day + timedelta(days=1)).isoformat(),
        )
    except TransientFailure:  # skills-group not answering: the members are told all the same
        log.warning(
            "facilitators not told of a session change", extra={"group_id": data["group_id"]}
        )
        return []
    for session in sessions:
        if session["id"] == data["session_id"]:
            return list(session.get("facilitator_ids") or [])
    return []


def _cancel(c: Components, d: dict[str, Any]) -> None:
    c.repositories.schedule.remove(d["_id"])
    with contextlib.suppress(StaleWrite):  # changed meanwhile: sent or moved, left as it is
        c.repositories.deliveries.save({**d, "status": DeliveryStatus.CANCELLED})


# -- the schedule's minutes come -----------------------------------------------------------------
def promote_due(c: Components) -> int:
    """Move the scheduled deliveries whose minute has come into the send queue; answers how
    many. Reads the slots since the last run (one equality query each) and the current one."""
    now = c.clock.now()
    current = slot_of(now)
    done = c.repositories.schedule.done()
    first = current - 60 if done is None else done + 1  # a first run looks an hour back
    moved = 0
    for slot in range(first, current + 1):
        for entry in c.repositories.schedule.in_slot(slot):
            if aware(entry["due_at"]) > now:
                continue  # later this minute: the next run
            d = c.repositories.deliveries.get(entry["_id"])
            if d is not None and d["status"] == DeliveryStatus.SCHEDULED:
                try:
                    c.repositories.deliveries.save({**d, "status": DeliveryStatus.PENDING})
                except StaleWrite:
                    continue
                moved += 1
            c.repositories.schedule.remove(entry["_id"])
    c.repositories.schedule.mark_done(current - 1)
    return moved
