"""The audit store's contract, which every implementation must keep."""

from __future__ import annotations

from abc import ABC, abstractmethod

from pseudonym.model import AuditRecord


class AuditStore(ABC):
    """An append-only log of queries, one record per query (never per element).

    Contract:
    - `add` has stored the record when it returns, or raises; the caller answers only then.
    - Records are never changed or removed through this interface.
    - `find` returns records oldest first, optionally only one partner's, at most `limit`.
    - Safe to call from several threads at once.
    """

    @abstractmethod
    def add(self, record: AuditRecord) -> None: ...

    @abstractmethod
    def find(self, *, partner: str | None = None, limit: int = 1000) -> list[AuditRecord]: ...

    def close(self) -> None:  # noqa: B027 - optional for stores holding no resources
        """Release connections; the store is unusable afterwards."""
