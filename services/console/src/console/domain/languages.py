"""The languages a coordinator chooses a client's from, by name; intake keeps the code.

The codes are ISO 639 (intake accepts ``xx``, ``xxx`` or ``xx-YY``); clinicians' languages use
the same codes, so that a therapist match on language finds them. A code not listed here (an
older referral, a clinic's own) is still shown, as itself, rather than lost.
"""

from __future__ import annotations

#: The language a new referral starts with: the clinic's usual language (English by default).
DEFAULT = "en"

#: Languages commonly asked for in clinics, by the name a coordinator says aloud.
NAMES = {
    "ar": "Arabic",
    "bn": "Bengali",
    "bfi": "British Sign Language",
    "zh": "Chinese",
    "nl": "Dutch",
    "en": "English",
    "fa": "Farsi (Persian)",
    "fr": "French",
    "de": "German",
    "el": "Greek",
    "gu": "Gujarati",
    "hi": "Hindi",
    "it": "Italian",
    "ja": "Japanese",
    "ko": "Korean",
    "ku": "Kurdish",
    "lt": "Lithuanian",
    "ps": "Pashto",
    "pl": "Polish",
    "pt": "Portuguese",
    "pa": "Punjabi",
    "ro": "Romanian",
    "ru": "Russian",
    "so": "Somali",
    "es": "Spanish",
    "ta": "Tamil",
    "ti": "Tigrinya",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "ur": "Urdu",
    "vi": "Vietnamese",
    "cy": "Welsh",
}


def options(current: str | None = None) -> list[tuple[str, str]]:
    """(code, name) pairs for a select, by name; ``current`` kept even if not listed."""
    listed = sorted(NAMES.items(), key=lambda item: item[1])
    if current and current not in NAMES:
        listed.insert(0, (current, current))
    return listed
