"""The local SMS sink (``devstack.sms_sink``): Twilio's Messages API as the notifications
service calls it, and the ``/api/messages`` listing that tests read. Runs in-process on a free
port; no stack needed."""

from __future__ import annotations

import dataclasses
import json
import re
from email.utils import parsedate_to_datetime

import pytest
import requests

from devstack import sms_sink, sms_store
from devstack.environment import service_env
from devstack.profile import SMS_ACCOUNT_SID, SMS_AUTH_TOKEN, SMS_FROM, Profile

SID = SMS_ACCOUNT_SID
TOKEN = SMS_AUTH_TOKEN
TO = "+13125550147"


@pytest.fixture
def start():
    servers = []

    def start(store=None):
        server = sms_sink.serve("127.0.0.1", 0, SID, TOKEN, store)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def sink(start):
    return start()


def send(url: str, data: dict, auth=(SID, TOKEN), account: str = SID) -> requests.Response:
    return requests.post(
        f"{url}/2010-04-01/Accounts/{account}/Messages.json", data=data, auth=auth, timeout=5
    )


def listing(url: str, **params) -> list[dict]:
    response = requests.get(f"{url}/api/messages", params=params, timeout=5)
    assert response.status_code == 200
    return response.json()


def test_dev_credentials_look_like_twilio_ones():
    assert re.fullmatch(r"AC[0-9a-f]{32}", SMS_ACCOUNT_SID)
    assert re.fullmatch(r"[0-9a-f]{32}", SMS_AUTH_TOKEN)


def test_notifications_get_the_sink_in_their_environment(tmp_path):
    p = dataclasses.replace(Profile.test(port_offset=0), root=tmp_path)  # metrics dirs go there
    env = service_env(p, "notifications")
    assert env["SMS_BASE_URL"] == p.sms_url == "http://127.0.0.1:18030"
    assert (env["SMS_ACCOUNT_SID"], env["SMS_AUTH_TOKEN"]) == (SID, TOKEN)
    assert env["SMS_FROM"] == SMS_FROM
    assert "SMS_BASE_URL" not in service_env(p, "skills-group")
    assert Profile.dev().ports()["sms-sink"] == 8030
    assert Profile.test(port_offset=7).ports()["sms-sink"] == 18037


def test_healthz(sink):
    response = requests.get(f"{sink.url}/healthz", timeout=5)
    assert (response.status_code, response.text) == (200, "ok")


def test_a_sent_message_is_answered_like_twilio_and_listed(sink):
    response = send(
        sink.url,
        {"To": TO, "From": SMS_FROM, "Body": "New referral", "StatusCallback": "http://x/cb"},
    )
    assert response.status_code == 201
    message = response.json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", message["sid"])
    assert message["account_sid"] == SID
    assert (message["to"], message["from"], message["body"]) == (TO, SMS_FROM, "New referral")
    assert message["status"] == "queued"
    assert message["direction"] == "outbound-api"
    assert message["api_version"] == "2010-04-01"
    assert message["num_segments"] == "1"
    assert message["price"] is None
    assert message["error_code"] is None and message["error_message"] is None
    assert message["uri"] == f"/2010-04-01/Accounts/{SID}/Messages/{message['sid']}.json"
    assert parsedate_to_datetime(message["date_created"]).utcoffset().total_seconds() == 0

    [listed] = listing(sink.url)
    assert set(listed) == {"sid", "to", "from", "body", "received_at"}
    assert (listed["sid"], listed["to"], listed["from"], listed["body"]) == (
        message["sid"],
        TO,
        SMS_FROM,
        "New referral",
    )
    assert listed["received_at"].endswith("Z")


def test_listing_is_oldest_first_and_filters_by_number(sink):
    for to, body in ((TO, "first"), ("+15555550100", "other"), (TO, "second")):
        assert send(sink.url, {"To": to, "From": SMS_FROM, "Body": body}).status_code == 201
    assert [m["body"] for m in listing(sink.url)] == ["first", "other", "second"]
    assert [m["body"] for m in listing(sink.url, to=TO)] == ["first", "second"]
    unescaped = requests.get(f"{sink.url}/api/messages?to={TO}", timeout=5).json()
    assert [m["body"] for m in unescaped] == ["first", "second"]


def test_an_unescaped_plus_is_kept(sink):
    data = f"To={TO}&From={SMS_FROM}&Body=hi"  # as `curl -d To=+1...` sends it
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    url = f"{sink.url}/2010-04-01/Accounts/{SID}/Messages.json"
    response = requests.post(url, data=data, headers=headers, auth=(SID, TOKEN), timeout=5)
    assert (response.json()["to"], response.json()["from"]) == (TO, SMS_FROM)


def test_a_messaging_service_may_replace_from(sink):
    response = send(sink.url, {"To": TO, "MessagingServiceSid": "MG" + "1" * 32, "Body": "hi"})
    assert response.status_code == 201
    assert response.json()["from"] is None


@pytest.mark.parametrize(
    "auth",
    [None, (SID, "0" * 32), ("AC" + "0" * 32, TOKEN)],
    ids=["missing", "wrong-token", "wrong-sid"],
)
def test_wrong_auth_is_401_and_nothing_is_kept(sink, auth):
    response = send(sink.url, {"To": TO, "From": SMS_FROM, "Body": "x"}, auth=auth)
    assert response.status_code == 401
    assert response.json() == {"code": 20003, "message": "Authenticate", "status": 401}
    assert listing(sink.url) == []


def test_another_account_in_the_path_is_404(sink):
    response = send(sink.url, {"To": TO, "From": SMS_FROM, "Body": "x"}, account="AC" + "1" * 32)
    assert response.status_code == 404
    assert response.json()["code"] == 20404
    assert listing(sink.url) == []


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        ({"From": SMS_FROM, "Body": "x"}, 21604, "A 'To' phone number is required."),
        ({"To": "", "From": SMS_FROM, "Body": "x"}, 21604, "A 'To' phone number is required."),
        ({"To": TO, "Body": "x"}, 21603, "A 'From' phone number is required."),
        ({"To": TO, "From": SMS_FROM}, 21602, "Message body is required."),
    ],
)
def test_missing_fields_are_400(sink, data, code, message):
    response = send(sink.url, data)
    assert response.status_code == 400
    assert response.json() == {"code": code, "message": message, "status": 400}
    assert listing(sink.url) == []


def test_delete_clears_the_messages(sink):
    send(sink.url, {"To": TO, "From": SMS_FROM, "Body": "x"})
    assert requests.delete(f"{sink.url}/api/messages", timeout=5).status_code == 204
    assert listing(sink.url) == []


def test_the_store_file_survives_a_restart(start, tmp_path):
    store = tmp_path / "sms-sink" / "messages.jsonl"
    first = start(store)
    sid = send(first.url, {"To": TO, "From": SMS_FROM, "Body": "kept"}).json()["sid"]
    first.close()
    with store.open("a") as fh:
        fh.write('{"sid": "SMcut-sho')  # a line cut short when the sink was killed
    second = start(store)
    assert [(m["sid"], m["body"]) for m in listing(second.url)] == [(sid, "kept")]
    requests.delete(f"{second.url}/api/messages", timeout=5)
    second.close()
    assert listing(start(store).url) == []


def test_at_most_the_limit_is_kept_and_the_file_is_compacted(tmp_path):
    path = tmp_path / "messages.jsonl"
    store = sms_store.MessageStore(path, limit=3)
    for i in range(8):
        store.add({"sid": f"SM{i}", "to": TO, "body": str(i)})
    assert [m["sid"] for m in store.list()] == ["SM5", "SM6", "SM7"]
    assert len(path.read_text().splitlines()) <= 2 * 3
    assert [m["sid"] for m in sms_store.MessageStore(path, limit=3).list()] == ["SM5", "SM6", "SM7"]


def test_the_log_has_no_numbers_or_bodies(sink, capsys):
    send(sink.url, {"To": TO, "From": SMS_FROM, "Body": "private words"})
    requests.get(f"{sink.url}/api/messages", params={"to": TO}, timeout=5)
    err = capsys.readouterr().err
    assert "POST" in err and "/api/messages" in err
    assert "5550147" not in err and "private words" not in err


@pytest.mark.parametrize(
    ("body", "segments"),
    [("a" * 160, 1), ("a" * 161, 2), ("{" * 80, 1), ("é" * 160, 1), ("ł" * 70, 1), ("ł" * 71, 2)],
)
def test_segments(body, segments):
    assert sms_sink.num_segments(body) == segments


def test_json_lines_are_plain_json(start, tmp_path):
    store = tmp_path / "m.jsonl"
    send(start(store).url, {"To": TO, "From": SMS_FROM, "Body": "ñ"})
    [line] = store.read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["body"] == "ñ"
