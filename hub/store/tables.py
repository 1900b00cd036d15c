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
    text,
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
        # Consent (issue 5): the resident notices read newly received statute-based signals,
        # the consent follower the receipts that run out; both indexes hold only those rows.
        Index(
            "ix_hub_signals_statute_received",
            "received_at",
            sqlite_where=text("legal_basis != 'TOESTEMMING'"),
            postgresql_where=text("legal_basis != 'TOESTEMMING'"),
        ),
        Index(
            "ix_hub_signals_consent_until",
            "consent_until",
            sqlite_where=text("consent_until IS NOT NULL"),
            postgresql_where=text("consent_until IS NOT NULL"),
        ),
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
    # Consent-based signals (issue 5): the verified receipt's id and end, and when the consent
    # ended (the signal then no longer counts; hub.consent_follower sets it).
    consent_receipt_id: bytes | None = Field(sa_column=Column(LargeBinary(16), nullable=True))
    consent_until: dt.datetime | None = Field(sa_column=_instant(nullable=True))
    consent_lost_at: dt.datetime | None = Field(sa_column=_instant(nullable=True))


class PopulationFactRow(HubModel, table=True):
    """A population fact: `subject` is the person (or parent), `object` the address (or child)."""

    __tablename__ = "hub_population_facts"
    __table_args__ = (
        Index("ix_hub_population_facts_key_version", "key_version"),
        # The judge reads the register around a batch's people and addresses, never all of it.
        Index("ix_hub_population_facts_subject", "subject_pseudonym"),
        Index("ix_hub_population_facts_object", "object_pseudonym"),
    )
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
    # The dashboard's figures look notices up by kind and case (when a case was briefed).
    __table_args__ = (Index("ix_hub_notifications_kind_ref", "kind", "ref_id"),)
    partner_id: str = Field(sa_column=Column(String(64), primary_key=True))
    cursor: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    created_at: dt.datetime = Field(sa_column=_instant())
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    ref_id: bytes = Field(sa_column=Column(LargeBinary(16), nullable=False))
    reason: str | None = Field(sa_column=Column(String(32), nullable=True))
    # A case notice as JSON (hub-written codes, ids and contact points; see rows.py).
    payload: str | None = Field(sa_column=Column(Text, nullable=True))


class FeedFloorRow(HubModel, table=True):
    """After a restore from a backup: a partner's next feed cursor is above this, so it passes
    every cursor the lost period issued (the partner's node resumes after one of those)."""

    __tablename__ = "hub_feed_floors"
    partner_id: str = Field(sa_column=Column(String(64), primary_key=True))
    floor: int = Field(sa_column=Column(BigInteger, nullable=False))


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


class AuditRow(HubModel, table=True):
    """An entry of the append-only, hash-chained audit log (hub/audit.py); never updated or
    deleted. Whose data it concerns sits in hub_audit_subjects and is part of the hash."""

    __tablename__ = "hub_audit"
    # The dashboard's figures look entries up by action and case (when a case was taken on).
    __table_args__ = (Index("ix_hub_audit_action_case", "action", "case_ref"),)
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    at: dt.datetime = Field(sa_column=_instant())
    actor_id: str = Field(sa_column=Column(String(64), nullable=False))
    actor_role: str = Field(sa_column=Column(String(32), nullable=False))
    action: str = Field(sa_column=Column(String(32), nullable=False))
    case_ref: str | None = Field(sa_column=Column(String(32), nullable=True))
    # Codes as a JSON list of [key, value] pairs (see rows.py), never free text.
    detail: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))


class AuditSubjectRow(HubModel, table=True):
    """A household key or person pseudonym an audit entry concerns; indexed to answer "who
    looked at my data"."""

    __tablename__ = "hub_audit_subjects"
    __table_args__ = (Index("ix_hub_audit_subjects_pseudonym", "pseudonym"),)
    seq: int = Field(sa_column=Column(BigInteger, ForeignKey("hub_audit.seq"), primary_key=True))
    kind: str = Field(sa_column=Column(String(16), primary_key=True))
    pseudonym: bytes = Field(sa_column=Column(LargeBinary(64), primary_key=True))


class AuditSubjectAliasRow(HubModel, table=True):
    """A pseudonym an audit entry recorded before an OPRF rotation, under its current one:
    entries are hashed as written and never rewritten, so "who looked" finds them this way."""

    __tablename__ = "hub_audit_subject_aliases"
    current: bytes = Field(sa_column=Column(LargeBinary(64), primary_key=True))
    earlier: bytes = Field(sa_column=Column(LargeBinary(64), primary_key=True))


class EscalationNoticeRow(HubModel, table=True):
    """An escalation (or review) notice for a municipal role: codes only, no identities."""

    __tablename__ = "hub_escalation_notices"
    __table_args__ = (Index("ix_hub_escalation_notices_case", "case_id"),)
    # Integer: SQLite numbers only an INTEGER primary key by itself.
    seq: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=True))
    case_id: bytes = Field(sa_column=Column(LargeBinary(16), nullable=False))
    case_ref: str = Field(sa_column=Column(String(32), nullable=False))
    role: str = Field(sa_column=Column(String(32), nullable=False))
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    level: int = Field(sa_column=Column(Integer, nullable=False))
    rule: str = Field(sa_column=Column(String(64), nullable=False))
    deadline: dt.date | None = Field(sa_column=Column(Date, nullable=True))
    created_at: dt.datetime = Field(sa_column=_instant())


class JudgeQueueRow(HubModel, table=True):
    """A household waiting for the judge: written with the signal or fact that touched it, in
    the same transaction, and deleted once judged, so a crash in between loses no judgement."""

    __tablename__ = "hub_judge_queue"
    # INTEGER PRIMARY KEY on SQLite (the rowid: grows with each insert), BIGINT elsewhere.
    seq: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    address: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    person: bytes | None = Field(sa_column=Column(LargeBinary(32), nullable=True))
    # A judge's claim (several hub processes share the queue): until when it is taken; a judge
    # that died leaves it to the others once the claim runs out.
    claimed_by: str | None = Field(sa_column=Column(String(64), nullable=True))
    claimed_until: dt.datetime | None = Field(sa_column=_instant(nullable=True))


def table(name: str) -> Table:
    """The Core table behind a model, for bulk statements on the hot path."""
    return HubModel.metadata.tables[name]


SEEN = table(SeenIdRow.__tablename__)
SIGNALS = table(SignalRow.__tablename__)
FACTS = table(PopulationFactRow.__tablename__)
NOTIFICATIONS = table(NotificationRow.__tablename__)
FEED_FLOORS = table(FeedFloorRow.__tablename__)
HOUSEHOLDS = table(HouseholdLockRow.__tablename__)
CASES = table(CaseRow.__tablename__)
CASE_SIGNALS = table(CaseSignalRow.__tablename__)
OUTREACH = table(OutreachRow.__tablename__)
JUDGE_QUEUE = table(JudgeQueueRow.__tablename__)
AUDIT = table(AuditRow.__tablename__)
AUDIT_SUBJECTS = table(AuditSubjectRow.__tablename__)
AUDIT_ALIASES = table(AuditSubjectAliasRow.__tablename__)
ESCALATIONS = table(EscalationNoticeRow.__tablename__)


# --- consent and residents (issue 5) ------------------------------------------------------------
# The consent follower's cursor and the narrowings it saw, the statute notices for residents,
# residents' objections (the operators' review list) and preferred regiehouders. Pseudonyms only.


class ConsentCursorRow(HubModel, table=True):
    """How far the hub has followed the consent registry's Watch stream (one row)."""

    __tablename__ = "hub_consent_cursor"
    name: str = Field(sa_column=Column(String(16), primary_key=True))
    cursor: int = Field(sa_column=Column(BigInteger, nullable=False))


class ConsentNarrowingRow(HubModel, table=True):
    """A revocation or objection the hub learnt of: intake voids older receipts it covers."""

    __tablename__ = "hub_consent_narrowings"
    __table_args__ = (Index("ix_hub_consent_narrowings_at", "at"),)
    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    subject: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    key_version: int = Field(sa_column=Column(BigInteger, nullable=False))
    at: dt.datetime = Field(sa_column=_instant())
    partner_type: str | None = Field(sa_column=Column(String(32), nullable=True))
    partner_id: str | None = Field(sa_column=Column(String(64), nullable=True))
    life_domain: str | None = Field(sa_column=Column(String(32), nullable=True))
    purpose: str = Field(sa_column=Column(String(40), nullable=False))


class StatuteNoticeRow(HubModel, table=True):
    """A statute-based signal to tell residents about; cursors only grow."""

    __tablename__ = "hub_statute_notices"
    __table_args__ = (Index("ix_hub_statute_notices_received", "signal_received_at"),)
    cursor: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    # No foreign key: an erased signal leaves its notice, which then tells nobody anything.
    signal_id: bytes = Field(sa_column=Column(LargeBinary(16), nullable=False, unique=True))
    signal_received_at: dt.datetime = Field(sa_column=_instant())
    created_at: dt.datetime = Field(sa_column=_instant())


class ObjectionRow(HubModel, table=True):
    """The operators' review list: residents' objections to statute-based signals."""

    __tablename__ = "hub_objections"
    __table_args__ = (
        Index("ix_hub_objections_state", "state"),
        Index("ix_hub_objections_signal", "signal_id"),
    )
    id: bytes = Field(sa_column=Column(LargeBinary(16), primary_key=True))
    signal_id: bytes = Field(sa_column=Column(LargeBinary(16), nullable=False))
    subject: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    key_version: int = Field(sa_column=Column(BigInteger, nullable=False))
    made_by: str = Field(sa_column=Column(String(8), nullable=False))
    reason: str = Field(sa_column=Column(String(24), nullable=False))
    signal_type: str = Field(sa_column=Column(String(32), nullable=False))
    partner_type: str = Field(sa_column=Column(String(32), nullable=False))
    legal_basis: str = Field(sa_column=Column(String(32), nullable=False))
    created_at: dt.datetime = Field(sa_column=_instant())
    state: str = Field(sa_column=Column(String(12), nullable=False))


class RegiePreferenceRow(HubModel, table=True):
    """A person's preferred regiehouder; one per person."""

    __tablename__ = "hub_regie_preferences"
    person: bytes = Field(sa_column=Column(LargeBinary(32), primary_key=True))
    key_version: int = Field(sa_column=Column(BigInteger, nullable=False))
    choice: str = Field(sa_column=Column(String(24), nullable=False))
    partner_type: str | None = Field(sa_column=Column(String(32), nullable=True))
    stated_at: dt.datetime = Field(sa_column=_instant())


CONSENT_CURSOR = table(ConsentCursorRow.__tablename__)
NARROWINGS = table(ConsentNarrowingRow.__tablename__)
STATUTE_NOTICES = table(StatuteNoticeRow.__tablename__)
OBJECTIONS = table(ObjectionRow.__tablename__)
PREFERENCES = table(RegiePreferenceRow.__tablename__)
