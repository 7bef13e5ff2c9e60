"""The referral pipeline in a coordinator's words: its stages and statuses, and who works it."""

#: The roles that work the referral pipeline (intake checks every step again).
STAFF = ("coordinator", "operator")
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
