"""The event backbone: envelope, catalog of event types, topics, outbox relay, consumer runner."""
