"""The SQL side of hub.store.resident_base (SqlHubStore mixes it in)."""

from __future__ import annotations

import datetime as dt
from abc import abstractmethod
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any, TypeVar

from sqlalchemy import Engine, and_, delete, func, insert, select, text, update

from consent.model import Pseudonym, Purpose, Source
from hub.consent_check import ConsentNarrowing
from hub.domain import StoredSignal
from hub.resident import (
    Objection,
    ObjectionParty,
    ObjectionReason,
    ObjectionState,
    RegiehouderChoice,
    RegiePreference,
    StatuteNotice,
)
from hub.store import rows
from hub.store.resident_base import NOTICE_SLACK, SWEEP_LIMIT, ResidentRecords
from hub.store.tables import (
    CONSENT_CURSOR,
    NARROWINGS,
    OBJECTIONS,
    PREFERENCES,
    SIGNALS,
    STATUTE_NOTICES,
)
from seinhuis.errors import AlreadyExists
from seinhuis.vocabulary import LegalBasis, LifeDomain, PartnerType, SignalType

T = TypeVar("T")

_CHUNK = 500
_CURSOR_NAME = "watch"
#: Written exactly as the partial index ix_hub_signals_statute_received says it, so the
#: database can use that index (SQLite matches the terms literally).
_STATUTE = text("legal_basis != 'TOESTEMMING'")


def _chunks(values: list[T]) -> Iterator[list[T]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC)


class SqlResidentRecords(ResidentRecords):
    """Statements on the resident and consent tables; transactions as SqlHubStore makes them."""

    # Provided by SqlHubStore.
    _engine: Engine
    _writer: Engine

    @abstractmethod
    def _retrying(self, attempt: Callable[[], T]) -> T:
        """SqlHubStore's: one transaction, again on a conflict or while the database is away."""

    # --- consent --------------------------------------------------------------------------------

    def mark_consent_lost(self, signal_ids: Collection[bytes], at: dt.datetime) -> list[bytes]:
        ids = list(dict.fromkeys(signal_ids))

        def run() -> list[bytes]:
            marked: list[bytes] = []
            with self._writer.begin() as conn:
                for chunk in _chunks(ids):
                    counting = and_(
                        SIGNALS.c.id.in_(chunk),
                        SIGNALS.c.legal_basis == LegalBasis.TOESTEMMING.value,
                        SIGNALS.c.consent_lost_at.is_(None),
                    )
                    found = [
                        bytes(r[0]) for r in conn.execute(select(SIGNALS.c.id).where(counting))
                    ]
                    if found:
                        conn.execute(
                            update(SIGNALS)
                            .where(SIGNALS.c.id.in_(found))
                            .values(consent_lost_at=_utc(at))
                        )
                        marked += found
            return marked

        return self._retrying(run)

    def consent_running_out(self, by: dt.datetime, *, limit: int = 500) -> list[StoredSignal]:
        query = (
            select(SIGNALS)
            .where(SIGNALS.c.consent_until <= _utc(by), SIGNALS.c.consent_lost_at.is_(None))
            .order_by(SIGNALS.c.consent_until, SIGNALS.c.id)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return [rows.stored_signal(r._mapping) for r in conn.execute(query)]

    def consent_cursor(self) -> int:
        query = select(CONSENT_CURSOR.c.cursor).where(CONSENT_CURSOR.c.name == _CURSOR_NAME)
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def set_consent_cursor(self, cursor: int) -> None:
        def run() -> None:
            with self._writer.begin() as conn:
                where = CONSENT_CURSOR.c.name == _CURSOR_NAME
                known = conn.execute(select(CONSENT_CURSOR.c.cursor).where(where)).scalar()
                if known is None:
                    conn.execute(insert(CONSENT_CURSOR).values(name=_CURSOR_NAME, cursor=cursor))
                elif cursor > known:
                    conn.execute(update(CONSENT_CURSOR).where(where).values(cursor=cursor))

        self._retrying(run)

    def add_consent_narrowing(self, narrowing: ConsentNarrowing) -> None:
        source = narrowing.source
        with self._writer.begin() as conn:
            conn.execute(
                insert(NARROWINGS).values(
                    subject=narrowing.subject.value,
                    key_version=narrowing.subject.key_version,
                    at=_utc(narrowing.at),
                    partner_type=source.partner_type.value if source.partner_type else None,
                    partner_id=source.partner_id,
                    life_domain=narrowing.life_domain.value if narrowing.life_domain else None,
                    purpose=narrowing.purpose.value,
                )
            )

    def consent_narrowings_since(self, since: dt.datetime) -> list[ConsentNarrowing]:
        query = (
            select(NARROWINGS)
            .where(NARROWINGS.c.at >= _utc(since))
            .order_by(NARROWINGS.c.at, NARROWINGS.c.id)
        )
        with self._engine.connect() as conn:
            return [_narrowing(r._mapping) for r in conn.execute(query)]

    # --- statute notices ------------------------------------------------------------------------

    def sweep_statute_notices(self, at: dt.datetime) -> int:
        # A look without the write lock first: most sweeps find nothing new.
        with self._engine.connect() as conn:
            if not _unnoticed(conn):
                return 0

        def run() -> int:
            with self._writer.begin() as conn:
                new = _unnoticed(conn)
                if not new:
                    return 0
                last = int(conn.execute(select(func.max(STATUTE_NOTICES.c.cursor))).scalar() or 0)
                conn.execute(
                    insert(STATUTE_NOTICES),
                    [
                        {
                            "cursor": last + n,
                            "signal_id": sid,
                            "signal_received_at": _utc(received),
                            "created_at": _utc(at),
                        }
                        for n, (sid, received) in enumerate(new, start=1)
                    ],
                )
                return len(new)

        return self._retrying(run)

    def statute_notices_after(self, cursor: int, *, limit: int = 500) -> list[StatuteNotice]:
        query = (
            select(STATUTE_NOTICES.c.cursor.label("notice_cursor"), SIGNALS)
            .join(SIGNALS, SIGNALS.c.id == STATUTE_NOTICES.c.signal_id)
            .where(STATUTE_NOTICES.c.cursor > cursor)
            .order_by(STATUTE_NOTICES.c.cursor)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return [
                StatuteNotice(int(r.notice_cursor), rows.stored_signal(r._mapping))
                for r in conn.execute(query)
            ]

    # --- objections -------------------------------------------------------------------------------

    def add_objection(self, objection: Objection) -> Objection:
        def run() -> Objection:
            with self._writer.begin() as conn:
                known = conn.execute(
                    select(OBJECTIONS).where(OBJECTIONS.c.id == objection.id)
                ).first()
                if known is not None:
                    return _objection(known._mapping)
                open_one = conn.execute(
                    select(OBJECTIONS.c.id).where(
                        OBJECTIONS.c.signal_id == objection.signal_id,
                        OBJECTIONS.c.subject == objection.subject,
                        OBJECTIONS.c.state == ObjectionState.OPEN.value,
                    )
                ).first()
                if open_one is not None:
                    raise AlreadyExists("an objection to this signal is already under review")
                conn.execute(insert(OBJECTIONS).values(_objection_row(objection)))
            return objection

        return self._retrying(run)

    def open_objections(self) -> list[Objection]:
        query = (
            select(OBJECTIONS)
            .where(OBJECTIONS.c.state == ObjectionState.OPEN.value)
            .order_by(OBJECTIONS.c.created_at, OBJECTIONS.c.id)
        )
        with self._engine.connect() as conn:
            return [_objection(r._mapping) for r in conn.execute(query)]

    # --- preferences ------------------------------------------------------------------------------

    def set_preference(self, preference: RegiePreference) -> None:
        def run() -> None:
            with self._writer.begin() as conn:
                conn.execute(delete(PREFERENCES).where(PREFERENCES.c.person == preference.person))
                conn.execute(
                    insert(PREFERENCES).values(
                        person=preference.person,
                        key_version=preference.key_version,
                        choice=preference.choice.value,
                        partner_type=(
                            preference.partner_type.value if preference.partner_type else None
                        ),
                        stated_at=_utc(preference.stated_at),
                    )
                )

        self._retrying(run)

    def clear_preference(self, person: bytes) -> bool:
        with self._writer.begin() as conn:
            result = conn.execute(delete(PREFERENCES).where(PREFERENCES.c.person == person))
        return bool(result.rowcount)

    def preferences_of(self, persons: Collection[bytes]) -> list[RegiePreference]:
        found: list[RegiePreference] = []
        with self._engine.connect() as conn:
            for chunk in _chunks(list(set(persons))):
                query = select(PREFERENCES).where(PREFERENCES.c.person.in_(chunk))
                found += [_preference(r._mapping) for r in conn.execute(query)]
        return sorted(found, key=lambda p: p.stated_at)


def _unnoticed(conn: Any) -> list[tuple[bytes, dt.datetime]]:
    """Statute-based signals without a notice, oldest first, at most SWEEP_LIMIT.

    Only signals received since NOTICE_SLACK before the newest one noticed are looked at (with
    the partial index); the first sweep looks at all of them.
    """
    newest = conn.execute(select(func.max(STATUTE_NOTICES.c.signal_received_at))).scalar()
    query = select(SIGNALS.c.id, SIGNALS.c.received_at).where(_STATUTE)
    noticed_query = select(STATUTE_NOTICES.c.signal_id)
    if newest is not None:
        since = rows.utc(newest) - NOTICE_SLACK
        query = query.where(SIGNALS.c.received_at >= since)
        noticed_query = noticed_query.where(STATUTE_NOTICES.c.signal_received_at >= since)
    noticed = {bytes(r[0]) for r in conn.execute(noticed_query)}
    found = []
    for r in conn.execute(query.order_by(SIGNALS.c.received_at, SIGNALS.c.id)):
        sid = bytes(r[0])
        if sid not in noticed:
            found.append((sid, rows.utc(r[1])))
            if len(found) >= SWEEP_LIMIT:
                break
    return found


def _narrowing(r: Mapping[Any, Any]) -> ConsentNarrowing:
    if r["partner_id"] is not None:
        source = Source.organisation(r["partner_id"])
    else:
        source = Source.category(PartnerType(r["partner_type"]))
    return ConsentNarrowing(
        subject=Pseudonym(bytes(r["subject"]), int(r["key_version"])),
        at=rows.utc(r["at"]),
        source=source,
        life_domain=LifeDomain(r["life_domain"]) if r["life_domain"] else None,
        purpose=Purpose(r["purpose"]),
    )


def _objection_row(o: Objection) -> dict[str, Any]:
    return {
        "id": o.id,
        "signal_id": o.signal_id,
        "subject": o.subject,
        "key_version": o.key_version,
        "made_by": o.made_by.value,
        "reason": o.reason.value,
        "signal_type": o.signal_type.value,
        "partner_type": o.partner_type.value,
        "legal_basis": o.legal_basis.value,
        "created_at": _utc(o.created_at),
        "state": o.state.value,
    }


def _objection(r: Mapping[Any, Any]) -> Objection:
    return Objection(
        id=bytes(r["id"]),
        signal_id=bytes(r["signal_id"]),
        subject=bytes(r["subject"]),
        key_version=int(r["key_version"]),
        made_by=ObjectionParty(r["made_by"]),
        reason=ObjectionReason(r["reason"]),
        signal_type=SignalType(r["signal_type"]),
        partner_type=PartnerType(r["partner_type"]),
        legal_basis=LegalBasis(r["legal_basis"]),
        created_at=rows.utc(r["created_at"]),
        state=ObjectionState(r["state"]),
    )


def _preference(r: Mapping[Any, Any]) -> RegiePreference:
    return RegiePreference(
        person=bytes(r["person"]),
        key_version=int(r["key_version"]),
        choice=RegiehouderChoice(r["choice"]),
        stated_at=rows.utc(r["stated_at"]),
        partner_type=PartnerType(r["partner_type"]) if r["partner_type"] else None,
    )
