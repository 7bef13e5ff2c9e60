"""Contract tests: every service's api answers as its OpenAPI document says.

Schemathesis (settings and hooks in ``schemathesis.toml`` at the repository root: all checks,
a fixed seed, 50 examples per operation) runs against each api of the test-profile stack with
an operator's token. Any finding fails the test; the message carries schemathesis' own report
of it (with the ``curl`` line that reproduces it). The same run by hand, against ``make up``,
from the repository root (intake at 8001; skills-group, coaching, notifications at 8002-8004):

    TOKEN=$(make token ROLE=operator)
    .venv/bin/st run http://127.0.0.1:8001/openapi.json --checks all \
        -H "Authorization: Bearer $TOKEN"
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from devstack import SERVICES, mint_token

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "schemathesis.toml"
SCHEMATHESIS = Path(sys.executable).with_name("st")
# Generous: intake, the largest, takes about four minutes; a hang must still end the test.
RUN_TIMEOUT_S = 900


def findings(output: str) -> str:
    """Schemathesis' report of what it found (from its ERRORS or FAILURES banner on), else all
    of its output."""
    starts = [i for i in (output.find("= ERRORS ="), output.find("= FAILURES =")) if i != -1]
    return output[output.rfind("\n", 0, min(starts)) + 1 :] if starts else output


@pytest.mark.parametrize("service", SERVICES)
def test_the_api_answers_as_its_openapi_document_says(platform, service, tmp_path):
    api = platform.profile.api_url(service)
    token = mint_token(["operator"], [], "contract-test")
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{api}/openapi.json",
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {token}",
        "--report-dir",
        str(tmp_path),
    ]
    # From the repository root: the configuration names its hooks by a path relative to it.
    run = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, cwd=ROOT)
    exit_code = run.returncode  # a name, so a failure shows the report, not the whole process
    assert exit_code == 0, (
        f"schemathesis found contract violations in {service} ({api}), exit {exit_code}:\n"
        f"{findings(run.stdout)}\n{run.stderr[-2000:]}"
    )
    # A run that tested nothing would pass without proving anything.
    generated = re.search(r"(\d+) generated", run.stdout)
    assert generated and int(generated.group(1)) > 0, run.stdout[-3000:]
