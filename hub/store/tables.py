"""The hub's tables as SQLModel models, in their own registry so no other service's collide.

Portable types only (SQLite and PostgreSQL): ids and pseudonyms are binary, enums are their
names as text, instants are timezone-aware and stored in UTC.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
)
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel


class HubModel(SQLModel, registry=registry()):
    """Base of the hub's tables; its metadata holds only these."""


def _instant(*, nullable: bool = False) -> Column[dt.datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


class SeenIdRow(HubModel, table=True):
    """Every message id ever stored. Never deleted: an erased signal leaves this tombstone."""

    __tablename__ = "hub_seen_ids"
    id: bytes = Field(sa_column=Column(LargeBinary(16), primary_key=True))
    partner_id: str = Field(sa_column=Column(String(64), nullable=False))
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    received_at: dt.datetime = Field(sa_column=_instant())


class SignalRow(HubModel, table=True):
    """A stored signal; erased outright when withdrawn as unjustified."""

    __tablename__ = "hub_signals"
    __table_args__ = (
        Index("ix_hub_signals_partner_type", "partner_id", "signal_type"),
        # The key-version follower looks for rows on an old version every few seconds.
        Index("ix_hub_signals_key_version", "key_version"),
    )
    id: bytes = Field(
        sa_column=Column(LargeBinary(16), ForeignKey("hub_seen_ids.id"), primary_key=True)
    )
    partner_id: str = Field(sa_column=Column(String(64), nullable=False))
    partner_type: str = Field(sa_column=Column(String(32), nullable=False))
    signal_type: str = Field(sa_column=Column(String(32), nullable=False))
    life_domain: str = Field(sa_column=Column(String(32), nullable=False))
    urgency: str = Field(sa_column=Column(String(16), nullable=False))
    legal_basis: str = Field(sa_column=Column(String(32), nullable=False))
    observed_on: dt.date = Field(sa_column=Column(Date, nullable=False))
    keep_until: dt.date = Field(sa_column=Column(Date, nullable=False))
    person_pseudonym: bytes | None = Field(sa_column=Column(LargeBinary(32), nullable=True))
    address_pseudonym: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    # uint32 on the wire: wider than a signed 32-bit integer column.
    key_version: int = Field(sa_column=Column(BigInteger, nullable=False))
    arrears_amount_cents: int | None = Field(sa_column=Column(BigInteger, nullable=True))
    arrears_months: int | None = Field(sa_column=Column(BigInteger, nullable=True))
    arrears_contact_attempted: bool | None = Field(sa_column=Column(Boolean, nullable=True))
    arrears_written_reminder_sent: bool | None = Field(sa_column=Column(Boolean, nullable=True))
    received_at: dt.datetime = Field(sa_column=_instant())
    withdrawn_at: dt.datetime | None = Field(sa_column=_instant(nullable=True))
    withdraw_reason: str | None = Field(sa_column=Column(String(32), nullable=True))


class PopulationFactRow(HubModel, table=True):
    """A population fact: `subject` is the person (or parent), `object` the address (or child)."""

    __tablename__ = "hub_population_facts"
    __table_args__ = (Index("ix_hub_population_facts_key_version", "key_version"),)
    id: bytes = Field(
        sa_column=Column(LargeBinary(16), ForeignKey("hub_seen_ids.id"), primary_key=True)
    )
    partner_id: str = Field(sa_column=Column(String(64), nullable=False))
    received_at: dt.datetime = Field(sa_column=_instant())
    key_version: int = Field(sa_column=Column(BigInteger, nullable=False))
    event_kind: str = Field(sa_column=Column(String(32), nullable=False))
    subject_pseudonym: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    object_pseudonym: bytes | None = Field(sa_column=Column(LargeBinary(32), nullable=True))
    on_date: dt.date | None = Field(sa_column=Column(Date, nullable=True))


class NotificationRow(HubModel, table=True):
    """One entry of a partner's feed; (partner, cursor) is unique and cursors only grow."""

    __tablename__ = "hub_notifications"
    partner_id: str = Field(sa_column=Column(String(64), primary_key=True))
    cursor: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    created_at: dt.datetime = Field(sa_column=_instant())
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    ref_id: bytes = Field(sa_column=Column(LargeBinary(16), nullable=False))
    reason: str | None = Field(sa_column=Column(String(32), nullable=True))


def table(name: str) -> Table:
    """The Core table behind a model, for bulk statements on the hot path."""
    return HubModel.metadata.tables[name]


SEEN = table(SeenIdRow.__tablename__)
SIGNALS = table(SignalRow.__tablename__)
FACTS = table(PopulationFactRow.__tablename__)
NOTIFICATIONS = table(NotificationRow.__tablename__)
