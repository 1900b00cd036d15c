"""The consent registry's tables as SQLModel models, in their own registry (no collisions).

Portable types only: ids and pseudonyms are binary, enums are their names as text, instants
are timezone-aware and stored in UTC. A change row keeps the entry's mutable part as it stood
after the change (state, awaiting); the rest of the entry never changes, so the entry row and
the change row together are the entry's snapshot at that change.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
)
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel


class ConsentModel(SQLModel, registry=registry()):
    """Base of the consent registry's tables; its metadata holds only these."""


def _instant(*, nullable: bool = False) -> Column[dt.datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


def _text(length: int, *, nullable: bool = False) -> Column[str]:
    return Column(String(length), nullable=nullable)


class EntryRow(ConsentModel, table=True):
    """One entry; only state, awaiting and changed_at are ever updated, and no row is deleted."""

    __tablename__ = "consent_entries"
    __table_args__ = (Index("ix_consent_entries_subject", "subject", "subject_key_version"),)
    id: bytes = Field(sa_column=Column(LargeBinary(16), primary_key=True))
    subject: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    # uint32 on the wire: wider than a signed 32-bit integer column.
    subject_key_version: int = Field(sa_column=Column(BigInteger, nullable=False))
    partner_type: str | None = Field(sa_column=_text(32, nullable=True))
    partner_id: str | None = Field(sa_column=_text(64, nullable=True))
    life_domain: str | None = Field(sa_column=_text(32, nullable=True))
    purpose: str = Field(sa_column=_text(40))
    decision: str = Field(sa_column=_text(8))
    valid_from: dt.datetime = Field(sa_column=_instant())
    valid_until: dt.datetime | None = Field(sa_column=_instant(nullable=True))
    state: str = Field(sa_column=_text(24))
    awaiting: str | None = Field(sa_column=_text(8, nullable=True))
    created_at: dt.datetime = Field(sa_column=_instant())
    changed_at: dt.datetime = Field(sa_column=_instant())


class ChangeRow(ConsentModel, table=True):
    """The append-only change log; the cursor is never reused (AUTOINCREMENT on SQLite)."""

    __tablename__ = "consent_changes"
    __table_args__ = (
        Index("ix_consent_changes_entry", "entry_id"),
        {"sqlite_autoincrement": True},
    )
    # SQLite needs exactly INTEGER for an autoincrementing key; elsewhere 64 bits.
    cursor: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    at: dt.datetime = Field(sa_column=_instant())
    kind: str = Field(sa_column=_text(24))
    actor: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    actor_key_version: int = Field(sa_column=Column(BigInteger, nullable=False))
    party: str = Field(sa_column=_text(8))
    effective: bool = Field(sa_column=Column(Boolean, nullable=False))
    entry_id: bytes = Field(
        sa_column=Column(LargeBinary(16), ForeignKey("consent_entries.id"), nullable=False)
    )
    state: str = Field(sa_column=_text(24))
    awaiting: str | None = Field(sa_column=_text(8, nullable=True))


def _table(name: str) -> Table:
    """The Core table behind a model, for plain statements."""
    return ConsentModel.metadata.tables[name]


ENTRIES = _table(EntryRow.__tablename__)
CHANGES = _table(ChangeRow.__tablename__)
