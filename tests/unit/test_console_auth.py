"""The console's sign-in: tokens stay on the server, the browser holds only a session id;
idle sessions end; the access token is renewed; sign-out ends both sessions; every POST needs
the session's CSRF token. The provider is faked at Authlib's boundary (console.testing)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from console import bootstrap
from console.app import create_app
from console.sessions import COOKIE_NAME
from console.testing import FakeProvider, FakeServices, problem

SITE = "site-north"


@pytest.fixture
def provider(clock):
    fake = FakeProvider(clock)
    fake.sign_in_as("Carla Coordinator", ["coordinator"], [SITE], sub="carla-id")
    return fake


@pytest.fixture
def services():
    fake = FakeServices(bootstrap.settings_for_tests().service_urls)
    fake.on("GET", "intake", "/v1/sites", {"items": [{"id": SITE, "name": "North"}]})
    fake.on("GET", "intake", "/v1/waitlist", {"site_id": SITE, "stages": [], "items": []})
    return fake


@pytest.fixture
def wired(clock, provider, services):
    return bootstrap.in_memory(clock, provider, services)


@pytest.fixture
def client(wired):
    return create_app(wired).test_client()


def sign_in(client) -> str:
    """Through the sign-in redirect and back; the Set-Cookie header of the callback."""
    started = client.get("/auth/sign-in")
    assert started.status_code == 302
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    back = client.get(f"/auth/callback?code=c0de&state={state}")
    assert back.status_code == 302, back.data
    return back.headers.get("Set-Cookie", "")


def test_sign_in_keeps_the_tokens_on_the_server_and_gives_the_browser_only_an_id(client, wired):
    cookie = sign_in(client)
    assert COOKIE_NAME in cookie
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    (record,) = wired.sessions.records.values()
    tokens = record["data"]["tokens"]
    assert tokens["access_token"] and tokens["refresh_token"] == "refresh-1"
    for secret in (tokens["access_token"], tokens["refresh_token"], tokens["id_token"]):
        assert secret not in cookie
    page = client.get("/referrals")
    assert page.status_code == 200
    assert tokens["access_token"].encode() not in page.data
    assert b"Carla Coordinator" in page.data and b"Intake coordinator" in page.data


def test_the_cookie_is_secure_unless_the_console_is_on_plain_localhost(clock, provider, services):
    remote = bootstrap.in_memory(clock, provider, services, base_url="https://console.example")
    assert "Secure" in sign_in(create_app(remote).test_client())
    local = bootstrap.in_memory(clock, provider, services)
    assert "Secure" not in sign_in(create_app(local).test_client())


def test_sign_in_gives_a_new_session_id(client, wired):
    client.get("/auth/sign-in")
    (before,) = wired.sessions.records
    sign_in(client)
    assert before not in wired.sessions.records
    assert len(wired.sessions.records) == 1


def test_a_callback_with_a_state_that_was_not_issued_signs_no_one_in(client, wired):
    client.get("/auth/sign-in")
    answer = client.get("/auth/callback?code=c0de&state=forged")
    assert answer.status_code == 401
    assert b"Sign-in did not work" in answer.data
    assert all("user" not in r["data"] for r in wired.sessions.records.values())


def test_pages_send_a_visitor_who_is_not_signed_in_to_the_start_page(client):
    answer = client.get("/referrals?stage=screening")
    assert answer.status_code == 302 and urlsplit(answer.headers["Location"]).path == "/"
    start = client.get(answer.headers["Location"])
    assert b"Sign in" in start.data
    assert b'href="/auth/sign-in?next=/referrals?stage%3Dscreening"' in start.data


def back_from_sign_in(client, next_path: str) -> str:
    started = client.get("/auth/sign-in", query_string={"next": next_path})
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    return client.get(f"/auth/callback?code=c&state={state}").headers["Location"]


def test_after_sign_in_the_console_opens_the_page_asked_for(client):
    assert back_from_sign_in(client, "/referrals?stage=screening") == "/referrals?stage=screening"


@pytest.mark.parametrize("elsewhere", ["//evil.example/x", "https://evil.example/", "/\\evil"])
def test_after_sign_in_the_console_never_sends_the_user_to_another_host(client, elsewhere):
    assert back_from_sign_in(client, elsewhere) == "/home"


def test_the_services_are_called_with_the_users_access_token(client, wired, services):
    sign_in(client)
    client.get("/referrals")
    (record,) = wired.sessions.records.values()
    bearer = f"Bearer {record['data']['tokens']['access_token']}"
    assert services.calls and all(c["headers"]["Authorization"] == bearer for c in services.calls)


def test_an_idle_session_ends_on_the_server(client, wired, clock):
    sign_in(client)
    clock.advance(timedelta(seconds=wired.settings.session_idle_s - 60))
    assert client.get("/referrals").status_code == 200  # used within the limit: still on
    clock.advance(timedelta(seconds=wired.settings.session_idle_s + 1))
    answer = client.get("/referrals")
    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer.headers["Location"]).query)["ended"] == ["idle"]
    assert not wired.sessions.records  # the tokens are gone, not just the cookie
    assert b"not used for a while" in client.get("/?ended=idle").data


def test_the_access_token_is_renewed_with_the_refresh_token_before_it_expires(
    client, wired, clock, provider, services
):
    sign_in(client)
    clock.advance(timedelta(seconds=provider.lifetime_s - 10))
    assert client.get("/referrals").status_code == 200
    assert provider.refreshed == ["refresh-1"]
    (record,) = wired.sessions.records.values()
    assert record["data"]["tokens"]["refresh_token"] == "refresh-2"
    assert services.calls[-1]["headers"]["Authorization"].endswith(
        record["data"]["tokens"]["access_token"]
    )


def test_a_refused_refresh_ends_the_session(client, wired, clock, provider):
    sign_in(client)
    provider.refusing_refresh = True
    clock.advance(timedelta(seconds=provider.lifetime_s))
    answer = client.get("/referrals")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("ended=expired")
    assert not wired.sessions.records


def test_sign_out_deletes_the_session_and_ends_the_providers_session(client, wired):
    sign_in(client)
    (record,) = wired.sessions.records.values()
    csrf, id_token = record["data"]["csrf"], record["data"]["tokens"]["id_token"]
    answer = client.post("/auth/sign-out", data={"csrf_token": csrf})
    assert answer.status_code == 302
    target = urlsplit(answer.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == FakeProvider.END_SESSION
    query = parse_qs(target.query)
    assert query["id_token_hint"] == [id_token]
    assert query["post_logout_redirect_uri"] == [wired.settings.base_url + "/"]
    assert not wired.sessions.records
    assert f"{COOKIE_NAME}=;" in answer.headers["Set-Cookie"]
    assert client.get("/referrals").status_code == 302  # signed out here too


def test_a_post_without_the_sessions_csrf_token_is_refused(client, wired, services):
    sign_in(client)
    before = len(services.calls)
    for headers, data in (({}, {}), ({}, {"csrf_token": "guess"}), ({"HX-Request": "true"}, {})):
        answer = client.post("/sites/new", data={"name": "X", **data}, headers=headers)
        assert answer.status_code == 400
    assert len(services.calls) == before  # nothing reached a service
    (record,) = wired.sessions.records.values()
    signed_out = client.post("/auth/sign-out", data={"csrf_token": "guess"})
    assert signed_out.status_code == 400 and wired.sessions.records  # still signed in
    # htmx sends the token as a header: accepted
    ok = client.post("/auth/sign-out", headers={"X-CSRF-Token": record["data"]["csrf"]})
    assert ok.status_code == 302


def test_every_page_has_a_strict_policy_and_is_not_stored(client):
    sign_in(client)
    for path in ("/", "/referrals", "/no-such-page"):
        headers = client.get(path).headers
        assert headers["Cache-Control"] == "no-store"
        policy = headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "script-src 'self';" in policy
        assert "unsafe-inline" not in policy


# -- who may do what where: the staff directory, not the token --------------------------------
def test_the_pages_follow_the_staff_directory_not_the_tokens_site_roles(client, wired, services):
    services.on(
        "GET",
        "intake",
        "/v1/staff/me/roles",
        {
            "id": "carla-id",
            "organisation_roles": [],
            "memberships": [{"site_id": "site-south", "roles": ["coordinator"]}],
        },
    )
    services.on(
        "GET",
        "intake",
        "/v1/sites",
        {"items": [{"id": SITE, "name": "North"}, {"id": "site-south", "name": "South"}]},
    )
    sign_in(client)  # the token says: coordinator at site-north
    (record,) = wired.sessions.records.values()
    user = record["data"]["user"]
    assert user["sites"] == ["site-south"] and user["site_roles"] == {"site-south": ["coordinator"]}
    client.get("/referrals")
    (waitlist,) = [c for c in services.calls if c["path"] == "/v1/waitlist"]
    assert waitlist["params"]["site_id"] == "site-south"


def test_someone_the_directory_does_not_know_keeps_only_organisation_wide_roles(clock, services):
    services.on("GET", "intake", "/v1/staff/me/roles", problem(404, "No such staff member."))
    for roles, page_status in ((["coordinator"], 403), (["operator"], 200)):
        provider = FakeProvider(clock)
        provider.sign_in_as("Someone", roles, [SITE])
        services.on("GET", "skills-group", "/v1/groups", [])
        client = create_app(bootstrap.in_memory(clock, provider, services)).test_client()
        sign_in(client)
        assert client.get("/referrals").status_code == page_status


def test_a_role_taken_away_in_the_directory_shows_at_the_next_token_refresh(
    client, clock, provider, services
):
    sign_in(client)
    assert client.get("/referrals").status_code == 200
    services.on(
        "GET",
        "intake",
        "/v1/staff/me/roles",
        {"id": "carla-id", "organisation_roles": [], "memberships": []},
    )
    clock.advance(timedelta(seconds=provider.lifetime_s - 10))
    page = client.get("/referrals")
    assert page.status_code == 403 and b"Carla Coordinator" in page.data
