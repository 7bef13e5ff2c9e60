"""Notification channels: a message's words on every channel, the SMS webhook helpers (keywords,
Twilio signatures, opt-out keys) and an email's headers. When a message may leave and a
recipient's preferences: ``test_notification_channels``."""

from __future__ import annotations

import re

import pytest

from notifications.domain.sms import (
    keyword,
    normalize_number,
    number_key,
    signature,
    valid_signature,
)
from notifications.domain.texts import EMERGENCY_ROUTE, PURPOSES, STOP_LINE, render
from notifications.domain.windows import CHANNELS

# ---------------------------------------------------------------- texts

FULL = {
    "reference": "1a2b",
    "day": "Tue 8 Dec",
    "time": "18:00",
    "room": "2",
    "previous_day": "Mon 7 Dec",
    "previous_time": "17:30",
    "count": 8,
    "minutes": 10,
}
DIGEST = {
    "day": "Tue 8 Dec",
    "sessions": [{"time": "18:00", "room": "2", "count": 8}, {"time": "19:30", "room": "3"}],
}
CRISIS = {("coaching_request", True), ("coaching_escalated", False), ("coaching_risk", False)}
CRISIS |= {("risk_flagged", False)}


def every_text():
    for purpose in PURPOSES:
        for channel in CHANNELS:
            for args in (FULL, {}, DIGEST, {**FULL, "crisis": True}):
                yield purpose, channel, args, render(purpose, channel, args)


def test_every_purpose_renders_on_every_channel_without_placeholders():
    for purpose, channel, args, text in every_text():
        assert text.body.strip(), (purpose, channel, args)
        assert not re.search(r"[{}]|None|\[|\]", text.body), (purpose, channel, text.body)
        assert "  " not in text.body and " ." not in text.body, text.body
        assert (text.subject != "") == (channel == "email"), (purpose, channel)


def test_sms_texts_end_with_the_stop_line_and_fit_two_segments():
    huge = {key: "x" * 500 for key in FULL} | {"sessions": [DIGEST["sessions"][0]] * 40}
    for args in (FULL, DIGEST, huge, {**huge, "crisis": True}):
        for purpose in PURPOSES:
            body = render(purpose, "sms", args).body
            assert body.endswith(STOP_LINE), body
            assert len(body) < 320, (purpose, len(body))
            assert body.isascii(), body  # one non-GSM character would triple the segment count


def test_crisis_and_risk_texts_carry_the_emergency_route_on_every_channel():
    for purpose in PURPOSES:
        for crisis in (False, True):
            urgent = (purpose, crisis) in CRISIS or (purpose, False) in CRISIS
            for channel in CHANNELS:
                body = render(purpose, channel, {**FULL, "crisis": crisis}).body
                assert (EMERGENCY_ROUTE in body) == urgent, (purpose, crisis, channel)
    huge = {"reference": "r" * 300, "crisis": True}
    assert EMERGENCY_ROUTE in render("coaching_request", "sms", huge).body


def test_texts_carry_only_the_arguments_given_and_never_a_name():
    names = {"name": "Maria Lopez", "client_name": "Sam Reyes", "email": "sam@example.org"}
    names |= {"phone": "+13125550100", "diagnosis": "BPD", "clinician": "Dr Alvarez"}
    for purpose, _channel, _args, text in every_text():
        leaked = render(purpose, _channel, {**FULL, **names})
        assert leaked == render(purpose, _channel, FULL), purpose
        for value in names.values():
            assert value not in text.subject + text.body
    distinct = {"reference": "REF77", "day": "Fri 11 Dec", "time": "06:45", "room": "R9"}
    for purpose in PURPOSES:
        for channel in CHANNELS:
            for left_out, value in distinct.items():
                given = {key: v for key, v in distinct.items() if key != left_out}
                text = render(purpose, channel, given)
                assert value not in text.subject + text.body, (purpose, channel, left_out)


def test_the_texts_a_clinic_sees():
    assert render("session_reminder", "sms", FULL).body == (
        "Reminder: your DBT skills group is on Tue 8 Dec at 18:00, room 2. Reply STOP to opt out."
    )
    assert render("welcome", "inbox", FULL).body == (
        "Welcome to your DBT skills group. Your first session is Tue 8 Dec at 18:00, room 2."
    )
    assert render("coaching_request", "sms", FULL).body == (
        "Coaching request ref 1a2b waiting for you. Acknowledge in the DBT platform. " + STOP_LINE
    )
    assert render("coaching_request", "inbox", {**FULL, "crisis": True}).body == (
        f"CRISIS coaching request ref 1a2b. Call back now. {EMERGENCY_ROUTE}"
    )
    assert render("session_rescheduled", "inbox", FULL).body == (
        "Your DBT skills group on Mon 7 Dec at 17:30 has moved to Tue 8 Dec at 18:00, room 2."
    )
    assert render("facilitator_digest", "inbox", DIGEST).body == (
        "Your skills groups on Tue 8 Dec: 18:00, room 2, 8 expected; 19:30, room 3."
    )
    assert "10 minutes" in render("coaching_escalated", "email", FULL).body
    email = render("referral_received", "email", FULL)
    assert email.subject == "New referral received" and "1a2b" in email.body
    assert "No client details" in email.body


def test_render_refuses_unknown_purposes_and_channels():
    with pytest.raises(KeyError):
        render("birthday", "email", {})
    with pytest.raises(ValueError):
        render("welcome", "fax", {})


# ---------------------------------------------------------------- sms

TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}


def test_the_signature_matches_twilios_documented_examples():
    # Twilio's webhook security guide, auth token 12345. GvWf1cFY/... is the signature of the
    # older edition of the example, whose caller is +14158675310; these params give 0/KCTR....
    assert signature("12345", TWILIO_URL, TWILIO_PARAMS) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    older = {**TWILIO_PARAMS, "Caller": "+14158675310", "From": "+14158675310"}
    assert signature("12345", TWILIO_URL, older) == "GvWf1cFY/Q7PnoempGyD5oXAezc="


def test_only_a_matching_signature_is_valid():
    good = signature("12345", TWILIO_URL, TWILIO_PARAMS)
    assert valid_signature("12345", TWILIO_URL, TWILIO_PARAMS, good)
    assert not valid_signature("12345", TWILIO_URL, {**TWILIO_PARAMS, "Digits": "9"}, good)
    assert not valid_signature("12345", TWILIO_URL.replace("https", "http"), TWILIO_PARAMS, good)
    assert not valid_signature("54321", TWILIO_URL, TWILIO_PARAMS, good)
    for given in (None, "", good[:-1], "é" * 28):
        assert not valid_signature("12345", TWILIO_URL, TWILIO_PARAMS, given)
    assert not valid_signature("", TWILIO_URL, TWILIO_PARAMS, signature("", TWILIO_URL, {}))


def test_keywords():
    for body in ("STOP", " stop ", "Stop please", "stop!", "UNSUBSCRIBE", "quit", "End."):
        assert keyword(body) == "stop", body
    for body in ("START", "yes", "Unstop", "  Start now"):
        assert keyword(body) == "start", body
    for body in ("", "   ", "stopping", "please stop", "Hello", "no"):
        assert keyword(body) is None, body


def test_normalize_number():
    assert normalize_number("+1 (312) 555-0100") == "+13125550100"
    assert normalize_number(" 312.555.0100 ") == "3125550100"
    assert normalize_number("+44 20 7946 0958") == "+442079460958"
    for bad in ("", "+", "1234567", "+1234567890123456", "call 312 555 0100", "312+5550100"):
        assert normalize_number(bad) is None, bad


def test_number_key_is_stable_and_does_not_contain_the_number():
    key = number_key("+1 (312) 555-0100", "pepper")
    assert key == number_key("+13125550100", "pepper")
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    assert "3125550100" not in key
    assert key != number_key("+13125550100", "other pepper")
    for number, pepper in (("not a number", "pepper"), ("+13125550100", "")):
        with pytest.raises(ValueError):
            number_key(number, pepper)


def test_an_email_in_spanish_arrives_readable_with_its_headers():
    from email import message_from_bytes, policy

    from notifications.adapters import Email, _mime

    email = Email(
        to="intake@site.example",
        subject="Recordatorio: sesión de habilidades mañana",
        body="Su sesión empieza a las 18:00.\nResponda STOP para no recibir más.\n",
        delivery_id="d-1",
        urgent=True,
    )
    parsed = message_from_bytes(
        _mime("noreply@clinic.example", email).as_bytes(), policy=policy.default
    )
    assert parsed["Subject"] == email.subject
    assert parsed.get_content() == email.body
    assert (parsed["From"], parsed["To"]) == ("noreply@clinic.example", email.to)
    assert (parsed["X-DBT-Delivery-Id"], parsed["Importance"]) == ("d-1", "high")
