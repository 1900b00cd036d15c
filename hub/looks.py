"""Who looked at a resident's data: the answer the resident portal gives (through a hub API),
read from the audit log (hub/audit.py) and independent of the operator interface."""

from __future__ import annotations

from collections.abc import Collection

from hub.audit import Look
from hub.store.base import HubStore


def who_looked(
    store: HubStore, *, persons: Collection[bytes] = (), households: Collection[bytes] = ()
) -> list[Look]:
    """Every time staff (or the hub itself) looked at or acted on data of these people or
    households, oldest first: the role (never the person), the action, when.

    `persons` are person pseudonyms and `households` household keys as the hub holds them.
    Asking is not itself recorded: the resident asks about their own data.
    """
    return store.who_looked(set(persons) | set(households))
