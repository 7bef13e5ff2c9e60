"""The alert rules (``deploy/monitoring/rules/*.yml``): valid for Prometheus, every alert tested
firing and not firing by promtool (``tests/alerts/*.test.yml``), each with its labels and a
runbook section, none with a client's data in a label, and production's PrometheusRule the
one generated from them.

promtool is the one ``make setup`` builds into ``.local/bin``; without it these tests fail
(they never skip: an untested alert is what the issue was about).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "monitoring" / "rules"
ALERT_TESTS = ROOT / "tests" / "alerts"
RUNBOOKS = ROOT / "docs" / "runbooks.md"
PROMETHEUS_RULE = ROOT / "deploy" / "k8s" / "components" / "monitoring" / "prometheusrule.yaml"
PROMTOOL = ROOT / ".local" / "bin" / "promtool"

SEVERITIES = {"critical", "warning"}  # critical pages someone; warning opens a ticket
TEAMS = {"platform", "clinical"}  # Alertmanager routes on both
# Labels that would carry a person's or a record's identity into Alertmanager, its emails and
# the console: never on an alert, from its rule or from the series it keeps.
FORBIDDEN_LABELS = {
    "client_id",
    "referral_id",
    "person_id",
    "clinician_id",
    "recipient_id",
    "request_id",
    "delivery_id",
    "enrollment_id",
    "member_id",
    "user_id",
    "subject",
    "email",
    "phone",
    "name",
}
# The issue's list: every one must exist (by name; the expressions are promtool's to test).
REQUIRED_ALERTS = {
    "ApiErrorRateHigh",
    "ApiLatencyHigh",
    "WorkerLoopRestarting",
    "ConsumerLagGrowing",
    "EventsDeadLettered",
    "EventParked",
    "OutboxBacklogNotDraining",
    "OutboxRelayStalled",
    "DependencyUnreachable",
    "NotificationProviderFailing",
    "SafetyAlertNotDelivered",
    "CrisisRequestNotAcknowledged",
    "CoachingAcknowledgementMissed",
    "OnCallCoverageGap",
    "RemindersHeldOrDropped",
    "CalendarRemindersFailing",
}


def _rules() -> list[dict]:
    found = []
    for path in sorted(RULES.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            found.extend(rule for rule in group["rules"] if "alert" in rule)
    return found


def _promtool(*args: str) -> subprocess.CompletedProcess:
    if not PROMTOOL.exists():
        pytest.fail(f"{PROMTOOL} is missing: run `make setup` (it builds Prometheus' promtool)")
    return subprocess.run(
        [str(PROMTOOL), *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    anchors = set()
    for heading in re.findall(r"^#+\s+(.+?)\s*$", markdown, flags=re.M):
        anchors.add(re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-"))
    return anchors


def _tested_alerts() -> dict[str, set[bool]]:
    """Per alert name, whether its promtool tests expect it firing (True), not firing (False)."""
    seen: dict[str, set[bool]] = {}
    for path in sorted(ALERT_TESTS.glob("*.test.yml")):
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                seen.setdefault(case["alertname"], set()).add(bool(case.get("exp_alerts")))
    return seen


def test_the_rule_files_are_valid_prometheus_rules():
    files = [str(p.relative_to(ROOT)) for p in sorted(RULES.glob("*.yml"))]
    assert files, "no rule files in deploy/monitoring/rules"
    result = _promtool("check", "rules", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_passes_its_promtool_tests():
    files = [str(p.relative_to(ROOT)) for p in sorted(ALERT_TESTS.glob("*.test.yml"))]
    assert files, "no promtool tests in tests/alerts"
    result = _promtool("test", "rules", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_tested_both_firing_and_not_firing():
    tested = _tested_alerts()
    names = {rule["alert"] for rule in _rules()}
    untested = {name for name in names if tested.get(name) != {True, False}}
    assert not untested, f"alerts without a firing and a not-firing promtool case: {untested}"
    assert not set(tested) - names, "promtool tests of alerts that do not exist"


def test_the_alerts_the_issue_asks_for_all_exist():
    assert {rule["alert"] for rule in _rules()} >= REQUIRED_ALERTS


def test_every_alert_has_its_labels_annotations_and_a_runbook_section():
    anchors = _anchors(RUNBOOKS.read_text())
    names = [rule["alert"] for rule in _rules()]
    assert len(names) == len(set(names)), "two alerts with one name"
    for rule in _rules():
        name, labels, notes = rule["alert"], rule.get("labels", {}), rule.get("annotations", {})
        assert labels.get("severity") in SEVERITIES, name
        assert labels.get("team") in TEAMS, name
        assert notes.get("summary") and notes.get("description"), name
        url = notes.get("runbook_url", "")
        assert url.startswith("docs/runbooks.md#"), (name, url)
        assert url.split("#", 1)[1] in anchors, f"{name}: no section {url} in docs/runbooks.md"


def test_no_alert_carries_a_client_or_person_label():
    for rule in _rules():
        name, expr = rule["alert"], rule["expr"]
        assert not FORBIDDEN_LABELS & set(rule.get("labels", {})), name
        # the labels an expression keeps: `by (...)` lists and label matchers
        kept = {
            label.strip()
            for group in re.findall(r"\b(?:by|on|group_left|group_right)\s*\(([^)]*)\)", expr)
            for label in group.split(",")
        } | set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)\s*\"", expr))
        assert not FORBIDDEN_LABELS & kept, (name, FORBIDDEN_LABELS & kept)
        for text in rule.get("annotations", {}).values():
            used = set(re.findall(r"\$labels\.(\w+)", text))
            assert not FORBIDDEN_LABELS & used, (name, FORBIDDEN_LABELS & used)


def test_productions_prometheusrule_is_the_one_generated_from_the_rule_files():
    spec = importlib.util.spec_from_file_location(
        "prometheusrule", ROOT / "deploy" / "monitoring" / "prometheusrule.py"
    )
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    assert PROMETHEUS_RULE.read_text() == generator.render(), (
        "deploy/k8s/components/monitoring/prometheusrule.yaml differs from the rule files: "
        "run `make docs`"
    )
    resource = yaml.safe_load(PROMETHEUS_RULE.read_text())
    wrapped = [r["alert"] for g in resource["spec"]["groups"] for r in g["rules"] if "alert" in r]
    assert sorted(wrapped) == sorted(rule["alert"] for rule in _rules())
