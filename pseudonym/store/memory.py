"""An in-memory audit store for tests and tools."""

from __future__ import annotations

import threading

from pseudonym.model import AuditRecord
from pseudonym.store.base import AuditStore


class MemoryAuditStore(AuditStore):
    def __init__(self) -> None:
        self._records: list[AuditRecord] = []
        self._lock = threading.Lock()

    def add(self, record: AuditRecord) -> None:
        with self._lock:
            self._records.append(record)

    def find(self, *, partner: str | None = None, limit: int = 1000) -> list[AuditRecord]:
        with self._lock:
            rows = [r for r in self._records if partner is None or r.partner == partner]
        return rows[:limit]
