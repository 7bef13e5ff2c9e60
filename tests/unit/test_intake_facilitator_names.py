"""A facilitator's attendance sheet names its members: intake gives a facilitator the display
names of their site's admitted clients (names only, audited), nothing of clients still in the
pipeline or at another site."""

from __future__ import annotations

from test_intake_console_ops import (  # noqa: F401 (fixtures)
    client,
    components,
    coordinator,
    operator,
    record,
    site_id,
)


def test_a_facilitator_gets_the_names_of_their_sites_admitted_clients_only(
    client,  # noqa: F811
    site_id,  # noqa: F811
    coordinator,  # noqa: F811
    components,  # noqa: F811
    auth,
):
    admitted = record(client, coordinator, site_id)
    pending = record(client, coordinator, site_id, given_name="Ana", family_name="Ortiz")
    components.repositories.referrals.documents[admitted["id"]]["status"] = "admitted"
    fiona = auth(["facilitator"], [site_id], "fiona")
    before = len(components.repositories.audit.entries)

    names = client.post(
        "/v1/clients/display-names",
        json={"client_ids": [admitted["id"], pending["id"]]},
        headers=fiona,
    )

    assert names.status_code == 200
    assert names.json == {
        "items": [{"client_id": admitted["id"], "display_name": "Marisol Quintanilla"}]
    }
    (audited,) = components.repositories.audit.entries[before:]
    assert audited["actor"] == "fiona" and audited["object_ids"] == [admitted["id"]]
    elsewhere = auth(["facilitator"], ["another-site"], "fiona")
    other = client.post(
        "/v1/clients/display-names", json={"client_ids": [admitted["id"]]}, headers=elsewhere
    )
    assert other.json == {"items": []}
