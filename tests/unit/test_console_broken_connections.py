"""A connection that breaks before the service answers (a pooled keep-alive connection the
service had just closed, an api process restarting) costs a page nothing when the call is safe
to repeat: a read, or a write with an idempotency key, is tried once more. A write that could
have landed is never sent twice, and a slow service is not waited for twice."""

from __future__ import annotations

import pytest
import requests

from console.client import Answer, ServiceClient, ServiceUnavailable

URLS = {"intake": "http://intake.test"}


class BreaksFirst:
    """The service's transport: the first ``breaks`` calls fail with ``error``, then it answers."""

    def __init__(self, error: Exception, breaks: int = 1) -> None:
        self.error = error
        self.breaks = breaks
        self.sent: list[tuple[str, str]] = []

    def __call__(self, method, url, headers, params, body, timeout) -> Answer:
        self.sent.append((method, url))
        if len(self.sent) <= self.breaks:
            raise self.error
        return Answer(200, {}, {"id": "site-north"})


def _reset() -> requests.ConnectionError:
    return requests.ConnectionError(ConnectionResetError(104, "Connection reset by peer"))


def test_a_read_on_a_connection_the_service_just_closed_is_answered():
    transport = BreaksFirst(_reset())
    client = ServiceClient(URLS, transport)
    assert client.call("intake", "GET", "/v1/sites/site-north", "token") == {"id": "site-north"}
    assert len(transport.sent) == 2


def test_a_write_with_an_idempotency_key_is_sent_again_and_one_without_is_not():
    keyed = BreaksFirst(_reset())
    assert ServiceClient(URLS, keyed).call(
        "intake", "POST", "/v1/referrals", "token", body={}, idempotency_key="k-1"
    )
    assert len(keyed.sent) == 2

    bare = BreaksFirst(_reset())
    with pytest.raises(ServiceUnavailable) as refused:
        ServiceClient(URLS, bare).call("intake", "POST", "/v1/referrals", "token", body={})
    assert len(bare.sent) == 1  # it may have landed: the page says so, nothing is sent twice
    assert refused.value.cause == "ConnectionError"


def test_a_slow_service_is_not_waited_for_twice_and_the_cause_is_kept():
    slow = BreaksFirst(requests.ReadTimeout("read timed out"))
    with pytest.raises(ServiceUnavailable) as unavailable:
        ServiceClient(URLS, slow).call("intake", "GET", "/v1/sites", "token")
    assert len(slow.sent) == 1
    assert unavailable.value.service == "intake"
    assert unavailable.value.cause == "ReadTimeout"


def test_a_service_down_for_good_is_unavailable_after_the_second_try():
    down = BreaksFirst(_reset(), breaks=5)
    with pytest.raises(ServiceUnavailable):
        ServiceClient(URLS, down).call("intake", "GET", "/v1/sites", "token")
    assert len(down.sent) == 2


def test_a_server_error_is_unavailable_with_its_status():
    client = ServiceClient(URLS, lambda *a: Answer(503, {}, None))
    with pytest.raises(ServiceUnavailable) as unavailable:
        client.call("intake", "GET", "/v1/sites", "token")
    assert unavailable.value.cause == "answered 503"


def test_a_look_up_by_post_is_repeated_like_a_read():
    transport = BreaksFirst(_reset())
    calls = ServiceClient(URLS, transport).as_user("token")
    assert calls.look_up("intake", "/v1/clients/display-names", {"client_ids": ["c-1"]})
    assert [m for m, _ in transport.sent] == ["POST", "POST"]
