"""The portal's own tables in the consent service's database: preferences, objections, inbox, mail.

Contract (PortalStore):
- A person has at most one regiehouder preference; stating one replaces the previous one.
- Objections are appended; at most one OPEN objection per (signal reference, person): a second
  raises AlreadyExists and stores nothing. `open_objections` is the operators' review list.
- `add_message` stores an inbox message and its mail record in one transaction, or neither.
Tables live in their own SQLModel registry, beside (never inside) the consent tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Index,
    LargeBinary,
    String,
    Table,
    and_,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from consent.model import Party, Pseudonym
from consent.portal.records import (
    MAX_REFERENCE,
    InboxMessage,
    MailRecord,
    Objection,
    ObjectionReason,
    ObjectionState,
    RegiehouderChoice,
    RegiehouderPreference,
)
from consent.store.sql import _IMMEDIATE, open_database
from seinhuis.errors import AlreadyExists
from seinhuis.vocabulary import LegalBasis, PartnerType, SignalType


class PortalModel(SQLModel, registry=registry()):
    """Base of the portal's tables; its metadata holds only these."""


def _instant(*, nullable: bool = False) -> Column[dt.datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


def _text(length: int, *, nullable: bool = False) -> Column[str]:
    return Column(String(length), nullable=nullable)


def _person() -> Column[bytes]:
    return Column(LargeBinary(32), nullable=False)


def _key_version() -> Column[int]:
    return Column(BigInteger, nullable=False)


class PreferenceRow(PortalModel, table=True):
    __tablename__ = "portal_regiehouder_preferences"
    person: bytes = Field(sa_column=Column(LargeBinary(32), primary_key=True))
    person_key_version: int = Field(sa_column=Column(BigInteger, primary_key=True))
    choice: str = Field(sa_column=_text(24))
    partner_type: str | None = Field(sa_column=_text(32, nullable=True))
    stated_at: dt.datetime = Field(sa_column=_instant())


class ObjectionRow(PortalModel, table=True):
    """The operators' review list: one row per objection, its state updated on review."""

    __tablename__ = "portal_objections"
    __table_args__ = (
        Index("ix_portal_objections_subject", "subject", "subject_key_version"),
        Index("ix_portal_objections_state", "state"),
    )
    id: bytes = Field(sa_column=Column(LargeBinary(16), primary_key=True))
    signal_reference: str = Field(sa_column=_text(MAX_REFERENCE))
    subject: bytes = Field(sa_column=_person())
    subject_key_version: int = Field(sa_column=_key_version())
    made_by: str = Field(sa_column=_text(8))
    reason: str = Field(sa_column=_text(24))
    signal_type: str = Field(sa_column=_text(32))
    partner_type: str = Field(sa_column=_text(32))
    legal_basis: str = Field(sa_column=_text(32))
    created_at: dt.datetime = Field(sa_column=_instant())
    state: str = Field(sa_column=_text(12))


class MessageRow(PortalModel, table=True):
    __tablename__ = "portal_messages"
    __table_args__ = (Index("ix_portal_messages_subject", "subject", "subject_key_version"),)
    id: bytes = Field(sa_column=Column(LargeBinary(16), primary_key=True))
    subject: bytes = Field(sa_column=_person())
    subject_key_version: int = Field(sa_column=_key_version())
    signal_type: str = Field(sa_column=_text(32))
    partner_type: str = Field(sa_column=_text(32))
    legal_basis: str = Field(sa_column=_text(32))
    registered_on: dt.date = Field(sa_column=Column(Date, nullable=False))
    created_at: dt.datetime = Field(sa_column=_instant())


class HubCursorRow(PortalModel, table=True):
    """How far the portal has read the hub's statute notices (issue 5); one row."""

    __tablename__ = "portal_hub_cursor"
    name: str = Field(sa_column=Column(String(16), primary_key=True))
    cursor: int = Field(sa_column=Column(BigInteger, nullable=False))


class MailRow(PortalModel, table=True):
    """The municipality's mail channel reads what is unsent and marks it sent."""

    __tablename__ = "portal_mail_outbox"
    message_id: bytes = Field(sa_column=Column(LargeBinary(16), primary_key=True))
    subject: bytes = Field(sa_column=_person())
    subject_key_version: int = Field(sa_column=_key_version())
    created_at: dt.datetime = Field(sa_column=_instant())
    sent_at: dt.datetime | None = Field(sa_column=_instant(nullable=True))


def _table(name: str) -> Table:
    return PortalModel.metadata.tables[name]


PREFERENCES = _table(PreferenceRow.__tablename__)
OBJECTIONS = _table(ObjectionRow.__tablename__)
MESSAGES = _table(MessageRow.__tablename__)
MAIL = _table(MailRow.__tablename__)
HUB_CURSOR = _table(HubCursorRow.__tablename__)
_NOTICES = "notices"


class PortalStore:
    """The portal's records on an SQLAlchemy URL; opening migrates the consent database's
    schema, which holds these tables too (consent/migrations)."""

    def __init__(self, url: str, *, auto_migrate: bool = True) -> None:
        self._engine = open_database(url, auto_migrate=auto_migrate)
        # Writes take SQLite's write lock at BEGIN, so a check and its insert cannot interleave.
        self._writer = self._engine.execution_options(**{_IMMEDIATE: True})

    def close(self) -> None:
        self._engine.dispose()

    # --- regiehouder preference ---------------------------------------------------------------

    def preference(self, person: Pseudonym) -> RegiehouderPreference | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(PREFERENCES).where(_is(PREFERENCES, "person", person))
            ).first()
        if row is None:
            return None
        r = row._mapping
        return RegiehouderPreference(
            person=person,
            choice=RegiehouderChoice(r["choice"]),
            stated_at=_utc(r["stated_at"]),
            partner_type=PartnerType(r["partner_type"]) if r["partner_type"] else None,
        )

    def set_preference(self, preference: RegiehouderPreference) -> None:
        person = preference.person
        with self._writer.begin() as conn:
            conn.execute(delete(PREFERENCES).where(_is(PREFERENCES, "person", person)))
            conn.execute(
                insert(PREFERENCES).values(
                    person=person.value,
                    person_key_version=person.key_version,
                    choice=preference.choice.value,
                    partner_type=preference.partner_type.value if preference.partner_type else None,
                    stated_at=preference.stated_at,
                )
            )

    def clear_preference(self, person: Pseudonym) -> bool:
        """Remove the person's preference; whether there was one."""
        with self._writer.begin() as conn:
            result = conn.execute(delete(PREFERENCES).where(_is(PREFERENCES, "person", person)))
        return bool(result.rowcount)

    # --- objections ---------------------------------------------------------------------------

    def add_objection(self, objection: Objection) -> None:
        with self._writer.begin() as conn:
            open_one = conn.execute(
                select(OBJECTIONS.c.id).where(
                    _is(OBJECTIONS, "subject", objection.subject),
                    OBJECTIONS.c.signal_reference == objection.signal_reference,
                    OBJECTIONS.c.state == ObjectionState.OPEN.value,
                )
            ).first()
            if open_one is not None:
                raise AlreadyExists("an objection to this signal is already under review")
            conn.execute(insert(OBJECTIONS).values(_objection_row(objection)))

    def objections_for(self, people: Iterable[Pseudonym]) -> list[Objection]:
        """The objections about these people, oldest first."""
        query = select(OBJECTIONS).where(_any(OBJECTIONS, "subject", people))
        return self._objections(query)

    def open_objections(self) -> list[Objection]:
        """The operators' review list, oldest first."""
        return self._objections(
            select(OBJECTIONS).where(OBJECTIONS.c.state == ObjectionState.OPEN.value)
        )

    def _objections(self, query: Any) -> list[Objection]:
        with self._engine.connect() as conn:
            rows = conn.execute(query.order_by(OBJECTIONS.c.created_at, OBJECTIONS.c.id))
            return [_objection(r._mapping) for r in rows]

    # --- inbox and mail -----------------------------------------------------------------------

    def add_message(self, message: InboxMessage) -> MailRecord:
        """Store the message and its record for the mail channel, atomically."""
        mail = MailRecord(message.id, message.subject, message.created_at)
        subject = message.subject
        with self._writer.begin() as conn:
            conn.execute(
                insert(MESSAGES).values(
                    id=message.id,
                    subject=subject.value,
                    subject_key_version=subject.key_version,
                    signal_type=message.signal_type.value,
                    partner_type=message.partner_type.value,
                    legal_basis=message.legal_basis.value,
                    registered_on=message.registered_on,
                    created_at=message.created_at,
                )
            )
            conn.execute(
                insert(MAIL).values(
                    message_id=message.id,
                    subject=subject.value,
                    subject_key_version=subject.key_version,
                    created_at=message.created_at,
                    sent_at=None,
                )
            )
        return mail

    def add_message_once(self, message: InboxMessage) -> bool:
        """add_message, unless a message with this id is stored already; whether it stored."""
        with self._engine.connect() as conn:
            known = conn.execute(select(MESSAGES.c.id).where(MESSAGES.c.id == message.id)).first()
        if known is not None:
            return False
        try:
            self.add_message(message)
        except IntegrityError:
            return False  # another process stored it between the look and the insert
        return True

    def hub_notice_cursor(self) -> int:
        """The last statute notice of the hub's the portal has told residents of; 0 at first."""
        query = select(HUB_CURSOR.c.cursor).where(HUB_CURSOR.c.name == _NOTICES)
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def set_hub_notice_cursor(self, cursor: int) -> None:
        """Record progress; a cursor below the stored one is ignored."""
        where = HUB_CURSOR.c.name == _NOTICES
        with self._writer.begin() as conn:
            known = conn.execute(select(HUB_CURSOR.c.cursor).where(where)).scalar()
            if known is None:
                conn.execute(insert(HUB_CURSOR).values(name=_NOTICES, cursor=cursor))
            elif cursor > known:
                conn.execute(update(HUB_CURSOR).where(where).values(cursor=cursor))

    def messages_for(self, people: Iterable[Pseudonym]) -> list[InboxMessage]:
        """Messages about these people, newest first."""
        query = (
            select(MESSAGES)
            .where(_any(MESSAGES, "subject", people))
            .order_by(MESSAGES.c.created_at.desc(), MESSAGES.c.id)
        )
        with self._engine.connect() as conn:
            return [_message(r._mapping) for r in conn.execute(query)]

    def unsent_mail(self) -> list[MailRecord]:
        """What the mail channel still has to send, oldest first."""
        query = select(MAIL).where(MAIL.c.sent_at.is_(None)).order_by(MAIL.c.created_at)
        with self._engine.connect() as conn:
            return [
                MailRecord(
                    bytes(r.message_id),
                    Pseudonym(bytes(r.subject), r.subject_key_version),
                    _utc(r.created_at),
                )
                for r in conn.execute(query)
            ]


# --- rows <-> records ---------------------------------------------------------------------------


def _is(table: Table, column: str, person: Pseudonym) -> Any:
    return and_(
        table.c[column] == person.value, table.c[f"{column}_key_version"] == person.key_version
    )


def _any(table: Table, column: str, people: Iterable[Pseudonym]) -> Any:
    return or_(False, *(_is(table, column, p) for p in people))


def _utc(value: dt.datetime) -> dt.datetime:
    """SQLite hands instants back without a zone; they were stored in UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _objection_row(o: Objection) -> dict[str, Any]:
    return {
        "id": o.id,
        "signal_reference": o.signal_reference,
        "subject": o.subject.value,
        "subject_key_version": o.subject.key_version,
        "made_by": o.made_by.value,
        "reason": o.reason.value,
        "signal_type": o.signal_type.value,
        "partner_type": o.partner_type.value,
        "legal_basis": o.legal_basis.value,
        "created_at": o.created_at,
        "state": o.state.value,
    }


def _objection(r: Mapping[Any, Any]) -> Objection:
    return Objection(
        id=bytes(r["id"]),
        signal_reference=r["signal_reference"],
        subject=Pseudonym(bytes(r["subject"]), r["subject_key_version"]),
        made_by=Party(r["made_by"]),
        reason=ObjectionReason(r["reason"]),
        signal_type=SignalType(r["signal_type"]),
        partner_type=PartnerType(r["partner_type"]),
        legal_basis=LegalBasis(r["legal_basis"]),
        created_at=_utc(r["created_at"]),
        state=ObjectionState(r["state"]),
    )


def _message(r: Mapping[Any, Any]) -> InboxMessage:
    return InboxMessage(
        id=bytes(r["id"]),
        subject=Pseudonym(bytes(r["subject"]), r["subject_key_version"]),
        signal_type=SignalType(r["signal_type"]),
        partner_type=PartnerType(r["partner_type"]),
        legal_basis=LegalBasis(r["legal_basis"]),
        registered_on=r["registered_on"],
        created_at=_utc(r["created_at"]),
    )
