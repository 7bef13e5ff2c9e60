"""SMS webhook helpers, Twilio-compatible: opt-out keywords, request signatures, number keys.

The rules:

- An inbound text whose first word is a stop word opts the number out of every SMS; a start
  word opts it back in. Anything else is not a keyword (the platform does not read replies).
- An inbound webhook counts only when its ``X-Twilio-Signature`` matches: HMAC-SHA1 keyed with
  the account's auth token over the full URL Twilio called, then each POST parameter's name
  and value, sorted by name; base64. Compared in constant time.
- Opt-outs are stored under a key (SHA-256 of a secret pepper and the number in E.164), not
  the number: the opt-out list is not a list of clients' phone numbers. The provider sends
  ``From`` in E.164 and intake stores every number in E.164, so "+1 (312) 555-0100" and
  "+13125550100" are one number and a STOP from it is found whatever way it was written.
- A message the provider sent before (its ``MessageSid``) counts once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import string

import phonenumbers

# The carriers' standard opt-out and opt-in words (CTIA), as Twilio honours them.
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "YES", "UNSTOP"})

# Punctuation people add to a keyword ("Stop!", "stop.") that does not change what they mean.
_TRAILING = string.punctuation
_NUMBER_MARKS = frozenset(" -.()/\t")
MIN_DIGITS, MAX_DIGITS = 8, 15  # E.164 allows 15 digits; fewer than 8 is no phone number


def keyword(body: str) -> str | None:
    """``"stop"``, ``"start"`` or ``None``: the first word of ``body``, case-insensitive."""
    words = (body or "").split()
    if not words:
        return None
    word = words[0].strip(_TRAILING).upper()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    return None


def signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's ``X-Twilio-Signature`` for a request to ``url`` (with its query string) carrying
    the POST ``params`` (empty for a GET): base64(HMAC-SHA1(token, url + k1 + v1 + k2 + v2...)),
    the parameters sorted by name."""
    message = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    digest = hmac.new(auth_token.encode(), message.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def valid_signature(auth_token: str, url: str, params: dict[str, str], given: str | None) -> bool:
    """Whether ``given`` is the signature of this request; False for a missing one, or when no
    auth token is configured (an empty key would let anyone sign)."""
    if not given or not auth_token:
        return False
    expected = signature(auth_token, url, params)
    # Bytes, not str: compare_digest refuses non-ASCII str, and a forged header may carry some.
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def normalize_number(text: str) -> str | None:
    """The number as ``+`` (when given) and digits only, e.g. "+1 (312) 555-0100" ->
    "+13125550100"; ``None`` for anything with letters or not 8-15 digits."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    plus = text.startswith("+")
    rest = text[1:] if plus else text
    if any(not (char.isascii() and char.isdigit()) and char not in _NUMBER_MARKS for char in rest):
        return None
    digits = "".join(char for char in rest if char.isdigit())
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        return None
    return f"+{digits}" if plus else digits


def e164(text: str) -> str | None:
    """The number in E.164 ("+13125550100"), for a number given with its country code (``+``)
    however punctuated; ``None`` for anything else (no region is guessed here: intake turns a
    national number into E.164 with its site's country when it stores it)."""
    if normalize_number(text) is None or not text.strip().startswith("+"):
        return None
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def message_sid(value: object) -> str | None:
    """The provider's id of an inbound message (Twilio: "SM" + 32 hex), ``None`` when absent or
    not an id (a bound on what is stored)."""
    if not isinstance(value, str) or not 1 <= len(value) <= 64:
        return None
    return value if value.isascii() and value.isalnum() else None


def number_key(number: str, pepper: str) -> str:
    """The key an opt-out is stored under: sha256 hex of ``pepper`` + the number in E.164.

    The same number however it is punctuated gives the same key. A number without its country
    code (stored before intake kept E.164) keys on its digits: it cannot match a provider's
    ``From``, as before. ``ValueError`` for a number that does not normalise, or an empty pepper
    (ten-digit numbers are quick to guess from a plain hash)."""
    if not pepper:
        raise ValueError("number_key needs a pepper")
    normalized = normalize_number(number)
    if normalized is None:
        raise ValueError("not a phone number")
    return hashlib.sha256((pepper + (e164(number) or normalized)).encode()).hexdigest()
