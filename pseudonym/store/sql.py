"""The audit store through SQLModel: one row per query, in SQLite (or any SQLAlchemy URL)."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import sqlalchemy
from sqlalchemy.orm import registry
from sqlmodel import Field, Session, SQLModel, col, select

from pseudonym.model import AuditRecord, Operation
from pseudonym.store.base import AuditStore
from seinhuis import db, schema
from seinhuis.vocabulary import IdentifierKind


class AuditModel(SQLModel, registry=registry()):
    """Base of the audit table; its metadata holds only it (pseudonym/migrations builds it)."""


class AuditRow(AuditModel, table=True):
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


class SqlAuditStore(AuditStore):
    """Audit rows in an SQLite file (a Path) or at an SQLAlchemy URL (a str); writes are
    serialised in-process to avoid lock contention. Opening migrates the schema to the newest."""

    def __init__(self, database: Path | str) -> None:
        from pseudonym.migrations import SCHEMA

        if isinstance(database, Path):
            database.parent.mkdir(parents=True, exist_ok=True)
            database = f"sqlite:///{database}"
        # WAL with synchronous=NORMAL: a commit survives a process crash without an fsync per
        # query, which keeps one audit row per query cheap next to the evaluation itself.
        self._engine = db.create_engine(database, synchronous="NORMAL")
        schema.upgrade(self._engine, SCHEMA)
        self._insert = sqlalchemy.insert(AuditModel.metadata.tables[AuditRow.__tablename__])
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
