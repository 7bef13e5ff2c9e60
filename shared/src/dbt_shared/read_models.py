"""The people a consuming service learns of from intake's events: its clinicians and the clients
admitted to its programs.

Intake owns both (its clinicians API and its referrals). Coaching, skills-group and
notifications keep what every one of them needs of them, from ``intake.clinician.registered``,
``intake.clinician.deactivated`` and ``intake.client.admitted``: ids, site, the identity
provider's subject and the clinical roles (no name, no PHI). A service's use case calls these
steps with the event's data; each is keyed on the event's id field, so a redelivered event
changes nothing, and each tolerates order: a deactivation learned before the registration it
follows (a replay of one partition, a compacted topic) leaves a clinician the late
registration fills in but does not make active again.

Each service adds what only it keeps to its own documents (coaching: a client's therapist
changes and safety state; skills-group: where a client stands with placement); this module
knows only what intake's events carry to all.
"""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from dbt_shared.errors import StaleWrite
from dbt_shared.storage.documents import DocumentStore

CLINICIANS = "clinicians"  # read model of intake's clinicians (site, subject, roles, active)
CLIENTS = "clients"  # admitted clients (site, program, therapist); each service adds its own
# Two writers of one clinician (a registration and a deactivation redelivered at once) settle
# within a few tries; more is a fault worth an error.
WRITE_ATTEMPTS = 5


def ensure_indexes(db: Database) -> None:
    """The indexes of the clinicians' queries below, beside ``_id``."""
    db[CLINICIANS].create_index("site_id", name="site")
    db[CLINICIANS].create_index("subject", name="subject")


class Clinicians:
    """Intake's clinicians as a service keeps them: ``{_id, site_id, subject, roles}``, and
    ``active: False`` once deactivated. One document per clinician record; a person working
    at two sites is two records with one subject."""

    def __init__(self, store: DocumentStore) -> None:
        self.store = store

    def get(self, clinician_id: str) -> dict[str, Any] | None:
        return self.store.get(clinician_id)  # index: _id

    def of_site(self, site_id: str) -> list[dict[str, Any]]:
        # index: site (site_id): a site's clinicians (tens)
        return self.store.find({"site_id": site_id}, sort=[("_id", 1)])

    def of_subject(self, subject: str) -> list[dict[str, Any]]:
        # index: subject (subject): a person's clinician records, one per site they work at
        return self.store.find({"subject": subject}, sort=[("_id", 1)])

    def at_site(self, site_id: str, subject: str) -> dict[str, Any] | None:
        """A person's clinician record at one site (``None`` where they do not work)."""
        # index: subject: a person's few records, the site's one kept
        return next((x for x in self.of_subject(subject) if x["site_id"] == site_id), None)

    def register(self, data: dict[str, Any]) -> dict[str, Any]:
        """``intake.clinician.registered``: the clinician, unless known already (a redelivery
        changes nothing; one learned first from its deactivation gets its subject and roles
        and stays inactive)."""
        learned = {
            "site_id": data["site_id"],
            "subject": data["subject"],
            "roles": list(data.get("roles") or []),
        }
        for _ in range(WRITE_ATTEMPTS):
            current = self.get(data["clinician_id"])
            if current is None:
                stored, created = self.store.insert({"_id": data["clinician_id"], **learned})
                if created:
                    return stored
                continue  # registered by a concurrent delivery: look again
            if "subject" in current:
                return current
            try:
                return self.store.save({**current, **learned})
            except StaleWrite:
                continue
        raise StaleWrite("clinician")

    def deactivate(self, data: dict[str, Any]) -> dict[str, Any]:
        """``intake.clinician.deactivated``: marked inactive (what the service gave them ends);
        one not seen registered is known from now on, inactive."""
        for _ in range(WRITE_ATTEMPTS):
            current = self.get(data["clinician_id"])
            if current is None:
                stored, created = self.store.insert(
                    {
                        "_id": data["clinician_id"],
                        "site_id": data["site_id"],
                        "roles": [],
                        "active": False,
                    }
                )
                if created:
                    return stored
                continue
            if current.get("active") is False:
                return current
            try:
                return self.store.save({**current, "active": False})
            except StaleWrite:
                continue
        raise StaleWrite("clinician")


def admit(clients: DocumentStore, data: dict[str, Any], **kept: Any) -> tuple[dict[str, Any], bool]:
    """``intake.client.admitted``: the client as every service keeps them (site, program,
    therapist, when), with ``kept``, what else this service keeps of them; and whether this
    delivery stored them (``False``: a redelivery, which changes nothing and answers the stored
    document)."""
    return clients.insert(
        {
            "_id": data["client_id"],
            "site_id": data["site_id"],
            "program_id": data["program_id"],
            "therapist_id": data["therapist_id"],
            "admitted_at": data["admitted_at"],
            **kept,
        }
    )
