"""The audit store in SQLite through SQLModel: one row per query."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlmodel import Field, Session, SQLModel, col, create_engine, select

from pseudonym.model import AuditRecord, Operation
from pseudonym.store.base import AuditStore
from seinhuis.vocabulary import IdentifierKind


class AuditRow(SQLModel, table=True):
    __tablename__ = "pseudonym_audit"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(index=True)  # UTC
    partner: str = Field(index=True)
    operation: str
    kind: str
    count: int
    key_version: int
    from_version: int | None = None
    outcome: str


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL with synchronous=NORMAL: a commit survives a process crash without an fsync per
    # query, which keeps one audit row per query cheap next to the evaluation itself.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class SqlAuditStore(AuditStore):
    """Audit rows in an SQLite file; writes are serialised in-process to avoid lock contention."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._engine = create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False})
        sqlalchemy.event.listen(self._engine, "connect", _sqlite_pragmas)
        # Only this table: SQLModel's metadata is shared with whatever else the process imported.
        table = SQLModel.metadata.tables[AuditRow.__tablename__]
        table.create(self._engine, checkfirst=True)
        self._insert = sqlalchemy.insert(table)
        self._lock = threading.Lock()

    def add(self, record: AuditRecord) -> None:
        values = {
            "at": record.at.astimezone(dt.UTC),
            "partner": record.partner,
            "operation": record.operation.value,
            "kind": record.kind.value,
            "count": record.count,
            "key_version": record.key_version,
            "from_version": record.from_version,
            "outcome": record.outcome,
        }
        # A Core insert on a plain connection: no ORM unit of work for a write-only row.
        with self._lock, self._engine.begin() as conn:
            conn.execute(self._insert, values)

    def find(self, *, partner: str | None = None, limit: int = 1000) -> list[AuditRecord]:
        query = select(AuditRow).order_by(col(AuditRow.id)).limit(limit)
        if partner is not None:
            query = query.where(AuditRow.partner == partner)
        with Session(self._engine) as session:
            rows = session.exec(query).all()
        return [
            AuditRecord(
                at=row.at.replace(tzinfo=dt.UTC),
                partner=row.partner,
                operation=Operation(row.operation),
                kind=IdentifierKind(row.kind),
                count=row.count,
                key_version=row.key_version,
                outcome=row.outcome,
                from_version=row.from_version,
            )
            for row in rows
        ]

    def close(self) -> None:
        self._engine.dispose()
