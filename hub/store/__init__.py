"""Hub storage: the HubStore contract and its in-memory and SQL implementations."""

from __future__ import annotations

from hub.config import MEMORY_URL
from hub.store.base import HubStore, Outcome
from hub.store.memory import MemoryHubStore
from hub.store.sql import SqlHubStore

__all__ = ["HubStore", "MemoryHubStore", "Outcome", "SqlHubStore", "open_store"]


def open_store(
    database_url: str, *, auto_migrate: bool = True, checkpoints: bool = True
) -> HubStore:
    """The store for a configured URL: memory:// for the in-memory one, else SQL (its schema
    migrated to the newest revision, or with auto_migrate off checked to be there).
    checkpoints=False: another process on the same SQLite file checkpoints its WAL."""
    if database_url == MEMORY_URL:
        return MemoryHubStore()
    return SqlHubStore(database_url, auto_migrate=auto_migrate, checkpoints=checkpoints)
