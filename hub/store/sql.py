"""The SQL hub store (SQLite by default, PostgreSQL in production), bulk statements on the hot path.

add_batch is one transaction of a few executemany inserts, committed before it returns; on
SQLite the transaction takes the write lock up front (BEGIN IMMEDIATE) so the "seen?" read and
the inserts cannot interleave with another writer, and synchronous=FULL makes a commit survive
a power cut as well as a killed process.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from hub.domain import (
    Notification,
    NotificationKind,
    Received,
    ReceivedPopulationFact,
    ReceivedSignal,
    SignalCount,
    StoredSignal,
    kind_of,
)
from hub.judgement.model import Case
from hub.store import rows
from hub.store.base import (
    CaseSummary,
    CaseWrite,
    HouseholdState,
    HubStore,
    Outcome,
    Rekey,
    case_id_bytes,
)
from hub.store.memory import case_order
from hub.store.tables import (
    CASE_SIGNALS,
    CASES,
    FACTS,
    HOUSEHOLDS,
    NOTIFICATIONS,
    OUTREACH,
    SEEN,
    SIGNALS,
    HubModel,
)
from seinhuis.errors import NotFound
from seinhuis.vocabulary import SignalType, WithdrawReason

#: Ids per IN (...) list; well under every backend's bound-parameter limit.
_IN_CHUNK = 500
#: Attempts when a concurrent writer (another hub process) claims the same id or cursor.
_ATTEMPTS = 5
_IMMEDIATE = "seinhuis_immediate"

T = TypeVar("T")


class SqlHubStore(HubStore):
    """A HubStore on any SQLAlchemy URL; creates its tables if they are missing."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self._engine = _engine(url)
        HubModel.metadata.create_all(self._engine)
        # Writers take SQLite's write lock at BEGIN; readers keep deferred transactions.
        self._writer = self._engine.execution_options(**{_IMMEDIATE: True})

    def close(self) -> None:
        super().close()
        self._engine.dispose()

    def add_batch(self, items: Sequence[Received]) -> list[Outcome]:
        outcomes: list[Outcome] = [Outcome.STORED] * len(items)
        first: dict[bytes, Received] = {}
        for i, item in enumerate(items):
            if item.id in first:
                outcomes[i] = Outcome.ALREADY_EXISTS
            else:
                first[item.id] = item
        if not first:
            return outcomes
        seen = self._retrying(lambda: self._insert_new(first))
        for i, item in enumerate(items):
            if outcomes[i] is Outcome.STORED and item.id in seen:
                outcomes[i] = Outcome.ALREADY_EXISTS
        return outcomes

    def rekey(self, from_version: int, to_version: int, rekey: Rekey) -> int:
        def run() -> int:
            with self._writer.begin() as conn:
                signals = conn.execute(
                    select(
                        SIGNALS.c.id, SIGNALS.c.person_pseudonym, SIGNALS.c.address_pseudonym
                    ).where(SIGNALS.c.key_version == from_version)
                ).all()
                signal_updates = [
                    {
                        "row_id": bytes(r.id),
                        "new_person": rekey("PERSON", bytes(r.person_pseudonym))
                        if r.person_pseudonym is not None
                        else None,
                        "new_address": rekey("ADDRESS", bytes(r.address_pseudonym)),
                    }
                    for r in signals
                ]
                facts = conn.execute(
                    select(
                        FACTS.c.id,
                        FACTS.c.event_kind,
                        FACTS.c.subject_pseudonym,
                        FACTS.c.object_pseudonym,
                    ).where(FACTS.c.key_version == from_version)
                ).all()
                fact_updates = []
                for r in facts:
                    object_kind = "PERSON" if r.event_kind == "PARENTHOOD" else "ADDRESS"
                    fact_updates.append(
                        {
                            "row_id": bytes(r.id),
                            "new_subject": rekey("PERSON", bytes(r.subject_pseudonym)),
                            "new_object": rekey(object_kind, bytes(r.object_pseudonym))
                            if r.object_pseudonym is not None
                            else None,
                        }
                    )
                if signal_updates:
                    conn.execute(
                        update(SIGNALS)
                        .where(SIGNALS.c.id == bindparam("row_id"))
                        .values(
                            person_pseudonym=bindparam("new_person"),
                            address_pseudonym=bindparam("new_address"),
                            key_version=to_version,
                        ),
                        signal_updates,
                    )
                if fact_updates:
                    conn.execute(
                        update(FACTS)
                        .where(FACTS.c.id == bindparam("row_id"))
                        .values(
                            subject_pseudonym=bindparam("new_subject"),
                            object_pseudonym=bindparam("new_object"),
                            key_version=to_version,
                        ),
                        fact_updates,
                    )
                return len(signal_updates) + len(fact_updates)

        return self._retrying(run)

    def _insert_new(self, first: dict[bytes, Received]) -> set[bytes]:
        """Insert the items whose id is not yet seen; return the ids that were seen."""
        with self._writer.begin() as conn:
            seen: set[bytes] = set()
            for chunk in _chunks(list(first)):
                found = conn.execute(select(SEEN.c.id).where(SEEN.c.id.in_(chunk)))
                seen.update(bytes(r[0]) for r in found)
            new = [item for id_, item in first.items() if id_ not in seen]
            if new:
                conn.execute(
                    insert(SEEN),
                    [
                        {
                            "id": i.id,
                            "partner_id": i.partner_id,
                            "kind": kind_of(i).value,
                            "received_at": i.received_at.astimezone(dt.UTC),
                        }
                        for i in new
                    ],
                )
                signals = [rows.signal_row(i) for i in new if isinstance(i, ReceivedSignal)]
                facts = [rows.fact_row(i) for i in new if isinstance(i, ReceivedPopulationFact)]
                if signals:
                    conn.execute(insert(SIGNALS), signals)
                if facts:
                    conn.execute(insert(FACTS), facts)
        return seen

    def withdraw(
        self, partner_id: str, signal_id: bytes, reason: WithdrawReason, at: dt.datetime
    ) -> Notification:
        notification = self._retrying(lambda: self._withdraw(partner_id, signal_id, reason, at))
        self._notify_changed()
        return notification

    def _withdraw(
        self, partner_id: str, signal_id: bytes, reason: WithdrawReason, at: dt.datetime
    ) -> Notification:
        with self._writer.begin() as conn:
            found = conn.execute(
                select(SIGNALS.c.partner_id, SIGNALS.c.withdraw_reason)
                .where(SIGNALS.c.id == signal_id)
                .with_for_update()
            ).first()
            if (
                found is None
                or found.partner_id != partner_id
                or (found.withdraw_reason is not None and reason is WithdrawReason.RESOLVED)
            ):
                raise NotFound("no such signal of yours to withdraw")
            if reason is WithdrawReason.UNJUSTIFIED:
                conn.execute(delete(SIGNALS).where(SIGNALS.c.id == signal_id))
            else:
                conn.execute(
                    update(SIGNALS)
                    .where(SIGNALS.c.id == signal_id)
                    .values(withdrawn_at=at.astimezone(dt.UTC), withdraw_reason=reason.value)
                )
            last = conn.execute(
                select(func.max(NOTIFICATIONS.c.cursor)).where(
                    NOTIFICATIONS.c.partner_id == partner_id
                )
            ).scalar()
            notification = Notification(
                partner_id=partner_id,
                cursor=int(last or 0) + 1,
                created_at=at,
                kind=NotificationKind.SIGNAL_WITHDRAWN,
                ref_id=signal_id,
                reason=reason,
            )
            # The (partner, cursor) key makes a concurrent writer's equal cursor fail and retry.
            conn.execute(insert(NOTIFICATIONS), [rows.notification_row(notification)])
        return notification

    def get_signal(self, signal_id: bytes) -> StoredSignal | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(SIGNALS).where(SIGNALS.c.id == signal_id)).first()
        return rows.stored_signal(row._mapping) if row is not None else None

    def list_signals(self, *, limit: int | None = None) -> list[StoredSignal]:
        query = select(SIGNALS).order_by(SIGNALS.c.received_at, SIGNALS.c.id).limit(limit)
        with self._engine.connect() as conn:
            return [rows.stored_signal(r._mapping) for r in conn.execute(query)]

    def count_signals(self) -> list[SignalCount]:
        withdrawn = SIGNALS.c.withdraw_reason.is_not(None)
        query = (
            select(
                SIGNALS.c.partner_id,
                SIGNALS.c.signal_type,
                func.count().filter(~withdrawn),
                func.count().filter(withdrawn),
            )
            .group_by(SIGNALS.c.partner_id, SIGNALS.c.signal_type)
            .order_by(SIGNALS.c.partner_id, SIGNALS.c.signal_type)
        )
        with self._engine.connect() as conn:
            return [
                SignalCount(
                    partner_id=p, signal_type=SignalType(t), active=int(a), withdrawn=int(w)
                )
                for p, t, a, w in conn.execute(query)
            ]

    def list_population_facts(self) -> list[ReceivedPopulationFact]:
        query = select(FACTS).order_by(FACTS.c.received_at, FACTS.c.id)
        with self._engine.connect() as conn:
            return [rows.population_fact(r._mapping) for r in conn.execute(query)]

    def is_seen(self, message_id: bytes) -> bool:
        with self._engine.connect() as conn:
            return (
                conn.execute(select(SEEN.c.id).where(SEEN.c.id == message_id)).first() is not None
            )

    def notifications_after(
        self, partner_id: str, after_cursor: int, *, limit: int = 500
    ) -> list[Notification]:
        query = (
            select(NOTIFICATIONS)
            .where(NOTIFICATIONS.c.partner_id == partner_id, NOTIFICATIONS.c.cursor > after_cursor)
            .order_by(NOTIFICATIONS.c.cursor)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return [rows.notification(r._mapping) for r in conn.execute(query)]

    def household_signals(
        self, addresses: Collection[bytes], persons: Collection[bytes]
    ) -> list[StoredSignal]:
        with self._engine.connect() as conn:
            return _household_signals(conn, addresses, persons)

    def household_state(
        self, household: bytes, addresses: Collection[bytes], persons: Collection[bytes]
    ) -> HouseholdState:
        with self._engine.connect() as conn:
            return _state(conn, household, addresses, persons)

    def judge_household(
        self,
        household: bytes,
        addresses: Collection[bytes],
        persons: Collection[bytes],
        decide: Callable[[HouseholdState], CaseWrite],
        at: dt.datetime,
    ) -> list[Notification]:
        appended = self._retrying(lambda: self._judge(household, addresses, persons, decide, at))
        if appended:
            self._notify_changed()
        return appended

    def _judge(
        self,
        household: bytes,
        addresses: Collection[bytes],
        persons: Collection[bytes],
        decide: Callable[[HouseholdState], CaseWrite],
        at: dt.datetime,
    ) -> list[Notification]:
        with self._writer.begin() as conn:
            # SQLite: BEGIN IMMEDIATE holds the write lock already. Elsewhere the household's
            # row is locked; a first-time insert racing another process retries on the key.
            locked = conn.execute(
                select(HOUSEHOLDS.c.key).where(HOUSEHOLDS.c.key == household).with_for_update()
            ).first()
            if locked is None:
                conn.execute(insert(HOUSEHOLDS), [{"key": household}])
            state = _state(conn, household, addresses, persons)
            write = decide(state)
            if write.case is not None:
                self._write_case(conn, household, write.case, at)
            if write.outreach_remove:
                conn.execute(
                    delete(OUTREACH).where(OUTREACH.c.signal_id.in_(write.outreach_remove))
                )
            if write.outreach_add:
                conn.execute(
                    insert(OUTREACH),
                    [
                        {
                            "signal_id": sid,
                            "household": household,
                            "rule": write.outreach_rule,
                            "added_at": at.astimezone(dt.UTC),
                        }
                        for sid in write.outreach_add
                    ],
                )
            appended = []
            for notice in write.notices:
                last = conn.execute(
                    select(func.max(NOTIFICATIONS.c.cursor)).where(
                        NOTIFICATIONS.c.partner_id == notice.partner_id
                    )
                ).scalar()
                n = Notification(
                    partner_id=notice.partner_id,
                    cursor=int(last or 0) + 1,
                    created_at=at,
                    kind=notice.kind,
                    ref_id=notice.notice.case_id or b"",
                    case=notice.notice,
                )
                conn.execute(insert(NOTIFICATIONS), [rows.notification_row(n)])
                appended.append(n)
        return appended

    @staticmethod
    def _write_case(conn: Connection, household: bytes, case: Case, at: dt.datetime) -> None:
        if case.household != household:
            raise ValueError("decide returned the case of another household")
        cid = case_id_bytes(case.id)
        before = conn.execute(
            select(CASES.c.seq, CASES.c.opened_at).where(CASES.c.id == cid)
        ).first()
        if before is None:
            seq = int(conn.execute(select(func.max(CASES.c.seq))).scalar() or 0) + 1
            conn.execute(insert(CASES), [rows.case_row(case, cid, seq, at, at)])
        else:
            values = rows.case_row(case, cid, int(before.seq), rows.utc(before.opened_at), at)
            del values["id"]
            conn.execute(update(CASES).where(CASES.c.id == cid).values(**values))
        conn.execute(delete(CASE_SIGNALS).where(CASE_SIGNALS.c.case_id == cid))
        if case.signal_ids:
            conn.execute(
                insert(CASE_SIGNALS),
                [{"case_id": cid, "signal_id": sid} for sid in sorted(case.signal_ids)],
            )

    def get_case(self, case_id: bytes) -> Case | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(CASES).where(CASES.c.id == case_id)).first()
            if row is None:
                return None
            return rows.case_from_row(row._mapping, _case_signals(conn, case_id))

    def case_signal_ids(self, case_id: bytes) -> frozenset[bytes]:
        with self._engine.connect() as conn:
            return _case_signals(conn, case_id)

    def open_cases_by_regiehouder(self) -> dict[str, int]:
        query = (
            select(CASES.c.regiehouder, func.count())
            .where(CASES.c.status != "CLOSED", CASES.c.regiehouder.is_not(None))
            .group_by(CASES.c.regiehouder)
        )
        with self._engine.connect() as conn:
            return {str(p): int(n) for p, n in conn.execute(query)}

    def list_cases(self) -> list[CaseSummary]:
        count = select(func.count()).where(CASE_SIGNALS.c.case_id == CASES.c.id).scalar_subquery()
        with self._engine.connect() as conn:
            found = [
                CaseSummary(
                    id=bytes(r.id),
                    ref=r.ref,
                    status=r.status,
                    regiehouder=r.regiehouder,
                    deadline=r.deadline,
                    escalation=int(r.escalation),
                    opened_at=rows.utc(r.opened_at),
                    updated_at=rows.utc(r.updated_at),
                    outcome=r.outcome,
                    signals=int(r.n),
                )
                for r in conn.execute(select(CASES, count.label("n")))
            ]
        return sorted(found, key=case_order)

    def open_case_households(self, due_by: dt.date) -> list[bytes]:
        query = (
            select(CASES.c.household)
            .where(
                CASES.c.status != "CLOSED",
                or_(CASES.c.deadline <= due_by, CASES.c.escalation_deadline <= due_by),
            )
            .distinct()
        )
        with self._engine.connect() as conn:
            return sorted(bytes(r[0]) for r in conn.execute(query))

    def _retrying(self, attempt: Callable[[], T]) -> T:
        for remaining in reversed(range(_ATTEMPTS)):
            try:
                return attempt()
            except IntegrityError:
                # Another process committed the same id or cursor between our read and write;
                # the next attempt reads it and answers accordingly.
                if remaining == 0:
                    raise
        raise AssertionError("unreachable")


def _engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    memory = url in ("sqlite://", "sqlite:///:memory:")
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        # An in-memory database exists per connection: share one.
        **({"poolclass": StaticPool} if memory else {"pool_size": 8, "max_overflow": 16}),
    )
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let us issue BEGIN ourselves (pysqlite would defer it to the first write).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=FULL",
        "PRAGMA foreign_keys=ON",
        "PRAGMA busy_timeout=30000",
    ):
        cursor.execute(pragma)
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    immediate = conn.get_execution_options().get(_IMMEDIATE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _household_signals(
    conn: Connection, addresses: Collection[bytes], persons: Collection[bytes]
) -> list[StoredSignal]:
    found: dict[bytes, StoredSignal] = {}
    for column, keys in (
        (SIGNALS.c.address_pseudonym, list(addresses)),
        (SIGNALS.c.person_pseudonym, list(persons)),
    ):
        for chunk in _chunks(keys):
            for r in conn.execute(select(SIGNALS).where(column.in_(chunk))):
                stored = rows.stored_signal(r._mapping)
                found[stored.received.id] = stored
    return sorted(found.values(), key=lambda s: (s.received.received_at, s.received.id))


def _state(
    conn: Connection, household: bytes, addresses: Collection[bytes], persons: Collection[bytes]
) -> HouseholdState:
    latest = conn.execute(
        select(CASES).where(CASES.c.household == household).order_by(CASES.c.seq.desc()).limit(1)
    ).first()
    case = (
        rows.case_from_row(latest._mapping, _case_signals(conn, bytes(latest.id)))
        if latest is not None
        else None
    )
    outreach = conn.execute(select(OUTREACH.c.signal_id).where(OUTREACH.c.household == household))
    return HouseholdState(
        case=case,
        signals=tuple(_household_signals(conn, addresses, persons)),
        on_outreach=frozenset(bytes(r[0]) for r in outreach),
    )


def _case_signals(conn: Connection, case_id: bytes) -> frozenset[bytes]:
    query = select(CASE_SIGNALS.c.signal_id).where(CASE_SIGNALS.c.case_id == case_id)
    return frozenset(bytes(r[0]) for r in conn.execute(query))


def _chunks(ids: list[bytes]) -> Iterator[list[bytes]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield ids[start : start + _IN_CHUNK]
