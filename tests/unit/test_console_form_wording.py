"""A service's refusal reaches the form in the page's words: a clinic user reads "Enter a whole
number" next to the field, not Marshmallow's "Not a valid integer."."""

from console.client import ServiceRefused
from console.views.forms import refusal


def _refused(*errors: tuple[str, str]) -> ServiceRefused:
    return ServiceRefused(
        "intake",
        422,
        {"detail": "Invalid", "errors": [{"field": f, "message": m} for f, m in errors]},
    )


def test_type_messages_are_said_in_plain_words_next_to_their_fields():
    shown, form_error = refusal(
        _refused(("age", "Not a valid integer."), ("client.email", "Not a valid email address.")),
        {"age": "Enter the age", "client.email": "Enter an email address"},
    )
    assert shown == {
        "age": "Enter a whole number",
        "client.email": "Enter an email address in the correct format, like name@example.com",
    }
    assert form_error is None


def test_a_missing_field_takes_the_pages_words_and_other_messages_stay_as_said():
    shown, _ = refusal(
        _refused(("name", "Missing data for required field."), ("timezone", "Unknown time zone.")),
        {"name": "Enter the site's name", "timezone": "Enter the time zone"},
    )
    assert shown == {"name": "Enter the site's name", "timezone": "Unknown time zone."}
