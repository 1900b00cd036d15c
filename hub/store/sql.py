"""The SQL hub store (SQLite by default, PostgreSQL in production), bulk statements on the hot path.

add_batch is one transaction of a few executemany inserts, committed before it returns; on
SQLite the transaction takes the write lock up front (BEGIN IMMEDIATE) so the "seen?" read and
the inserts cannot interleave with another writer, and synchronous=FULL makes a commit survive
a power cut as well as a killed process.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterator, Sequence
from itertools import zip_longest
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from hub import audit
from hub.audit import AuditDraft, AuditEntry, Look, Subject
from hub.domain import (
    Notification,
    NotificationKind,
    Received,
    ReceivedPopulationFact,
    ReceivedSignal,
    SignalCount,
    StoredSignal,
    Touched,
    kind_of,
    touched_by,
)
from hub.judgement.model import Case, CaseStatus, EscalationLevel
from hub.judgement.model import Outcome as CaseOutcome
from hub.judgement.notifications import NoticeKind
from hub.store import rows
from hub.store.base import (
    CaseFacts,
    CaseRecord,
    CaseSummary,
    CaseWrite,
    EscalationRecord,
    HouseholdCase,
    HouseholdState,
    HubStore,
    NewNotice,
    Outcome,
    Rekey,
    SignalKind,
    SignalTally,
    StaffWrite,
    case_id_bytes,
    case_subjects,
)
from hub.store.bulk import BulkInsert
from hub.store.memory import case_order
from hub.store.resident_sql import SqlResidentRecords
from hub.store.tables import (
    AUDIT,
    AUDIT_ALIASES,
    AUDIT_SUBJECTS,
    CASE_SIGNALS,
    CASES,
    ESCALATIONS,
    FACTS,
    FEED_FLOORS,
    HOUSEHOLDS,
    JUDGE_QUEUE,
    NARROWINGS,
    NOTIFICATIONS,
    OBJECTIONS,
    OUTREACH,
    PREFERENCES,
    SEEN,
    SIGNALS,
)
from seinhuis import db, schema
from seinhuis.errors import NotFound
from seinhuis.vocabulary import LegalBasis, LifeDomain, PartnerType, SignalType, WithdrawReason

#: Ids per IN (...) list; well under every backend's bound-parameter limit.
_IN_CHUNK = 500
#: Attempts when a concurrent writer (another hub process) claims the same id or cursor.
_ATTEMPTS = 5
_IMMEDIATE = db.IMMEDIATE
#: PostgreSQL channel on which every hub process announces new feed notifications.
_FEED_CHANNEL = "seinhuis_hub_feed"

T = TypeVar("T")


class SqlHubStore(SqlResidentRecords, HubStore):
    """A HubStore on any SQLAlchemy URL; opening brings the schema to the newest migration
    (hub/migrations), or with auto_migrate off refuses a database that is not there yet.

    Several hub processes may share one PostgreSQL database: writes that race on an id, a
    cursor or a household retry, a PostgreSQL restart is waited out for a few seconds and
    then reported as DatabaseUnavailable (UNAVAILABLE to the caller, who retries), and feed
    notifications written by one process wake the feed subscribers of every other
    (LISTEN/NOTIFY) besides the waiters' own poll. On SQLite a thread copies the WAL into
    the database file (db.WalCheckpointer), unless checkpoints=False because another process
    on the same file (the hub's, for its judge process) does.
    """

    def __init__(self, url: str, *, auto_migrate: bool = True, checkpoints: bool = True) -> None:
        from hub.migrations import SCHEMA

        super().__init__()
        self._engine = db.create_engine(url)
        try:
            schema.prepare(
                self._engine,
                SCHEMA,
                auto_migrate=auto_migrate,
                command_hint="seinhuis hub migrate --config hub.toml",
            )
        except BaseException:
            self._engine.dispose()
            raise
        # Writers take SQLite's write lock at BEGIN; readers keep deferred transactions.
        self._writer = self._engine.execution_options(**{_IMMEDIATE: True})
        self._feed_channel = (
            db.NotifyChannel(self._engine, _FEED_CHANNEL)
            if db.NotifyChannel.supported(self._engine)
            else None
        )
        # SQLite: commits do not wait for a checkpoint's copy; one thread per database file
        # does it (checkpoints=False: another process on the file runs that thread).
        self._checkpoints = (
            db.WalCheckpointer(self._engine) if db.WalCheckpointer.supported(self._engine) else None
        )
        if self._checkpoints is not None and checkpoints:
            self._checkpoints.start()

    def close(self) -> None:
        super().close()
        if self._feed_channel is not None:
            self._feed_channel.close()
        if self._checkpoints is not None:
            self._checkpoints.close()
        self._engine.dispose()

    def wait_for_notifications(
        self, partner_id: str, after_cursor: int, timeout: float
    ) -> list[Notification]:
        if self._feed_channel is not None:
            self._feed_channel.listen(self.wake)
        return super().wait_for_notifications(partner_id, after_cursor, timeout)

    def _notify_changed(self) -> None:
        super()._notify_changed()
        if self._feed_channel is not None:
            self._feed_channel.send()

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
            # Every old pseudonym and its new one: what else is keyed by them follows.
            moved: dict[bytes, bytes] = {}

            def recorded(kind: str, pseudonym: bytes) -> bytes:
                moved[pseudonym] = rekey(kind, pseudonym)
                return moved[pseudonym]

            with self._writer.begin() as conn:
                signals = conn.execute(
                    select(
                        SIGNALS.c.id, SIGNALS.c.person_pseudonym, SIGNALS.c.address_pseudonym
                    ).where(SIGNALS.c.key_version == from_version)
                ).all()
                signal_updates = [
                    {
                        "row_id": bytes(r.id),
                        "new_person": recorded("PERSON", bytes(r.person_pseudonym))
                        if r.person_pseudonym is not None
                        else None,
                        "new_address": recorded("ADDRESS", bytes(r.address_pseudonym)),
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
                            "new_subject": recorded("PERSON", bytes(r.subject_pseudonym)),
                            "new_object": recorded(object_kind, bytes(r.object_pseudonym))
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
                residents = _rekey_resident_records(conn, from_version, to_version, rekey)
                _move_household_keys(conn, moved)
                return len(signal_updates) + len(fact_updates) + residents

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
                _SEEN_INSERT.execute(
                    conn,
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
                _SIGNALS_INSERT.execute(conn, signals)
                _FACTS_INSERT.execute(conn, facts)
                _queue(conn, touched_by(new))
        return seen

    def queue_judgement(self, touched: Sequence[Touched]) -> None:
        def run() -> None:
            with self._writer.begin() as conn:
                _queue(conn, touched)

        self._retrying(run)

    def pending_judgements(self, limit: int) -> list[tuple[int, Touched]]:
        query = select(JUDGE_QUEUE).order_by(JUDGE_QUEUE.c.seq).limit(limit)
        with self._engine.connect() as conn:
            return [
                (int(r.seq), Touched(bytes(r.address), _blob_or_none(r.person)))
                for r in conn.execute(query)
            ]

    def claim_judgements(
        self,
        claimer: str,
        limit: int,
        now: dt.datetime,
        lease: dt.timedelta,
        *,
        done: Collection[int] = (),
    ) -> list[tuple[int, Touched]]:
        free = or_(JUDGE_QUEUE.c.claimed_until.is_(None), JUDGE_QUEUE.c.claimed_until < now)
        # A look without the write lock first: an idle judge polls often and must not hold
        # up the intake's writes (SQLite has one writer).
        if not done:
            with self._engine.connect() as conn:
                if conn.execute(select(JUDGE_QUEUE.c.seq).where(free).limit(1)).first() is None:
                    return []

        def run() -> list[tuple[int, Touched]]:
            with self._writer.begin() as conn:
                _delete_judged(conn, done)
                # One statement picks and claims (PostgreSQL skips rows another judge holds).
                oldest_free = (
                    select(JUDGE_QUEUE.c.seq)
                    .where(free)
                    .order_by(JUDGE_QUEUE.c.seq)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
                claimed = conn.execute(
                    update(JUDGE_QUEUE)
                    .where(JUDGE_QUEUE.c.seq.in_(oldest_free))
                    .values(claimed_by=claimer, claimed_until=(now + lease).astimezone(dt.UTC))
                    .returning(JUDGE_QUEUE.c.seq, JUDGE_QUEUE.c.address, JUDGE_QUEUE.c.person)
                ).all()
                return sorted(
                    (int(r.seq), Touched(bytes(r.address), _blob_or_none(r.person)))
                    for r in claimed
                )

        return self._retrying(run)

    def judgements_done(self, seqs: Collection[int]) -> None:
        def run() -> None:
            with self._writer.begin() as conn:
                _delete_judged(conn, seqs)

        self._retrying(run)

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
                select(
                    SIGNALS.c.partner_id,
                    SIGNALS.c.withdraw_reason,
                    SIGNALS.c.address_pseudonym,
                    SIGNALS.c.person_pseudonym,
                )
                .where(SIGNALS.c.id == signal_id)
                .with_for_update()
            ).first()
            if (
                found is None
                or found.partner_id != partner_id
                or (found.withdraw_reason is not None and reason is WithdrawReason.RESOLVED)
            ):
                raise NotFound("no such signal of yours to withdraw")
            _queue(
                conn,
                [Touched(bytes(found.address_pseudonym), _blob_or_none(found.person_pseudonym))],
            )
            if reason is WithdrawReason.UNJUSTIFIED:
                conn.execute(delete(SIGNALS).where(SIGNALS.c.id == signal_id))
            else:
                conn.execute(
                    update(SIGNALS)
                    .where(SIGNALS.c.id == signal_id)
                    .values(withdrawn_at=at.astimezone(dt.UTC), withdraw_reason=reason.value)
                )
            notification = Notification(
                partner_id=partner_id,
                cursor=_next_cursor(conn, partner_id),
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

    def raise_feed_floors(self, partner_ids: Collection[str], gap: int) -> dict[str, int]:
        def run() -> dict[str, int]:
            floors: dict[str, int] = {}
            with self._writer.begin() as conn:
                for partner_id in sorted(set(partner_ids)):
                    floors[partner_id] = _next_cursor(conn, partner_id) - 1 + gap
                    conn.execute(delete(FEED_FLOORS).where(FEED_FLOORS.c.partner_id == partner_id))
                    conn.execute(
                        insert(FEED_FLOORS),
                        [{"partner_id": partner_id, "floor": floors[partner_id]}],
                    )
            return floors

        return self._retrying(run)

    def newest_received_at(self) -> dt.datetime | None:
        with self._engine.connect() as conn:
            found = [
                conn.execute(select(func.max(SIGNALS.c.received_at))).scalar(),
                conn.execute(select(func.max(FACTS.c.received_at))).scalar(),
            ]
        instants = [rows.utc(t) for t in found if t is not None]
        return max(instants) if instants else None

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

    def household_cases(self, households: Collection[bytes]) -> dict[bytes, HouseholdCase]:
        keys = list(set(households))
        latest: dict[bytes, Any] = {}
        outreach: dict[bytes, set[bytes]] = {}
        with self._engine.connect() as conn:
            for chunk in _chunks(keys):
                for r in conn.execute(_CASES_OF, {"keys": chunk}):
                    h = bytes(r.household)
                    if h not in latest or r.seq > latest[h].seq:
                        latest[h] = r
                for r in conn.execute(_OUTREACH_OF_MANY, {"keys": chunk}):
                    outreach.setdefault(bytes(r.household), set()).add(bytes(r.signal_id))
            members: dict[bytes, set[bytes]] = {bytes(r.id): set() for r in latest.values()}
            for chunk in _chunks(list(members)):
                for r in conn.execute(_SIGNALS_OF_CASES, {"keys": chunk}):
                    members[bytes(r.case_id)].add(bytes(r.signal_id))
        return {
            h: HouseholdCase(
                rows.case_from_row(latest[h]._mapping, frozenset(members[bytes(latest[h].id)]))
                if h in latest
                else None,
                frozenset(outreach.get(h, ())),
            )
            for h in latest.keys() | outreach.keys()
        }

    def population_facts_about(
        self, addresses: Collection[bytes], persons: Collection[bytes]
    ) -> list[ReceivedPopulationFact]:
        found: dict[bytes, ReceivedPopulationFact] = {}
        # Address and person pseudonyms come from different keys, so one object list serves
        # both residences (object: an address) and parenthoods (object: a child).
        objects = list(set(addresses) | set(persons))
        with self._engine.connect() as conn:
            for about, naming in _chunk_pairs(list(set(persons)), objects):
                for r in conn.execute(_FACTS_ABOUT_OR_NAMING, {"about": about, "naming": naming}):
                    fact = rows.population_fact(r._mapping)
                    found[fact.id] = fact
        return sorted(found.values(), key=lambda f: (f.received_at, f.id))

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
            locked = conn.execute(_LOCK_HOUSEHOLD, {"key": household}).first()
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
            appended = _append_notices(conn, write.notices, at)
            if write.escalations:
                subjects = case_subjects(state, write)
                for e in write.escalations:
                    row = rows.escalation_row(e, case_id_bytes(e.case_id), at)
                    conn.execute(insert(ESCALATIONS), [row])
                    _append_audit(conn, audit.escalation_notice_draft(e, subjects), at)
        return appended

    @staticmethod
    def _write_case(conn: Connection, household: bytes, case: Case, at: dt.datetime) -> None:
        if case.household != household:
            raise ValueError("decide returned the case of another household")
        cid = case_id_bytes(case.id)
        before = conn.execute(_CASE_BEFORE, {"cid": cid}).first()
        if before is None:
            seq = int(conn.execute(_LAST_CASE_SEQ).scalar() or 0) + 1
            conn.execute(insert(CASES), [rows.case_row(case, cid, seq, at, at)])
        else:
            values = rows.case_row(case, cid, int(before.seq), rows.utc(before.opened_at), at)
            del values["id"]
            conn.execute(update(CASES).where(CASES.c.id == cid).values(**values))
        conn.execute(_CLEAR_CASE_SIGNALS, {"cid": cid})
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

    # The operator interface and the audit log.

    def staff_cases(
        self, view: Callable[[Sequence[CaseRecord]], tuple[T, AuditDraft]], at: dt.datetime
    ) -> T:
        def run() -> T:
            with self._writer.begin() as conn:
                shown, draft = view(_case_records(conn, None))
                _append_audit(conn, draft, at)
            return shown

        return self._retrying(run)

    def staff_case(
        self, case_id: bytes, act: Callable[[CaseRecord], tuple[T, StaffWrite]], at: dt.datetime
    ) -> T:
        result, appended = self._retrying(lambda: self._staff_case(case_id, act, at))
        if appended:
            self._notify_changed()
        return result

    def _staff_case(
        self, case_id: bytes, act: Callable[[CaseRecord], tuple[T, StaffWrite]], at: dt.datetime
    ) -> tuple[T, bool]:
        with self._writer.begin() as conn:
            found = conn.execute(select(CASES.c.household).where(CASES.c.id == case_id)).first()
            if found is None:
                raise NotFound("no such case")
            household = bytes(found.household)
            # The household's lock, as judge_household takes it: no judgement interleaves.
            locked = conn.execute(
                select(HOUSEHOLDS.c.key).where(HOUSEHOLDS.c.key == household).with_for_update()
            ).first()
            if locked is None:
                conn.execute(insert(HOUSEHOLDS), [{"key": household}])
            (record,) = _case_records(conn, [case_id])
            result, write = act(record)
            if write.case.case is not None:
                self._write_case(conn, household, write.case.case, at)
            appended = bool(_append_notices(conn, write.case.notices, at))
            for n in write.escalations:
                conn.execute(insert(ESCALATIONS), [rows.escalation_row(n, case_id, at)])
            _append_audit(conn, write.audit, at)
        return result, appended

    def escalation_records(self, case_ref: str | None = None) -> list[EscalationRecord]:
        query = select(ESCALATIONS).order_by(ESCALATIONS.c.seq)
        if case_ref is not None:
            query = query.where(ESCALATIONS.c.case_id == case_id_bytes(case_ref))
        with self._engine.connect() as conn:
            return [
                EscalationRecord(
                    seq=int(r.seq),
                    at=rows.utc(r.created_at),
                    case_ref=r.case_ref,
                    role=r.role,
                    kind=r.kind,
                    level=int(r.level),
                    rule=r.rule,
                    deadline=r.deadline,
                )
                for r in conn.execute(query)
            ]

    def append_audit(self, draft: AuditDraft, at: dt.datetime) -> AuditEntry:
        def run() -> AuditEntry:
            with self._writer.begin() as conn:
                return _append_audit(conn, draft, at)

        return self._retrying(run)

    def audit_entries(self) -> list[AuditEntry]:
        with self._engine.connect() as conn:
            subjects: dict[int, set[Subject]] = {}
            for r in conn.execute(select(AUDIT_SUBJECTS)):
                subjects.setdefault(int(r.seq), set()).add(rows.audit_subject(r._mapping))
            return [
                rows.audit_entry(r._mapping, frozenset(subjects.get(int(r.seq), ())))
                for r in conn.execute(select(AUDIT).order_by(AUDIT.c.seq))
            ]

    def who_looked(self, subjects: Collection[bytes]) -> list[Look]:
        found: dict[int, Look] = {}
        columns = (AUDIT.c.seq, AUDIT.c.at, AUDIT.c.actor_role, AUDIT.c.action)
        wanted = set(subjects)
        with self._engine.connect() as conn:
            for chunk in _chunks(list(wanted)):
                query = select(AUDIT_ALIASES.c.earlier).where(AUDIT_ALIASES.c.current.in_(chunk))
                wanted.update(bytes(r[0]) for r in conn.execute(query))
            for chunk in _chunks(list(wanted)):
                query = (
                    select(*columns)
                    .join(AUDIT_SUBJECTS, AUDIT_SUBJECTS.c.seq == AUDIT.c.seq)
                    .where(AUDIT_SUBJECTS.c.pseudonym.in_(chunk))
                )
                for r in conn.execute(query):
                    found[int(r.seq)] = Look(
                        int(r.seq),
                        rows.utc(r.at),
                        audit.ActorRole(r.actor_role),
                        audit.AuditAction(r.action),
                    )
        return [found[seq] for seq in sorted(found)]

    # The dashboard's figures: counted and picked in the database, one read each.

    def signal_tallies(self, since: dt.datetime) -> list[SignalTally]:
        # date() of a UTC instant: SQLite stores UTC text, PostgreSQL sessions run in UTC.
        day = func.date(SIGNALS.c.received_at)
        query = (
            select(day, SIGNALS.c.life_domain, SIGNALS.c.partner_type, func.count())
            .where(SIGNALS.c.received_at >= since.astimezone(dt.UTC))
            .group_by(day, SIGNALS.c.life_domain, SIGNALS.c.partner_type)
        )
        with self._engine.connect() as conn:
            found = [
                SignalTally(_day(d), LifeDomain(domain), PartnerType(ptype), int(n))
                for d, domain, ptype, n in conn.execute(query)
            ]
        return sorted(found, key=lambda t: (t.day, t.life_domain, t.partner_type))

    def case_facts(self, since: dt.datetime) -> list[CaseFacts]:
        since = since.astimezone(dt.UTC)
        escalated_since = (
            select(ESCALATIONS.c.case_id)
            .where(
                ESCALATIONS.c.kind == NoticeKind.ESCALATED.value,
                ESCALATIONS.c.created_at >= since,
            )
            .scalar_subquery()
        )
        window = or_(
            CASES.c.status != CaseStatus.CLOSED.value,
            CASES.c.opened_at >= since,
            CASES.c.closed_on >= since.date(),
            CASES.c.id.in_(escalated_since),
        )
        chosen_ids = select(CASES.c.id).where(window).scalar_subquery()
        chosen_refs = select(CASES.c.ref).where(window).scalar_subquery()
        cases = select(
            CASES.c.id,
            CASES.c.ref,
            CASES.c.status,
            CASES.c.opened_at,
            CASES.c.deadline,
            CASES.c.escalation,
            CASES.c.escalation_deadline,
            CASES.c.outcome,
            CASES.c.closed_on,
        ).where(window)
        kinds = (
            select(
                CASE_SIGNALS.c.case_id,
                SIGNALS.c.partner_type,
                SIGNALS.c.life_domain,
                SIGNALS.c.legal_basis,
            )
            .join(SIGNALS, SIGNALS.c.id == CASE_SIGNALS.c.signal_id)
            .where(CASE_SIGNALS.c.case_id.in_(chosen_ids), SIGNALS.c.consent_lost_at.is_(None))
            .distinct()
        )
        briefed = (
            select(NOTIFICATIONS.c.ref_id, func.min(NOTIFICATIONS.c.created_at))
            .where(
                NOTIFICATIONS.c.kind == NotificationKind.REGIEHOUDER_BRIEFING.value,
                NOTIFICATIONS.c.ref_id.in_(chosen_ids),
            )
            .group_by(NOTIFICATIONS.c.ref_id)
        )
        acknowledged = (
            select(AUDIT.c.case_ref, func.min(AUDIT.c.at))
            .where(
                AUDIT.c.action == audit.AuditAction.ACKNOWLEDGE.value,
                AUDIT.c.case_ref.in_(chosen_refs),
            )
            .group_by(AUDIT.c.case_ref)
        )
        escalations = (
            select(ESCALATIONS.c.case_id, ESCALATIONS.c.created_at, ESCALATIONS.c.level)
            .where(
                ESCALATIONS.c.kind == NoticeKind.ESCALATED.value,
                ESCALATIONS.c.created_at >= since,
            )
            .order_by(ESCALATIONS.c.seq)
        )
        with self._engine.connect() as conn:
            found = list(conn.execute(cases))
            signal_kinds: dict[bytes, set[SignalKind]] = {}
            for cid, ptype, domain, basis in conn.execute(kinds):
                signal_kinds.setdefault(bytes(cid), set()).add(
                    SignalKind(PartnerType(ptype), LifeDomain(domain), LegalBasis(basis))
                )
            first_briefed = {bytes(cid): rows.utc(at) for cid, at in conn.execute(briefed)}
            first_ack = {str(ref): rows.utc(at) for ref, at in conn.execute(acknowledged)}
            escalated: dict[bytes, list[tuple[dt.datetime, EscalationLevel]]] = {}
            for cid, at, level in conn.execute(escalations):
                escalated.setdefault(bytes(cid), []).append((rows.utc(at), EscalationLevel(level)))
        out = []
        for r in found:
            cid = bytes(r.id)
            out.append(
                CaseFacts(
                    ref=r.ref,
                    status=CaseStatus(r.status),
                    opened_at=rows.utc(r.opened_at),
                    deadline=r.deadline,
                    escalation=EscalationLevel(r.escalation),
                    escalation_deadline=r.escalation_deadline,
                    outcome=CaseOutcome(r.outcome) if r.outcome is not None else None,
                    closed_on=r.closed_on,
                    signal_kinds=frozenset(signal_kinds.get(cid, ())),
                    regiehouder_at=first_briefed.get(cid),
                    acknowledged_at=first_ack.get(r.ref),
                    escalations=tuple(escalated.get(cid, ())),
                )
            )
        return sorted(out, key=lambda f: f.ref)

    def _retrying(self, attempt: Callable[[], T]) -> T:
        """Run one transaction, again on a write conflict, and while the database is away
        (restarting, a lost connection, a deadlock) for a few seconds before giving up."""

        def on_conflict_again() -> T:
            for remaining in reversed(range(_ATTEMPTS)):
                try:
                    return attempt()
                except IntegrityError:
                    # Another process committed the same id or cursor between our read and
                    # write; the next attempt reads it and answers accordingly.
                    if remaining == 0:
                        raise
            raise AssertionError("unreachable")

        return db.retry_transient(on_conflict_again)


def _rekey_resident_records(
    conn: Connection, from_version: int, to_version: int, rekey: Rekey
) -> int:
    """Residents' records name a person by pseudonym and key version. Objections and
    preferences move, or a preference would be lost. A narrowing is copied under the new key
    and kept under the old: it must void receipts the registry signed before the rotation
    (old key) and after it (new key). Returns how many records moved or were copied."""
    changed = 0
    for table, row_id, column in (
        (OBJECTIONS, OBJECTIONS.c.id, OBJECTIONS.c.subject),
        (PREFERENCES, PREFERENCES.c.person, PREFERENCES.c.person),
    ):
        found = conn.execute(select(row_id, column).where(table.c.key_version == from_version))
        updates = [{"row_key": r[0], "new_key": rekey("PERSON", bytes(r[1]))} for r in found.all()]
        if updates:
            conn.execute(
                update(table)
                .where(row_id == bindparam("row_key"))
                .values({column.name: bindparam("new_key"), "key_version": to_version}),
                updates,
            )
        changed += len(updates)
    cell = ("at", "partner_type", "partner_id", "life_domain", "purpose")
    copied = {
        (bytes(r.subject), *(r._mapping[c] for c in cell))
        for r in conn.execute(select(NARROWINGS).where(NARROWINGS.c.key_version == to_version))
    }
    copies = []
    for r in conn.execute(select(NARROWINGS).where(NARROWINGS.c.key_version == from_version)):
        copy = {c: r._mapping[c] for c in cell}
        copy |= {"subject": rekey("PERSON", bytes(r.subject)), "key_version": to_version}
        if (copy["subject"], *(copy[c] for c in cell)) not in copied:  # a re-key run again
            copies.append(copy)
    if copies:
        conn.execute(insert(NARROWINGS), copies)
    return changed + len(copies)


def _move_household_keys(conn: Connection, moved: dict[bytes, bytes]) -> None:
    """After a re-key: household keys (an address's pseudonym, or a person's at an institution)
    and queued places follow their pseudonyms. Household lock rows are made again on demand."""
    if not moved:
        return
    for table, row_id, column in (
        (CASES, CASES.c.id, CASES.c.household),
        (OUTREACH, OUTREACH.c.signal_id, OUTREACH.c.household),
    ):
        updates = [
            {"row_key": bytes(r[0]), "new_key": moved[bytes(r[1])]}
            for r in conn.execute(select(row_id, column))
            if bytes(r[1]) in moved
        ]
        if updates:
            conn.execute(
                update(table)
                .where(row_id == bindparam("row_key"))
                .values({column.name: bindparam("new_key")}),
                updates,
            )
    # The audit log keeps what it recorded; aliases lead "who looked" there from the new key.
    # (A later re-key of the same version, for late deliveries, may meet the same pairs again.)
    known = {
        (bytes(r.current), bytes(r.earlier))
        for r in conn.execute(select(AUDIT_ALIASES.c.current, AUDIT_ALIASES.c.earlier))
    }
    recorded = {bytes(p) for (p,) in conn.execute(select(AUDIT_SUBJECTS.c.pseudonym).distinct())}
    wanted = {(moved.get(c, c), e) for c, e in known}
    wanted |= {(moved[p], p) for p in recorded if p in moved}
    if wanted != known:
        conn.execute(delete(AUDIT_ALIASES))
        conn.execute(insert(AUDIT_ALIASES), [{"current": c, "earlier": e} for c, e in wanted])
    stale = [bytes(k) for (k,) in conn.execute(select(HOUSEHOLDS.c.key)) if bytes(k) in moved]
    for chunk in _chunks(stale):
        conn.execute(delete(HOUSEHOLDS).where(HOUSEHOLDS.c.key.in_(chunk)))
    queued = [
        {
            "row_key": r.seq,
            "new_address": moved.get(bytes(r.address), bytes(r.address)),
            "new_person": moved.get(bytes(r.person), bytes(r.person))
            if r.person is not None
            else None,
        }
        for r in conn.execute(
            select(JUDGE_QUEUE.c.seq, JUDGE_QUEUE.c.address, JUDGE_QUEUE.c.person)
        )
        if bytes(r.address) in moved or (r.person is not None and bytes(r.person) in moved)
    ]
    if queued:
        conn.execute(
            update(JUDGE_QUEUE)
            .where(JUDGE_QUEUE.c.seq == bindparam("row_key"))
            .values(address=bindparam("new_address"), person=bindparam("new_person")),
            queued,
        )


def _household_signals(
    conn: Connection, addresses: Collection[bytes], persons: Collection[bytes]
) -> list[StoredSignal]:
    """The signals at any of the addresses or of any of the people, oldest first."""
    found: dict[bytes, StoredSignal] = {}
    # One query per pair of chunks: a signal at an address of one of the people is read once.
    for at, of in _chunk_pairs(list(addresses), list(persons)):
        for r in conn.execute(_SIGNALS_AT_OR_OF, {"addresses": at, "persons": of}):
            signal_id = bytes(r.id)
            if signal_id not in found:
                found[signal_id] = rows.stored_signal(r._mapping)
    return sorted(found.values(), key=lambda s: (s.received.received_at, s.received.id))


def _state(
    conn: Connection, household: bytes, addresses: Collection[bytes], persons: Collection[bytes]
) -> HouseholdState:
    latest = conn.execute(_LATEST_CASE, {"household": household}).first()
    case = (
        rows.case_from_row(latest._mapping, _case_signals(conn, bytes(latest.id)))
        if latest is not None
        else None
    )
    outreach = conn.execute(_OUTREACH_OF, {"household": household})
    return HouseholdState(
        case=case,
        signals=tuple(_household_signals(conn, addresses, persons)),
        on_outreach=frozenset(bytes(r[0]) for r in outreach),
    )


def _case_records(conn: Connection, case_ids: Sequence[bytes] | None) -> list[CaseRecord]:
    """These cases (None: all of them) with their stored signals and newest escalation rule."""
    query = select(CASES)
    if case_ids is not None:
        query = query.where(CASES.c.id.in_(list(case_ids)))
    found = list(conn.execute(query))
    ids = [bytes(r.id) for r in found]
    members: dict[bytes, set[bytes]] = {i: set() for i in ids}
    rules: dict[bytes, str] = {}
    for chunk in _chunks(ids):
        for r in conn.execute(select(CASE_SIGNALS).where(CASE_SIGNALS.c.case_id.in_(chunk))):
            members[bytes(r.case_id)].add(bytes(r.signal_id))
        escalated = (
            select(ESCALATIONS.c.case_id, ESCALATIONS.c.rule)
            .where(
                ESCALATIONS.c.case_id.in_(chunk),
                ESCALATIONS.c.kind == NoticeKind.ESCALATED.value,
            )
            .order_by(ESCALATIONS.c.seq)
        )
        for r in conn.execute(escalated):
            rules[bytes(r.case_id)] = r.rule
    signals: dict[bytes, StoredSignal] = {}
    for chunk in _chunks(sorted({s for m in members.values() for s in m})):
        for r in conn.execute(select(SIGNALS).where(SIGNALS.c.id.in_(chunk))):
            stored = rows.stored_signal(r._mapping)
            signals[stored.received.id] = stored
    out = []
    for r in found:
        cid = bytes(r.id)
        mine = sorted(
            (signals[i] for i in members[cid] if i in signals),
            key=lambda s: (s.received.received_at, s.received.id),
        )
        case = rows.case_from_row(r._mapping, frozenset(members[cid]))
        out.append(CaseRecord(case, tuple(mine), rules.get(cid)))
    return out


def _append_notices(
    conn: Connection, notices: Sequence[NewNotice], at: dt.datetime
) -> list[Notification]:
    """Append feed notices (a judgement's or a staff action's), each at its partner's next
    cursor; returns them as appended."""
    appended = []
    for notice in notices:
        n = Notification(
            partner_id=notice.partner_id,
            cursor=_next_cursor(conn, notice.partner_id),
            created_at=at,
            kind=notice.kind,
            ref_id=notice.notice.case_id or b"",
            case=notice.notice,
        )
        conn.execute(insert(NOTIFICATIONS), [rows.notification_row(n)])
        appended.append(n)
    return appended


def _append_audit(conn: Connection, draft: AuditDraft, at: dt.datetime) -> AuditEntry:
    """Seal the draft onto the newest entry and insert it with its subjects. Two writers that
    read the same newest entry collide on its seq (the primary key); the retry reads again."""
    last = conn.execute(select(AUDIT).order_by(AUDIT.c.seq.desc()).limit(1)).first()
    previous = None
    if last is not None:
        # Only seq and hash matter for sealing the next entry.
        previous = rows.audit_entry(last._mapping, frozenset())
    entry = audit.seal(draft, at, previous)
    conn.execute(insert(AUDIT), [rows.audit_row(entry)])
    subject_rows = rows.audit_subject_rows(entry)
    if subject_rows:
        conn.execute(insert(AUDIT_SUBJECTS), subject_rows)
    return entry


def _case_signals(conn: Connection, case_id: bytes) -> frozenset[bytes]:
    return frozenset(bytes(r[0]) for r in conn.execute(_CASE_SIGNALS_OF, {"case_id": case_id}))


# The judge's statements, built once: SQLAlchemy then reuses their compiled form instead of
# building and hashing a new statement tree per household.
# The judge's batch reads: compiled once; each call binds a list of keys.
_FACTS_ABOUT_OR_NAMING = select(FACTS).where(
    or_(
        FACTS.c.subject_pseudonym.in_(bindparam("about", expanding=True)),
        FACTS.c.object_pseudonym.in_(bindparam("naming", expanding=True)),
    )
)
_CASES_OF = select(CASES).where(CASES.c.household.in_(bindparam("keys", expanding=True)))
_OUTREACH_OF_MANY = select(OUTREACH.c.household, OUTREACH.c.signal_id).where(
    OUTREACH.c.household.in_(bindparam("keys", expanding=True))
)
_SIGNALS_OF_CASES = select(CASE_SIGNALS).where(
    CASE_SIGNALS.c.case_id.in_(bindparam("keys", expanding=True))
)
_SIGNALS_AT_OR_OF = select(SIGNALS).where(
    or_(
        SIGNALS.c.address_pseudonym.in_(bindparam("addresses", expanding=True)),
        SIGNALS.c.person_pseudonym.in_(bindparam("persons", expanding=True)),
    )
)
_LATEST_CASE = (
    select(CASES)
    .where(CASES.c.household == bindparam("household"))
    .order_by(CASES.c.seq.desc())
    .limit(1)
)
_OUTREACH_OF = select(OUTREACH.c.signal_id).where(OUTREACH.c.household == bindparam("household"))
_CASE_SIGNALS_OF = select(CASE_SIGNALS.c.signal_id).where(
    CASE_SIGNALS.c.case_id == bindparam("case_id")
)
_LOCK_HOUSEHOLD = (
    select(HOUSEHOLDS.c.key).where(HOUSEHOLDS.c.key == bindparam("key")).with_for_update()
)
_LAST_CURSOR = select(func.max(NOTIFICATIONS.c.cursor)).where(
    NOTIFICATIONS.c.partner_id == bindparam("partner_id")
)
_FEED_FLOOR = select(FEED_FLOORS.c.floor).where(FEED_FLOORS.c.partner_id == bindparam("partner_id"))
# Both in one statement: it runs for every notice appended.
_LAST_CURSOR_AND_FLOOR = select(_LAST_CURSOR.scalar_subquery(), _FEED_FLOOR.scalar_subquery())


def _next_cursor(conn: Connection, partner_id: str) -> int:
    """A partner's next feed cursor: above its last notice and above any floor a restore set."""
    last, floor = conn.execute(_LAST_CURSOR_AND_FLOOR, {"partner_id": partner_id}).one()
    return max(int(last or 0), int(floor or 0)) + 1


_CASE_BEFORE = select(CASES.c.seq, CASES.c.opened_at).where(CASES.c.id == bindparam("cid"))
_LAST_CASE_SEQ = select(func.max(CASES.c.seq))
_CLEAR_CASE_SIGNALS = delete(CASE_SIGNALS).where(CASE_SIGNALS.c.case_id == bindparam("cid"))

# The intake's inserts: compiled once (hub.store.bulk), thousands of rows a second.
_SEEN_INSERT = BulkInsert(SEEN)
_SIGNALS_INSERT = BulkInsert(SIGNALS)
_FACTS_INSERT = BulkInsert(FACTS)
_QUEUE_INSERT = BulkInsert(JUDGE_QUEUE)


def _queue(conn: Connection, touched: Sequence[Touched]) -> None:
    _QUEUE_INSERT.execute(conn, [{"address": t.address, "person": t.person} for t in touched])


def _day(value: Any) -> dt.date:
    """date() gives a date on PostgreSQL and ISO text on SQLite."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _blob_or_none(value: Any) -> bytes | None:
    return bytes(value) if value is not None else None


def _chunks(ids: list[T]) -> Iterator[list[T]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield ids[start : start + _IN_CHUNK]


def _chunk_pairs(first: list[T], second: list[T]) -> Iterator[tuple[list[T], list[T]]]:
    """Both lists' chunks side by side, for one `a IN (...) OR b IN (...)` query per pair; the
    shorter list runs out into empty chunks."""
    none: list[T] = []
    yield from zip_longest(_chunks(first), _chunks(second), fillvalue=none)


def _delete_judged(conn: Connection, seqs: Collection[int]) -> None:
    """Remove judged queue entries; unknown numbers are ignored."""
    for chunk in _chunks(sorted(seqs)):
        conn.execute(delete(JUDGE_QUEUE).where(JUDGE_QUEUE.c.seq.in_(chunk)))
