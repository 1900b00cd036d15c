"""A partner node: the local API, identifiers, the outbox and delivery to the hub."""
