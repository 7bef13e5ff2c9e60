"""The demo's admitted clients in coaching: a week of diary cards, shared goals with theo and
alliance check-ins (one client's last one low: a rupture for theo to repair), so a therapist's
client pages show charts from the first sign-in. Written as the clients themselves and as theo
would (dev-key tokens: a client's subject is their client id), through coaching's API.

The check-ins go last and mark the client done: a client whose alliance series has points is
left alone, so a second load writes nothing. A load that stopped before them writes the cards
again (a day's card replaces that day's, with the same content) and adds only missing goals.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from .tokens import mint_token

#: (emotions, urges, skills used, distress) of the days before today, oldest first.
WEEK = (
    ({"sadness": 3, "anger": 2, "shame": 2}, [("self_harm", 2, False)], ["wise_mind"], 6),
    ({"sadness": 3, "anger": 1, "shame": 2}, [("self_harm", 1, False)], ["tipp"], 5),
    ({"sadness": 2, "anger": 2, "shame": 1}, [("substances", 2, False)], ["check_the_facts"], 5),
    ({"sadness": 2, "anger": 1, "shame": 1}, [("self_harm", 1, False)], ["opposite_action"], 4),
    ({"sadness": 1, "anger": 1, "shame": 1}, [], ["wise_mind", "dear_man"], 3),
    ({"sadness": 2, "anger": 1, "shame": 0}, [("substances", 1, False)], ["observe"], 3),
)
#: Per client (given name): the shared goal with theo, and the check-in ratings (4 items, 0-10;
#: a total under 36 is a possible rupture, coaching's ``domain.relationship``).
PLANS = {
    "Gus": {
        "goal": "Use TIPP before distress passes 7",
        "checkins": ([9, 9, 9, 9], [10, 9, 9, 9], [9, 9, 9, 10], [10, 10, 9, 9]),
    },
    "Hal": {
        "goal": "Go back to the evening class twice a week",
        "checkins": ([9, 9, 9, 9], [9, 9, 9, 9], [9, 9, 9, 10], [9, 9, 9, 9], [7, 6, 6, 7]),
    },
}


def load(api, site: str, clients: dict[str, str], theo: str) -> None:
    """``clients``: given name -> client id (their referral's id) of the admitted clients;
    ``theo``: his subject (he is their therapist)."""
    therapist = mint_token(["therapist"], [site], theo)
    for given, plan in PLANS.items():
        client_id = clients[given]
        client = mint_token(["client"], [site], client_id)
        # coaching learns of the client from intake's admission: 404 until it has
        alliance = api.call(
            "GET", "coaching", f"/v1/clients/{client_id}/alliance", token=client, wait=(404,)
        )
        if alliance["series"]:
            continue
        _diary_week(api, client)
        goals = api.call("GET", "coaching", f"/v1/clients/{client_id}/goals", token=therapist)
        if plan["goal"] not in {goal["title"] for goal in goals["items"]}:  # the first page
            target = (datetime.now(UTC) + timedelta(weeks=8)).date().isoformat()
            body = {"title": plan["goal"], "target_date": target,
                    "why": "Agreed with theo at the first individual session (demo)."}  # fmt: skip
            api.call("POST", "coaching", f"/v1/clients/{client_id}/goals", body, token=therapist)
            api.count("goals")
        for ratings in plan["checkins"]:
            body = {"session_kind": "individual", "ratings": ratings}
            api.call("POST", "coaching", "/v1/alliance-checkins", body, token=client)
            api.count("alliance check-ins")


def _diary_week(api, client: str) -> None:
    # The days before today in UTC: begun at every site, whatever its time zone.
    today = datetime.now(UTC).date()
    for back, (emotions, urges, skills, distress) in enumerate(reversed(WEEK), start=1):
        body: dict[str, Any] = {
            "date": (today - timedelta(days=back)).isoformat(),
            "emotions": emotions,
            "urges": [{"target": t, "rating": r, "acted": a} for t, r, a in urges],
            "skills_used": skills,
            "distress": distress,
        }
        api.call("POST", "coaching", "/v1/diary-cards", body, token=client)
        api.count("diary cards")
