"""The catalog of event types: one Marshmallow schema per versioned type.

Publishing validates strictly (unknown fields refused, so nothing extra, such as PHI, slips into
an event); consuming validates the known fields and tolerates additive changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError

from dbt_shared.events.envelope import source_of
from dbt_shared.events.topics import Topic


class EventSchemaError(ValueError):
    def __init__(self, event_type: str, messages: Any) -> None:
        super().__init__(f"{event_type} does not match its schema: {messages}")
        self.event_type = event_type
        self.messages = messages


class UnknownEventType(KeyError):
    pass


@dataclass(frozen=True)
class EventType:
    name: str
    topic: Topic
    schema: type[Schema]
    description: str
    # The event ties ids to health state (a crisis, a risk level, the 24-hour rule): whoever
    # consumes it holds health information about the client, and keeps it no longer than that
    # (docs/events.md says which types these are).
    health_state: bool = False

    @property
    def producer(self) -> str:
        """The service that owns (and alone publishes) the type: its name's first part."""
        return self.name.split(".", 1)[0]

    @property
    def source(self) -> str:
        """The CloudEvent ``source`` of the service that owns its topic (and so the type):
        consumers accept the type from no other."""
        return source_of(self.topic.owner)


class Catalog:
    """The event types one process works with: those it publishes and those it consumes."""

    def __init__(self) -> None:
        self._types: dict[str, EventType] = {}
        # One schema instance per type and ``unknown`` (a new one per event cost as much as the
        # validation): marshmallow's load and dump keep no state on the instance.
        self._schemas: dict[tuple[str, str], Any] = {}

    def _schema(self, name: str, unknown: str) -> Any:
        schema = self._schemas.get((name, unknown))
        if schema is None:
            schema = self._schemas[(name, unknown)] = self.get(name).schema(unknown=unknown)
        return schema

    @classmethod
    def of(cls, *contracts: Any) -> Catalog:
        """A catalog of the ``EVENT_TYPES`` of the given contract modules."""
        catalog = cls()
        for contract in contracts:
            for event_type in contract.EVENT_TYPES:
                catalog.register(event_type)
        return catalog

    def topics(self) -> list[Topic]:
        """Every topic its event types travel on, in name order."""
        return sorted({t.topic for t in self._types.values()}, key=lambda t: t.name)

    def register(self, event_type: EventType) -> EventType:
        if event_type.name in self._types:
            raise ValueError(f"event type {event_type.name} registered twice")
        parts = event_type.name.split(".")
        if len(parts) < 4 or not parts[-1].startswith("v") or not parts[-1][1:].isdigit():
            raise ValueError(f"event type {event_type.name} must look like svc.noun.verb.vN")
        self._types[event_type.name] = event_type
        return event_type

    def get(self, name: str) -> EventType:
        try:
            return self._types[name]
        except KeyError as exc:
            raise UnknownEventType(name) from exc

    def knows(self, name: str) -> bool:
        return name in self._types

    def types(self) -> list[EventType]:
        return sorted(self._types.values(), key=lambda t: t.name)

    def validate(self, name: str, data: dict[str, Any]) -> dict[str, Any]:
        """Validate outgoing data; return it in its canonical JSON form."""
        schema = self._schema(name, RAISE)
        try:
            return schema.dump(schema.load(data))
        except ValidationError as exc:
            raise EventSchemaError(name, exc.messages) from exc

    def load(self, name: str, data: dict[str, Any]) -> dict[str, Any]:
        """Validate incoming data; return it deserialised (datetimes, ints...)."""
        schema = self._schema(name, EXCLUDE)
        try:
            return schema.load(data)
        except ValidationError as exc:
            raise EventSchemaError(name, exc.messages) from exc

    def json_schema(self) -> dict[str, Any]:
        """JSON Schema (2020-12) of every event type's data, for docs and contract tests."""
        from apispec import APISpec
        from apispec.ext.marshmallow import MarshmallowPlugin

        plugin = MarshmallowPlugin()
        APISpec("dbt-events", "1", "3.1.0", plugins=[plugin])
        defs: dict[str, Any] = {}
        for event_type in self.types():
            schema = plugin.converter.schema2jsonschema(event_type.schema)
            schema["additionalProperties"] = False
            schema["description"] = event_type.description
            schema["x-topic"] = event_type.topic.name
            schema["x-source"] = event_type.source
            if event_type.health_state:
                schema["x-health-state"] = True
            defs[event_type.name] = schema
        return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": defs}
