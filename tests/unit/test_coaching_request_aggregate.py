"""A coaching request's steps once it was made (``CoachingRequest``): in the clinic's order, each
recorded in the request's history with who and when, and a step out of order refused with
nothing changed; plain code, no storage."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from coaching.domain.requests import (
    HELD,
    Acknowledged,
    CalledBack,
    Closed,
    CoachingRequest,
)
from dbt_shared.errors import Conflict

NOW = datetime(2026, 3, 2, 21, 0, tzinfo=UTC)


def _request(status: str = "open") -> CoachingRequest:
    return CoachingRequest({"_id": "r-1", "status": status, "active": True, "history": []})


def test_a_request_is_acknowledged_called_back_and_closed_in_that_order():
    request = _request()
    request.acknowledge(by="dr-ana", now=NOW)
    request.call_back(by="dr-ana", now=NOW + timedelta(minutes=9))
    request.close(
        by="dr-ana", now=NOW + timedelta(minutes=30), outcome="skills_coached", duration_minutes=12
    )
    assert [h["what"] for h in request.state["history"]] == [
        "acknowledged",
        "called_back",
        "closed",
    ]
    assert request.events == [Acknowledged(), CalledBack(), Closed("skills_coached")]
    assert request.state["acknowledged_at"] == NOW
    assert request.state["status"] == "closed" and request.state["active"] is False


def test_calling_back_an_unacknowledged_request_answers_it_too():
    request = _request()
    request.call_back(by="dr-ben", now=NOW)
    assert request.state["acknowledged_at"] == NOW and request.state["acknowledged_by"] == "dr-ben"
    assert request.state["active"] is True  # called back: still in hand until closed


def test_a_held_request_may_be_acknowledged():
    request = _request(HELD)
    request.acknowledge(by="dr-ana", now=NOW)
    assert request.state["status"] == "acknowledged"


@pytest.mark.parametrize(
    "status, step",
    [
        ("acknowledged", lambda r: r.acknowledge(by="dr-ana", now=NOW)),
        ("called_back", lambda r: r.call_back(by="dr-ana", now=NOW)),
        ("closed", lambda r: r.call_back(by="dr-ana", now=NOW)),
        ("closed", lambda r: r.close(by="dr-ana", now=NOW, outcome="x", duration_minutes=1)),
    ],
)
def test_a_step_out_of_order_is_refused_and_changes_nothing(status, step):
    request = _request(status)
    before = copy.deepcopy(request.state)
    with pytest.raises(Conflict) as refused:
        step(request)
    assert refused.value.problem_kind == "request-state"
    assert request.state == before and request.events == []
