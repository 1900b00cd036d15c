"""An in-memory consent store for tests, tools and a portal prototype."""

from __future__ import annotations

import dataclasses
import threading

from consent.model import Change, Entry, Pseudonym
from consent.store.base import ConsentStore, Mutator, check_mutation, check_replacement


class MemoryConsentStore(ConsentStore):
    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._entries: dict[bytes, Entry] = {}
        self._changes: list[Change] = []

    def apply(self, subject: Pseudonym, mutate: Mutator) -> list[Change]:
        # One lock for every person: simple, and writes are rare next to checks.
        with self._lock:
            mutation = mutate(self._entries_of(subject))
            check_mutation(subject, mutation)
            for entry in mutation.entries:
                if entry.id in self._entries:
                    check_replacement(self._entries[entry.id], entry)
            for entry in mutation.entries:
                self._entries[entry.id] = entry
            stored = []
            for change in mutation.changes:
                cursor = (self._changes[-1].cursor if self._changes else 0) + 1
                stored.append(dataclasses.replace(change, cursor=cursor))
                self._changes.append(stored[-1])
        if stored:
            self.wake()
        return stored

    def _entries_of(self, subject: Pseudonym) -> list[Entry]:
        found = [e for e in self._entries.values() if e.cell.subject == subject]
        return sorted(found, key=lambda e: (e.created_at, e.id))

    def entries(self, subject: Pseudonym) -> list[Entry]:
        with self._lock:
            return self._entries_of(subject)

    def entry(self, entry_id: bytes) -> Entry | None:
        with self._lock:
            return self._entries.get(bytes(entry_id))

    def changes_after(
        self, after_cursor: int, *, limit: int = 500, effective_only: bool = False
    ) -> list[Change]:
        with self._lock:
            found = [
                c
                for c in self._changes
                if c.cursor > after_cursor and (c.effective or not effective_only)
            ]
        return found[:limit]

    def changes_for(self, subject: Pseudonym) -> list[Change]:
        with self._lock:
            return [c for c in self._changes if c.entry.cell.subject == subject]
