"""Diary cards: one per client and day (a second replaces the first), sealed at rest; the
weekly summary for the client and their therapist; the safety state a card leaves (an urge to
suicide of 4 or more sends the client's next requests down the crisis path; self-harm acted on
starts the 24-hour rule and, like a high urge, raises ``coaching.risk.flagged.v1``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from coaching import events, metrics
from coaching.bootstrap import Components
from coaching.domain import diary
from coaching.services.common import audit, change_safety, client_for, site_today, the_client
from dbt_shared.auth import Principal
from dbt_shared.errors import InvalidInput

CARD_FIELD = "card"


def _content(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "emotions": dict(body.get("emotions") or {}),
        # a personal target kept in the client's words, spacing tidied ("licorice binge")
        "urges": [{**u, "target": " ".join(u["target"].split())} for u in body.get("urges") or []],
        "skills_used": list(body.get("skills_used") or []),
        "distress": body["distress"],
    }


def submit(body: dict[str, Any], c: Components, principal: Principal) -> tuple[dict, bool]:
    client = the_client(c, principal)
    day: date = body["date"]
    today = site_today(c, client["site_id"])
    if day > today:
        raise InvalidInput.field("date", "A diary card is for a day that has begun.")
    card_id = f"{client['_id']}:{day.isoformat()}"
    content = _content(body)
    sealed = c.cipher.encrypt_json(content, record_id=card_id, field=CARD_FIELD)
    card = {
        "_id": card_id,
        "client_id": client["_id"],
        "site_id": client["site_id"],
        "date": day.isoformat(),
        "sealed": sealed,
        "submitted_at": c.clock.now(),
    }
    flags = diary.risk_flags({"date": day, **content})
    recorded = [events.diary_card_submitted(card, c.clock)]
    if flags:
        recorded.append(events.risk_flagged(card, client.get("therapist_id"), c.clock))
    audit(c, principal, "diary_card.write", "diary_card", card_id, client["site_id"])
    # The safety state before the card: should the card's write fail, the client's next
    # requests are still held or take the crisis path, and a retry writes the card; the other
    # way round a card with its risk alert could stand while the rule never starts.
    _safety_state(c, client, day, content)
    stored, created = c.repositories.cards.insert(card, recorded)
    if not created:
        stored = c.repositories.cards.save({**card, "_rev": stored.get("_rev", 0)}, recorded)
    metrics.DIARY_CARDS.labels("new" if created else "replaced").inc()
    return {**_view(c, stored), "risk_flagged": bool(flags)}, created


def _safety_state(c: Components, client: dict[str, Any], day: date, content: dict) -> None:
    """What the card says for the client's safety, in one write that lands or fails loudly
    (``change_safety``): self-harm acted on, and the day's urge to suicide."""
    card = {"date": day, **content}
    harmed_at = None
    if diary.self_harm_acted(card):
        # The rule's clock starts when the self-harm happened, at the latest the end of the
        # card's day: a card filled in days later holds nothing.
        end_of_day = datetime.combine(day + timedelta(days=1), time(0), tzinfo=_zone(c, client))
        harmed_at = min(c.clock.now(), end_of_day.astimezone(UTC))

    def change(state: dict[str, Any]) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        if harmed_at is not None and (
            state["self_harm_at"] is None or state["self_harm_at"] < harmed_at
        ):
            changes["self_harm_at"] = harmed_at
        last = state["last_card_date"]
        if not (last and last > day.isoformat()):  # an older day's card does not speak for today
            changes.update(
                last_card_date=day.isoformat(), suicide_urge_high=diary.suicide_urge_high(card)
            )
        return changes

    change_safety(c, client, change)


def _zone(c: Components, client: dict[str, Any]) -> ZoneInfo:
    site = c.repositories.site(client["site_id"])
    return ZoneInfo(site["timezone"] if site else "UTC")


def _open(c: Components, card: dict[str, Any]) -> dict[str, Any]:
    return c.cipher.decrypt_json(card["sealed"], record_id=card["_id"], field=CARD_FIELD)


def _view(c: Components, card: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": card["_id"],
        "client_id": card["client_id"],
        "date": card["date"],
        "submitted_at": card["submitted_at"],
        **_open(c, card),
    }


def summary(client_id: str, args: dict[str, Any], c: Components, principal: Principal):
    client = client_for(c, client_id, principal)  # the client and their therapist only
    week = args.get("week") or _this_week(c, client["site_id"])
    try:
        first, last = diary.parse_week(week)
    except ValueError as exc:
        raise InvalidInput.field("week", str(exc)) from None
    cards = [
        {"date": date.fromisoformat(card["date"]), **_open(c, card)}
        for card in c.repositories.cards_between(client_id, first.isoformat(), last.isoformat())
    ]
    audit(c, principal, "diary_card.summary_read", "diary_card", client_id, client["site_id"])
    return {"client_id": client_id, **diary.summary(cards, week)}


def _this_week(c: Components, site_id: str) -> str:
    year, week, _ = site_today(c, site_id).isocalendar()
    return f"{year}-W{week:02d}"


def card_of(client_id: str, day: date, c: Components, principal: Principal) -> dict[str, Any]:
    from dbt_shared.errors import NotFound

    client = client_for(c, client_id, principal)
    card = c.repositories.cards.get(f"{client_id}:{day.isoformat()}")
    if card is None:
        raise NotFound("diary card")
    audit(c, principal, "diary_card.read", "diary_card", card["_id"], client["site_id"])
    return _view(c, card)
