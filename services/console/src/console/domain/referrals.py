"""The referral pipeline in a coordinator's words: its stages and statuses, and who works it."""

#: The stages a referral waits in, in the pipeline's order, as a coordinator names them.
STAGES = {
    "received": "Received",
    "screening": "Screening",
    "eligible": "Eligible",
    "needs_review": "Needs review",
    "orientation": "Orientation",
    "committed": "Committed",
}
STATUS_NAMES = {
    **STAGES,
    "admitted": "Admitted",
    "not_eligible": "Not eligible",
    "withdrawn": "Withdrawn",
}
#: What a screening's flags mean, in a sentence's words (an unknown flag is shown as it is).
SCREENING_FLAGS = {
    "cssrs_high": "C-SSRS: high suicide risk",
    "cssrs_moderate": "C-SSRS: moderate suicide risk",
    "phq9_self_harm_thoughts": "PHQ-9 item 9: thoughts of self-harm",
    "phq9_severe": "PHQ-9: severe depression",
    "gad7_severe": "GAD-7: severe anxiety",
}
#: The findings that call for the risk banner and the emergency route: the C-SSRS screener's
#: high risk, and any thoughts of self-harm on PHQ-9 item 9 (intake rates that "moderate"
#: overall, yet it asks for a same-day response and intake gives the safety resources for it).
RISK_BANNER_FLAGS = frozenset({"cssrs_high", "phq9_self_harm_thoughts"})


def calls_for_risk_banner(screening: dict | None) -> bool:
    """Whether a screening (intake's summary or its answer to a new one) shows the banner."""
    if not screening:
        return False
    return (
        screening.get("risk_level") == "high"
        or bool(screening.get("needs_immediate_response"))
        or bool(screening.get("phq9_self_harm_thoughts"))
        or bool(RISK_BANNER_FLAGS & set(screening.get("flags") or ()))
    )
