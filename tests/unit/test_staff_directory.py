"""Who works where is the platform's data: intake's staff directory, kept by every service from
``intake.staff.changed.v1``, gives a signed-in person (a token of a ``directory`` issuer, the
identity provider) their roles at each site; roles are per site, a removal or a deactivation
takes effect at the next request once the event is in (and the few seconds' cache is past).
Tokens of the dev key (``token`` issuer: ``make token``, the tests) keep their claims.

Intake's and skills-group's apps on their in-memory wiring; the event intake records is handed
to the shared handler as the consumer would; the read model is a dict-backed collection with
MongoDB's upsert semantics (the same handler on FerretDB: tests/integration/test_staff_access.py).
"""

from __future__ import annotations

import pytest
from pymongo.errors import DuplicateKeyError, ServerSelectionTimeoutError

from coaching.services import common
from dbt_shared import staff_directory, vocabulary
from dbt_shared.auth import Principal
from dbt_shared.clock import FixedClock
from dbt_shared.errors import Forbidden, NotFound
from dbt_shared.events.consumer import HandlerContext
from dbt_shared.staff_directory import StaffDirectory
from devstack import mint_token, paths
from intake import bootstrap as intake_bootstrap
from intake.app import create_app as intake_app
from skills_group import bootstrap as skills_bootstrap
from skills_group import services as skills_services
from skills_group.app import create_app as skills_app
from support import referral_body

IDP = "https://idp.test/realms/dbt"  # stands for Keycloak: site roles from the directory
CARLA = "0c1e0000-0000-4000-8000-00000000000b"


class Entries:
    """The ``staff_directory`` collection: ``find_one`` by ``_id``; ``update_one`` with the
    handler's filter (``_id`` and ``version $lt``) and MongoDB's upsert (an unmatched filter
    inserts, and an ``_id`` kept already is a DuplicateKeyError)."""

    def __init__(self) -> None:
        self.docs: dict[str, dict] = {}
        self.reads = 0
        self.down = False

    def find_one(self, query):
        self.reads += 1
        if self.down:
            raise ServerSelectionTimeoutError("down")
        found = self.docs.get(query["_id"])
        return dict(found) if found else None

    def update_one(self, query, update, upsert=False):
        kept = self.docs.get(query["_id"])
        if kept is not None and kept["version"] < query["version"]["$lt"]:
            kept.update(update["$set"])
        elif kept is not None:
            raise DuplicateKeyError("E11000 duplicate key")
        elif upsert:
            self.docs[query["_id"]] = {"_id": query["_id"], **update["$set"]}


class Seconds:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def idp_env(api_env, monkeypatch):
    monkeypatch.setenv("AUTH_EXTRA_ISSUER", IDP)
    monkeypatch.setenv("AUTH_EXTRA_PUBLIC_KEY_FILE", str(paths.JWT_PUBLIC_KEY))
    monkeypatch.setenv("AUTH_EXTRA_SITE_ROLES_FROM", "directory")


def signed_in(sub: str, roles=(), sites=()) -> dict:
    """A token of the identity provider (whatever roles and sites it claims)."""
    return {"Authorization": "Bearer " + mint_token(list(roles), list(sites), sub, issuer=IDP)}


@pytest.fixture
def entries() -> Entries:
    return Entries()


@pytest.fixture
def seconds() -> Seconds:
    return Seconds()


@pytest.fixture
def intake(idp_env, clock):
    components = intake_bootstrap.in_memory(clock)
    return components, intake_app(components).test_client()


@pytest.fixture
def skills(idp_env, clock, entries, seconds):
    app = skills_app(skills_bootstrap.in_memory(clock))
    app.extensions["dbt"].staff_directory = StaffDirectory(entries, cache_s=2.0, clock=seconds)
    return app.test_client()


@pytest.fixture
def operator(auth):
    return auth(["operator"], [], "op")


@pytest.fixture
def sites(intake, operator) -> tuple[str, str]:
    _, client = intake
    made = []
    for name in ("North", "South"):
        created = client.post(
            "/v1/sites",
            json={"name": name, "timezone": "Europe/London", "intake_email": "i@n.example"},
            headers=operator,
        )
        assert created.status_code == 201, created.json
        made.append(created.json["id"])
    return made[0], made[1]


def recorded(intake) -> list:
    components, _ = intake
    return [e for e in components.repositories.staff.events if e.type.startswith("intake.staff")]


def deliver(events, entries: Entries, clock) -> None:
    """What each service's consumer does with intake's staff events."""
    ctx = HandlerContext(db={staff_directory.COLLECTION: entries}, clock=clock, service="any")
    for event in events:
        staff_directory.on_staff_changed(event, event.data, ctx)


def put(intake, operator, sub: str, memberships: list[dict], **more):
    _, client = intake
    body = {"display_name": "Carla Jones", "memberships": memberships, **more}
    return client.put(f"/v1/staff/{sub}", json=body, headers=operator)


def waitlist(skills, site_id: str, headers: dict) -> int:
    return skills.get(f"/v1/waitlist?site_id={site_id}", headers=headers).status_code


def test_a_coordinator_at_one_site_and_therapist_at_another_coordinates_only_the_first(
    intake, skills, operator, sites, entries, clock
):
    north, south = sites
    answer = put(
        intake,
        operator,
        CARLA,
        [{"site_id": north, "roles": ["coordinator"]}, {"site_id": south, "roles": ["therapist"]}],
    )
    assert answer.status_code == 201, answer.json
    deliver(recorded(intake), entries, clock)
    # The token claims coordinator at both sites: not trusted, the directory says where.
    carla = signed_in(CARLA, ["coordinator"], [north, south])
    assert waitlist(skills, north, carla) == 200
    assert waitlist(skills, south, carla) == 404  # a therapist there: no coordinator work


def test_removing_a_membership_takes_effect_once_the_event_is_in(
    intake, skills, operator, sites, entries, seconds, clock
):
    north, _ = sites
    put(intake, operator, CARLA, [{"site_id": north, "roles": ["coordinator"]}])
    deliver(recorded(intake), entries, clock)
    carla = signed_in(CARLA)
    assert waitlist(skills, north, carla) == 200

    assert put(intake, operator, CARLA, []).status_code == 200
    deliver(recorded(intake)[-1:], entries, clock)
    seconds.now += 2.0  # the directory's cache time
    assert waitlist(skills, north, carla) == 403  # a coordinator nowhere now: the rule refuses


def test_a_deactivated_member_is_refused_everything_even_what_the_token_asserts(
    intake, skills, operator, sites, entries, seconds, clock
):
    north, _ = sites
    put(intake, operator, CARLA, [{"site_id": north, "roles": ["coordinator"]}])
    _, client = intake
    answer = client.post(f"/v1/staff/{CARLA}/deactivation", headers=operator)
    assert answer.status_code == 200 and answer.json["active"] is False
    deliver(recorded(intake), entries, clock)
    seconds.now += 2.0
    carla = signed_in(CARLA, ["operator"])  # the provider still says operator
    assert waitlist(skills, north, carla) == 403
    assert skills.get("/v1/sites", headers=carla).status_code == 403


def test_an_older_event_does_not_undo_a_newer_one(
    intake, skills, operator, sites, entries, seconds, clock
):
    north, _ = sites
    put(intake, operator, CARLA, [{"site_id": north, "roles": ["coordinator"]}])
    put(intake, operator, CARLA, [])
    first, second = recorded(intake)
    assert (first.data["version"], second.data["version"]) == (1, 2)
    deliver([second, first, second], entries, clock)  # late and repeated
    assert entries.docs[CARLA]["memberships"] == []
    assert waitlist(skills, north, signed_in(CARLA)) == 403


def test_an_organisation_wide_operator_from_the_provider_still_acts_on_every_site(
    skills, sites, entries
):
    _, south = sites
    assert waitlist(skills, south, signed_in("olivia", ["operator"])) == 200


def test_dev_key_tokens_keep_their_roles_and_sites(skills, auth, sites, entries):
    north, south = sites
    coordinator = auth(["coordinator"], [south], "someone")
    assert waitlist(skills, south, coordinator) == 200
    assert waitlist(skills, north, coordinator) == 404
    assert entries.reads == 0  # the directory is not asked about them


def test_without_the_directory_no_site_role_is_guessed(skills, sites, entries):
    north, _ = sites
    entries.down = True
    answer = skills.get(f"/v1/waitlist?site_id={north}", headers=signed_in(CARLA))
    assert answer.status_code == 503


def test_the_staff_api_is_for_operators_and_says_which_field_is_wrong(
    intake, operator, auth, sites
):
    north, _ = sites
    _, client = intake
    coordinator = auth(["coordinator"], [north], "co")
    assert client.get("/v1/staff", headers=coordinator).status_code == 403
    body = {"display_name": "X", "memberships": [{"site_id": north, "roles": ["coordinator"]}]}
    assert client.put(f"/v1/staff/{CARLA}", json=body, headers=coordinator).status_code == 403

    unknown = put(intake, operator, CARLA, [{"site_id": "nowhere", "roles": ["therapist"]}])
    assert unknown.status_code == 422
    assert "memberships.0.site_id" in str(unknown.json)
    twice = put(
        intake,
        operator,
        CARLA,
        [{"site_id": north, "roles": ["therapist"]}, {"site_id": north, "roles": ["facilitator"]}],
    )
    assert twice.status_code == 422 and "memberships.1.site_id" in str(twice.json)
    bad_role = put(intake, operator, CARLA, [{"site_id": north, "roles": ["operator"]}])
    assert bad_role.status_code == 422
    assert client.get(f"/v1/staff/{CARLA}", headers=operator).status_code == 404
    assert recorded(intake) == []  # nothing refused was kept or announced


def test_staff_are_listed_and_each_change_is_on_the_sites_audit_trail(intake, operator, sites):
    north, south = sites
    _, client = intake
    put(intake, operator, CARLA, [{"site_id": north, "roles": ["coordinator"]}])
    put(intake, operator, CARLA, [{"site_id": north, "roles": ["coordinator"]}])  # no change
    put(intake, operator, "theo", [{"site_id": south, "roles": ["therapist"]}])
    assert len(recorded(intake)) == 2
    listed = client.get("/v1/staff?limit=1", headers=operator).json
    assert [m["id"] for m in listed["items"]] == [CARLA]
    rest = client.get(f"/v1/staff?limit=1&cursor={listed['next_cursor']}", headers=operator)
    assert [m["id"] for m in rest.json["items"]] == ["theo"]
    assert "display_name" not in recorded(intake)[0].data  # no name in events
    trail = client.get(f"/v1/audit?site_id={north}", headers=operator).json["items"]
    assert [(r["action"], r["object_id"]) for r in trail] == [("staff.changed", CARLA)]


def test_a_principal_with_site_roles_acts_per_site_and_per_rule():
    carla = Principal(
        CARLA,
        frozenset({"coordinator", "therapist"}),
        frozenset({"a", "b"}),
        site_roles={"a": frozenset({"coordinator"}), "b": frozenset({"therapist"})},
    )
    as_coordinator = carla.acting_as(("operator", "coordinator"))
    assert as_coordinator.can_act_on_site("a") and not as_coordinator.can_act_on_site("b")
    assert as_coordinator.site_filter() == frozenset({"a"})
    assert carla.acting_as(("coordinator", "therapist")).site_filter() == frozenset({"a", "b"})


def test_a_signed_in_member_reads_their_own_roles_per_site(
    intake, operator, sites, entries, seconds, clock
):
    north, south = sites
    _, client = intake
    app = client.application
    app.extensions["dbt"].staff_directory = StaffDirectory(entries, cache_s=2.0, clock=seconds)
    put(
        intake,
        operator,
        CARLA,
        [{"site_id": north, "roles": ["coordinator"]}, {"site_id": south, "roles": ["therapist"]}],
    )
    deliver(recorded(intake), entries, clock)
    mine = client.get("/v1/staff/me/roles", headers=signed_in(CARLA, ["operator", "therapist"]))
    assert mine.status_code == 200, mine.json
    assert mine.json == {
        "id": CARLA,
        "organisation_roles": ["operator"],
        "memberships": [
            {"site_id": north, "roles": ["coordinator"]},
            {"site_id": south, "roles": ["therapist"]},
        ],
    }
    assert client.get("/v1/staff/me/roles", headers=signed_in("nobody")).status_code == 403


def test_a_coordinator_elsewhere_sees_only_their_own_clients_where_they_are_a_therapist(
    intake, operator, auth, sites, entries, seconds, clock
):
    north, south = sites
    _, client = intake
    client.application.extensions["dbt"].staff_directory = StaffDirectory(
        entries, cache_s=2.0, clock=seconds
    )
    put(
        intake,
        operator,
        CARLA,
        [{"site_id": north, "roles": ["coordinator"]}, {"site_id": south, "roles": ["therapist"]}],
    )
    deliver(recorded(intake), entries, clock)
    referrals = {}
    for site_id in (north, south):
        made = client.post(
            "/v1/referrals",
            json=referral_body(site_id, preferred_channel="email", language="es"),
            headers=auth(["coordinator"], [site_id], "coord"),
        )
        assert made.status_code == 201, made.json
        referrals[site_id] = made.json["id"]
    carla = signed_in(CARLA)
    assert client.get(f"/v1/referrals/{referrals[north]}", headers=carla).status_code == 200
    # At south she is a therapist, and this client is not hers.
    assert client.get(f"/v1/referrals/{referrals[south]}", headers=carla).status_code == 404
    listed = client.get("/v1/referrals", headers=carla)
    assert [r["id"] for r in listed.json["items"]] == [referrals[north]]
    at_south = client.get(f"/v1/referrals?site_id={south}", headers=carla)
    assert at_south.status_code == 200 and at_south.json["items"] == []


def test_coaching_shows_a_client_to_the_coordinators_of_the_clients_site_only():
    from test_coaching_api import NOW, OTHER, SITE, seed

    c = seed(FixedClock(NOW))
    # A coordinator at the other site, a therapist (not client-1's) at client-1's site.
    otto = Principal(
        "sub-otto",
        frozenset({"coordinator", "therapist"}),
        frozenset({SITE, OTHER}),
        site_roles={OTHER: frozenset({"coordinator"}), SITE: frozenset({"therapist"})},
    ).acting_as(vocabulary.SITE_STAFF)
    with pytest.raises(NotFound):
        common.client_for(c, "client-1", otto, coordinators=True)
    coordinator_here = Principal(
        "sub-cora", frozenset({"coordinator"}), frozenset({SITE}), site_roles=None
    ).acting_as(vocabulary.SITE_STAFF)
    assert common.client_for(c, "client-1", coordinator_here, coordinators=True)["_id"]


def test_skills_group_lets_only_the_sites_coordinators_change_a_group_they_do_not_lead():
    from test_skills_services import COORDINATOR, NOW, OTHER_SITE, SITE, group_body, seeded

    c = seeded(FixedClock(NOW))
    group = skills_services.create_group(group_body(), c, COORDINATOR)
    # A coordinator at the other site who facilitates (other groups) at this one.
    mixed = Principal(
        "subject-zed",
        frozenset({"coordinator", "facilitator"}),
        frozenset({SITE, OTHER_SITE}),
        site_roles={OTHER_SITE: frozenset({"coordinator"}), SITE: frozenset({"facilitator"})},
    ).acting_as(("operator", "coordinator", "therapist", "facilitator"))
    with pytest.raises(Forbidden):
        skills_services.change_group(group["_id"], {"capacity": 3}, c, mixed)
    assert (
        skills_services.change_group(group["_id"], {"capacity": 3}, c, COORDINATOR)["capacity"] == 3
    )
