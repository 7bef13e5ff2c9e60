"""Notifications' side of the crisis path: whom a coaching request reaches follows the fallback
chain whatever the event says (the clinicians on call, else the clinical lead, else the site's
intake address), and a request released after the 24-hour rule reaches its clinician."""

from __future__ import annotations

import pytest
from test_notifications_reach import CLINICIAN_PHONE, SITE, THERAPIST, at, handle

from dbt_shared.clock import FixedClock
from dbt_shared.contracts import coaching
from notifications import bootstrap, services
from notifications.services import alerts

LEAD, INTAKE = "lead@clinic.example.org", "intake@clinic.example.org"


@pytest.fixture
def clock():
    return FixedClock(at(3))  # the middle of the night


def wiring(clock, site: dict):
    c = bootstrap.in_memory(clock)
    c.repositories.site_zones.zones[SITE] = "America/Chicago"
    c.contacts.sites[SITE] = site
    c.contacts.people[THERAPIST] = {
        "channels": {"email": "tess@clinic.example.org", "sms": CLINICIAN_PHONE},
        "timezone": "America/Chicago",
    }
    return c


@pytest.fixture
def c(clock):
    return wiring(clock, {"intake_email": INTAKE, "clinical_lead": {"email": LEAD}})


def request(c, *, crisis: bool, notified: list[str], lead=False, intake=False, status="open"):
    handle(
        c,
        coaching.REQUEST_CREATED,
        {
            "request_id": "req-12345678",
            "client_id": "client-new",
            "site_id": SITE,
            "kind": "crisis" if crisis else "skills",
            "status": status,
            "crisis": crisis,
            "routed_to": notified[0] if notified else None,
            "notified": notified,
            "notify_clinical_lead": lead,
            "notify_site_intake": intake,
            "acknowledge_by": None,
            "call_back_by": None,
            "created_at": c.clock.now().isoformat(),
            "unverified": ["client_unknown"],
        },
        alerts.on_coaching_requests,
    )
    services.dispatch_due(c)


def emailed(c) -> list[str]:
    return sorted(m.to for m in c.sender.sent)


def test_a_crisis_naming_nobody_pages_the_lead_and_the_intake_address_whatever_its_flags(c):
    request(c, crisis=True, notified=[])  # no therapist, nobody on call, no flag set
    assert emailed(c) == [INTAKE, LEAD]
    assert all("988" in m.body for m in c.sender.sent)
    items, _ = c.repositories.inbox.page(SITE, limit=10, cursor=None)
    assert [i["priority"] for i in items] == ["urgent"]


def test_a_crisis_with_one_clinician_on_call_adds_the_lead(c):
    request(c, crisis=True, notified=[THERAPIST])
    assert [m.to for m in c.sms.sent] == [CLINICIAN_PHONE]
    assert emailed(c) == [LEAD]


def test_a_crisis_at_a_site_without_a_clinical_lead_reaches_the_intake_address(clock):
    c = wiring(clock, {"intake_email": INTAKE})
    request(c, crisis=True, notified=[])
    assert emailed(c) == [INTAKE, INTAKE]  # the lead's email falls back to intake's too


def test_a_request_naming_nobody_reaches_the_lead(c):
    request(c, crisis=False, notified=[])
    c.clock.advance(at(9) - c.clock.now())  # a normal email waits for nobody's quiet hours
    services.dispatch_due(c)
    assert LEAD in emailed(c)


def test_a_released_request_reaches_its_clinician_by_sms_and_own_inbox(c):
    handle(
        c,
        coaching.REQUEST_RELEASED,
        {
            "request_id": "req-12345678",
            "client_id": "client-1",
            "site_id": SITE,
            "kind": "skills",
            "routed_to": THERAPIST,
            "notified": [THERAPIST],
            "notify_clinical_lead": False,
            "acknowledge_by": c.clock.now().isoformat(),
            "call_back_by": c.clock.now().isoformat(),
            "released_at": c.clock.now().isoformat(),
        },
        alerts.on_coaching_releases,
    )
    services.dispatch_due(c)
    assert [m.to for m in c.sms.sent] == [CLINICIAN_PHONE]
    mine, _ = c.repositories.inbox.mine(THERAPIST, limit=10, cursor=None)
    assert [(i["kind"], i["request_id"]) for i in mine] == [("coaching_request", "req-12345678")]
    assert emailed(c) == []
