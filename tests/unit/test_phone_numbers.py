"""Every phone number intake stores is in E.164, a number written without its country code being
of the site's country (the site's ``phone_region``, by default its time zone's country), so a
client's STOP (the provider's ``From`` is always E.164) is found by notifications however the
coordinator typed the number; a number intake cannot place is refused, never stored as typed."""

from __future__ import annotations

from datetime import date

import pytest

from dbt_shared.auth import Principal
from dbt_shared.errors import InvalidInput
from intake import bootstrap as intake_bootstrap
from intake.services import organisation, oversight, referrals
from notifications import bootstrap as notifications_bootstrap
from notifications.domain import sms as sms_rules
from notifications.services import people

OPERATOR = Principal(subject="op", roles=frozenset({"operator"}), sites=frozenset())
NOTIFICATIONS = Principal.service("notifications")


@pytest.fixture
def intake(clock):
    return intake_bootstrap.in_memory(clock)


def site(c, site_id: str, timezone: str, **more) -> dict:
    body = {
        "name": f"Clinic {site_id}",
        "timezone": timezone,
        "intake_email": "intake@clinic.example.org",
        "clinical_lead": None,
        **more,
    }
    return organisation.register_site(body, c, site_id)


def referral(c, site_id: str, phone: str) -> str:
    coordinator = Principal("coord", frozenset({"coordinator"}), frozenset({site_id}))
    body = {
        "site_id": site_id,
        "program": "adult",
        "source": "GP",
        "consent_to_contact": True,
        "client": {
            "given_name": "Ana",
            "family_name": "Ruiz",
            "date_of_birth": date(1990, 2, 3),
            "email": "ana@example.org",
            "phone": phone,
            "preferred_channel": "sms",
            "language": "es",
        },
    }
    shown, _ = referrals.receive(body, c, coordinator, f"ref-{site_id}")
    return shown["_id"]


def test_a_number_without_its_country_code_is_stored_in_e164_for_the_sites_country(intake):
    assert site(intake, "chicago", "America/Chicago")["phone_region"] == "US"
    rid = referral(intake, "chicago", "312 555 0147")
    coordinator = Principal("coord", frozenset({"coordinator"}), frozenset({"chicago"}))
    assert referrals.read(rid, intake, coordinator)["client"]["phone"] == "+13125550147"
    contact = oversight.contact_for(rid, intake, NOTIFICATIONS)
    assert contact["channels"]["sms"] == "+13125550147"


def test_the_sites_phone_region_is_a_setting_that_wins_over_its_time_zone(intake):
    assert site(intake, "madrid", "Europe/Madrid")["phone_region"] == "ES"
    rid = referral(intake, "madrid", "612 34 56 78")
    assert oversight.contact_for(rid, intake, NOTIFICATIONS)["channels"]["sms"] == "+34612345678"
    # a clinic near the border whose clients have Mexican numbers
    assert site(intake, "border", "America/Chicago", phone_region="MX")["phone_region"] == "MX"
    clinician = organisation.register_clinician(
        "border",
        {
            "subject": "idp|ana",
            "display_name": "Ana",
            "roles": ["therapist"],
            "programs": ["adult"],
            "languages": ["es"],
            "caseload_limit": 10,
            "email": "ana@clinic.example.org",
            "phone": "55 1234 5678",
        },
        intake,
        OPERATOR,
        "clin-1",
    )
    assert clinician["phone"] == "+525512345678"
    with pytest.raises(InvalidInput) as refused:
        site(intake, "nowhere", "America/Chicago", phone_region="ZZ")
    assert refused.value.field_errors[0]["field"] == "phone_region"


def test_a_number_intake_cannot_place_is_refused_naming_the_field_not_the_number(intake):
    site(intake, "utc", "UTC")  # a zone of no one country: no default region
    with pytest.raises(InvalidInput) as refused:
        referral(intake, "utc", "312 555 0147")
    [error] = refused.value.field_errors
    assert error["field"] == "client.phone" and "country code" in error["message"]
    assert "0147" not in str(refused.value.field_errors) + refused.value.detail
    assert intake.repositories.referral("ref-utc") is None
    assert referral(intake, "utc", "+1 312 555 0147")  # with its country code it is stored


def test_a_stop_is_found_when_the_coordinator_typed_the_number_without_a_country_code(
    intake, clock
):
    """Across the seam: what intake answers is what notifications matches a STOP against."""
    site(intake, "chicago", "America/Chicago")
    rid = referral(intake, "chicago", "312 555 0147")
    notifications = notifications_bootstrap.in_memory(clock)
    notifications.contacts.people[rid] = oversight.contact_for(rid, intake, NOTIFICATIONS)
    url = "https://notifications.example.org/v1/sms/inbound"
    form = {"From": "+13125550147", "Body": "STOP", "MessageSid": "SM" + "0" * 32}
    people.inbound_sms(url, form, sms_rules.signature("test-token", url, form), notifications)
    client = Principal(rid, frozenset({"client"}), frozenset())
    assert people.get_preferences(rid, notifications, client)["sms_opted_out"] is True


def test_numbers_compare_in_e164_however_they_are_written():
    key = sms_rules.number_key("+1 (312) 555-0147", "pepper")
    assert key == sms_rules.number_key("+13125550147", "pepper")
    assert sms_rules.e164("+1 312.555.0147") == "+13125550147"
    assert sms_rules.e164("312 555 0147") is None  # no country code: not E.164, nothing guessed
