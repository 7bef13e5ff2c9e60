"""Intake operations the staff console's workflows need, over HTTP on the in-memory wiring:
an operator edits a site (and the other services' read models of sites follow its time zone)."""

from __future__ import annotations

from typing import Any

import pytest

from dbt_shared import site_directory
from dbt_shared.contracts import intake as contract
from dbt_shared.events.handling import HandlerContext
from intake import bootstrap
from intake.app import create_app

SITE = {
    "name": "Riverside",
    "timezone": "America/Chicago",
    "intake_email": "i@r.example",
    "clinical_lead": {"name": "Dr. Lee", "email": "lead@r.example"},
}


@pytest.fixture
def components(clock):
    return bootstrap.in_memory(clock)


@pytest.fixture
def client(api_env, components):
    return create_app(components).test_client()


@pytest.fixture
def operator(auth):
    return auth(["operator"], [], "op")


@pytest.fixture
def site_id(client, operator) -> str:
    created = client.post("/v1/sites", json=SITE, headers=operator)
    assert created.status_code == 201, created.json
    return created.json["id"]


def site_events(components, type_: str) -> list:
    return [e for e in components.repositories.sites.events if e.type == type_]


# -- editing a site ----------------------------------------------------------------------------
def test_an_operator_changes_a_sites_name_and_time_zone_and_keeps_the_rest(
    client, operator, site_id, components
):
    changed = client.patch(
        f"/v1/sites/{site_id}",
        json={"name": "Riverside East", "timezone": "America/Denver"},
        headers=operator,
    )

    assert changed.status_code == 200, changed.json
    read = client.get(f"/v1/sites/{site_id}", headers=operator).json
    assert (read["name"], read["timezone"]) == ("Riverside East", "America/Denver")
    assert read["intake_email"] == "i@r.example"
    assert read["clinical_lead"]["name"] == "Dr. Lee"
    assert read["phone_region"] == "US"  # not moved by the new zone
    (event,) = site_events(components, contract.SITE_UPDATED)
    assert event.data["timezone"] == "America/Denver"
    assert sorted(event.data["changed"]) == ["name", "timezone"]
    assert "Riverside East" not in str(event.data)  # the values stay in intake


def test_a_site_edit_that_changes_nothing_records_no_event(client, operator, site_id, components):
    same = client.patch(f"/v1/sites/{site_id}", json={"name": "Riverside"}, headers=operator)

    assert same.status_code == 200
    assert site_events(components, contract.SITE_UPDATED) == []


def test_the_clinical_lead_is_changed_with_its_number_in_e164_or_removed(client, operator, site_id):
    lead = {"name": "Dr. Kim", "email": "kim@r.example", "phone": "312 555 0110"}
    changed = client.patch(f"/v1/sites/{site_id}", json={"clinical_lead": lead}, headers=operator)
    assert changed.status_code == 200, changed.json
    assert changed.json["clinical_lead"]["phone"] == "+13125550110"

    removed = client.patch(f"/v1/sites/{site_id}", json={"clinical_lead": None}, headers=operator)
    assert removed.status_code == 200 and removed.json["clinical_lead"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"name": ""}, "name"),
        ({"phone_region": "ZZ"}, "phone_region"),
        ({"intake_email": "not an address"}, "intake_email"),
        ({}, "_schema"),
    ],
)
def test_a_bad_site_edit_names_the_field_and_changes_nothing(
    client, operator, site_id, body, field
):
    refused = client.patch(f"/v1/sites/{site_id}", json=body, headers=operator)

    assert refused.status_code == 422
    assert field in [e["field"] for e in refused.json["errors"]]
    read = client.get(f"/v1/sites/{site_id}", headers=operator).json
    assert (read["name"], read["timezone"]) == ("Riverside", "America/Chicago")


def test_only_operators_edit_sites(client, auth, site_id, operator):
    coordinator = auth(["coordinator"], [site_id], "co")

    refused = client.patch(f"/v1/sites/{site_id}", json={"name": "Mine"}, headers=coordinator)
    missing = client.patch("/v1/sites/no-such-site", json={"name": "X"}, headers=operator)

    assert refused.status_code == 403
    assert missing.status_code == 404


class _Sites:
    """The part of a MongoDB collection the site directory's handlers use (upserts by id)."""

    def __init__(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}

    def update_one(self, query: dict, update: dict, upsert: bool = False) -> None:
        found = self.documents.get(query["_id"])
        if found is None:
            if not upsert:
                return
            found = self.documents[query["_id"]] = {"_id": query["_id"], **update["$setOnInsert"]}
        found.update(update["$set"])


def test_every_services_read_model_of_sites_follows_a_new_time_zone(
    client, operator, site_id, components, clock
):
    client.patch(f"/v1/sites/{site_id}", json={"timezone": "Europe/Dublin"}, headers=operator)
    sites = _Sites()
    ctx = HandlerContext(db={site_directory.COLLECTION: sites}, clock=clock, service="coaching")

    for event in components.repositories.sites.events:  # in order, as the topic delivers them
        site_directory.HANDLERS[event.type](event, event.data, ctx)

    assert sites.documents[site_id]["timezone"] == "Europe/Dublin"
