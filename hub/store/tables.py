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
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
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
        # The judge reads one household's signals by address and by person, never all of them.
        Index("ix_hub_signals_address", "address_pseudonym"),
        Index("ix_hub_signals_person", "person_pseudonym"),
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
    # A case notice as JSON (hub-written codes, ids and contact points; see rows.py).
    payload: str | None = Field(sa_column=Column(Text, nullable=True))


class HouseholdLockRow(HubModel, table=True):
    """One row per household key the judge has seen: the row it locks (FOR UPDATE)."""

    __tablename__ = "hub_households"
    key: bytes = Field(sa_column=Column(LargeBinary(64), primary_key=True))


class CaseRow(HubModel, table=True):
    """A household's case: status, regiehouder, deadline, escalation, outcome."""

    __tablename__ = "hub_cases"
    __table_args__ = (
        Index("ix_hub_cases_household", "household"),
        Index("ix_hub_cases_status_deadline", "status", "deadline"),
    )
    id: bytes = Field(sa_column=Column(LargeBinary(16), primary_key=True))
    ref: str = Field(sa_column=Column(String(32), nullable=False, unique=True))
    household: bytes = Field(sa_column=Column(LargeBinary(64), nullable=False))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    regiehouder: str | None = Field(sa_column=Column(String(64), nullable=True))
    regie_rule: str | None = Field(sa_column=Column(String(64), nullable=True))
    opened_on: dt.date = Field(sa_column=Column(Date, nullable=False))
    deadline: dt.date | None = Field(sa_column=Column(Date, nullable=True))
    escalation: int = Field(sa_column=Column(Integer, nullable=False))
    escalated_on: dt.date | None = Field(sa_column=Column(Date, nullable=True))
    escalation_deadline: dt.date | None = Field(sa_column=Column(Date, nullable=True))
    outcome: str | None = Field(sa_column=Column(String(32), nullable=True))
    closed_on: dt.date | None = Field(sa_column=Column(Date, nullable=True))
    opened_at: dt.datetime = Field(sa_column=_instant())
    updated_at: dt.datetime = Field(sa_column=_instant())
    # Summary facts, involved partners, life domains and declined_by, as JSON.
    detail: str = Field(sa_column=Column(Text, nullable=False))


class CaseSignalRow(HubModel, table=True):
    """A signal that is part of a case (no foreign key: an erased signal leaves on re-judging)."""

    __tablename__ = "hub_case_signals"
    __table_args__ = (Index("ix_hub_case_signals_signal", "signal_id"),)
    case_id: bytes = Field(
        sa_column=Column(LargeBinary(16), ForeignKey("hub_cases.id"), primary_key=True)
    )
    signal_id: bytes = Field(sa_column=Column(LargeBinary(16), primary_key=True))


class OutreachRow(HubModel, table=True):
    """A signal on the outreach list (Wgs: the municipality offers help, no case)."""

    __tablename__ = "hub_outreach"
    __table_args__ = (Index("ix_hub_outreach_household", "household"),)
    signal_id: bytes = Field(sa_column=Column(LargeBinary(16), primary_key=True))
    household: bytes = Field(sa_column=Column(LargeBinary(64), nullable=False))
    rule: str = Field(sa_column=Column(String(64), nullable=False))
    added_at: dt.datetime = Field(sa_column=_instant())


def table(name: str) -> Table:
    """The Core table behind a model, for bulk statements on the hot path."""
    return HubModel.metadata.tables[name]


SEEN = table(SeenIdRow.__tablename__)
SIGNALS = table(SignalRow.__tablename__)
FACTS = table(PopulationFactRow.__tablename__)
NOTIFICATIONS = table(NotificationRow.__tablename__)
HOUSEHOLDS = table(HouseholdLockRow.__tablename__)
CASES = table(CaseRow.__tablename__)
CASE_SIGNALS = table(CaseSignalRow.__tablename__)
OUTREACH = table(OutreachRow.__tablename__)
