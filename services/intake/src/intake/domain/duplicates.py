"""The same person referred twice: what "the same" means when a referral is recorded.

Two referrals are of the same person when the client's given name, family name and date of birth
are equal once normalised: Unicode compatibility forms folded (NFKC), case folded, runs of
white space made one space, ends trimmed. Intake keeps a keyed hash of that text beside the
sealed client fields (``person_key``), so a site's referrals of a person are found by equality,
without decrypting anyone's details.
"""

from __future__ import annotations

import unicodedata

from intake.domain import pipeline

PURPOSE = "intake.person"  # separates this keyed hash from any other use of the key


def _normal(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def person_text(given_name: str, family_name: str, date_of_birth: str) -> str:
    """The text a person's key is the keyed hash of (the date as ``YYYY-MM-DD``)."""
    return "\x1f".join((_normal(given_name), _normal(family_name), date_of_birth))


def is_open(status: str) -> bool:
    """A referral still in the pipeline (not admitted, withdrawn or found not eligible)."""
    return status not in pipeline.TERMINAL
