"""The in-memory hub store: the contract without durability, for tests and experiments."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from hub import audit
from hub.audit import AuditAction, AuditDraft, AuditEntry, Look
from hub.domain import (
    Death,
    MessageKind,
    Notification,
    NotificationKind,
    Parenthood,
    PopulationFact,
    Received,
    ReceivedPopulationFact,
    ReceivedSignal,
    Relocation,
    Residence,
    SignalCount,
    StoredSignal,
    Touched,
    kind_of,
    touched_by,
)
from hub.judgement.model import Case, CaseStatus, EscalationLevel
from hub.judgement.notifications import EscalationNotice, NoticeKind
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
    T,
    case_id_bytes,
    case_subjects,
)
from hub.store.resident_memory import MemoryResidentRecords
from hub.store.rows import rekey_event
from seinhuis.errors import NotFound
from seinhuis.vocabulary import LifeDomain, PartnerType, SignalType, WithdrawReason


@dataclass(frozen=True)
class _CaseEntry:
    case: Case
    seq: int
    opened_at: dt.datetime
    updated_at: dt.datetime


class MemoryHubStore(MemoryResidentRecords, HubStore):
    """Dictionaries behind one lock."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._seen: dict[bytes, tuple[str, MessageKind, dt.datetime]] = {}
        self._queue: dict[int, Touched] = {}
        self._claims: dict[int, tuple[str, dt.datetime]] = {}
        self._queue_seq = 0
        self._signals: dict[bytes, StoredSignal] = {}
        self._facts: dict[bytes, ReceivedPopulationFact] = {}
        self._feeds: dict[str, list[Notification]] = {}
        self._cases: dict[bytes, _CaseEntry] = {}
        self._outreach: dict[bytes, tuple[bytes, str]] = {}
        self._feed_floors: dict[str, int] = {}
        # (current pseudonym, as an audit entry recorded it before a rotation)
        self._aliases: set[tuple[bytes, bytes]] = set()
        self._audit: list[AuditEntry] = []
        self._escalations: list[EscalationRecord] = []

    def add_batch(self, items: Sequence[Received]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        with self._lock:
            for item in items:
                if item.id in self._seen:
                    outcomes.append(Outcome.ALREADY_EXISTS)
                    continue
                self._seen[item.id] = (item.partner_id, kind_of(item), item.received_at)
                if isinstance(item, ReceivedSignal):
                    self._signals[item.id] = StoredSignal(received=item)
                else:
                    self._facts[item.id] = item
                outcomes.append(Outcome.STORED)
                self._queue_locked(touched_by([item]))
        return outcomes

    def queue_judgement(self, touched: Sequence[Touched]) -> None:
        with self._lock:
            self._queue_locked(touched)

    def _queue_locked(self, touched: Sequence[Touched]) -> None:
        for t in touched:
            self._queue_seq += 1
            self._queue[self._queue_seq] = t

    def pending_judgements(self, limit: int) -> list[tuple[int, Touched]]:
        with self._lock:
            return sorted(self._queue.items())[:limit]

    def claim_judgements(
        self,
        claimer: str,
        limit: int,
        now: dt.datetime,
        lease: dt.timedelta,
        *,
        done: Collection[int] = (),
    ) -> list[tuple[int, Touched]]:
        with self._lock:
            self._drop_judged(done)
            free = [
                (seq, t)
                for seq, t in sorted(self._queue.items())
                if self._claims.get(seq, (None, now))[1] <= now
            ][:limit]
            for seq, _ in free:
                self._claims[seq] = (claimer, now + lease)
            return free

    def judgements_done(self, seqs: Collection[int]) -> None:
        with self._lock:
            self._drop_judged(seqs)

    def _drop_judged(self, seqs: Collection[int]) -> None:
        """Under self._lock: remove judged queue entries and their claims."""
        for seq in seqs:
            self._queue.pop(seq, None)
            self._claims.pop(seq, None)

    def rekey(self, from_version: int, to_version: int, rekey: Rekey) -> int:
        moved: dict[bytes, bytes] = {}

        def recorded(kind: str, pseudonym: bytes) -> bytes:
            moved[pseudonym] = rekey(kind, pseudonym)
            return moved[pseudonym]

        with self._lock:
            changed: dict[bytes, StoredSignal] = {}
            for sid, stored in self._signals.items():
                s = stored.received.signal
                if s.key_version != from_version:
                    continue
                signal = dataclasses.replace(
                    s,
                    key_version=to_version,
                    person_pseudonym=recorded("PERSON", s.person_pseudonym)
                    if s.person_pseudonym
                    else None,
                    address_pseudonym=recorded("ADDRESS", s.address_pseudonym),
                )
                received = dataclasses.replace(stored.received, signal=signal)
                changed[sid] = dataclasses.replace(stored, received=received)
            facts: dict[bytes, ReceivedPopulationFact] = {}
            for fid, item in self._facts.items():
                if item.fact.key_version != from_version:
                    continue
                fact = PopulationFact(to_version, rekey_event(item.fact.event, recorded))
                facts[fid] = dataclasses.replace(item, fact=fact)
            self._signals.update(changed)
            self._facts.update(facts)
            residents = self._rekey_resident_records(
                from_version, to_version, lambda p: recorded("PERSON", p)
            )
            self._move_household_keys(moved)
            return len(changed) + len(facts) + residents

    def _move_household_keys(self, moved: dict[bytes, bytes]) -> None:
        # The audit log keeps what it recorded; aliases lead "who looked" there from the new key.
        self._aliases = {(moved.get(c, c), e) for c, e in self._aliases}
        recorded = {s.pseudonym for e in self._audit for s in e.subjects}
        self._aliases |= {(moved[p], p) for p in recorded if p in moved}
        for cid, entry in self._cases.items():
            if entry.case.household in moved:
                case = dataclasses.replace(entry.case, household=moved[entry.case.household])
                self._cases[cid] = dataclasses.replace(entry, case=case)
        for sid, (household, rule) in self._outreach.items():
            if household in moved:
                self._outreach[sid] = (moved[household], rule)
        for seq, t in self._queue.items():
            person = moved.get(t.person, t.person) if t.person is not None else None
            self._queue[seq] = Touched(moved.get(t.address, t.address), person)

    def withdraw(
        self, partner_id: str, signal_id: bytes, reason: WithdrawReason, at: dt.datetime
    ) -> Notification:
        with self._lock:
            stored = self._signals.get(signal_id)
            if (
                stored is None
                or stored.received.partner_id != partner_id
                or (stored.withdraw_reason is not None and reason is WithdrawReason.RESOLVED)
            ):
                raise NotFound("no such signal of yours to withdraw")
            self._queue_locked(touched_by([stored.received]))
            if reason is WithdrawReason.UNJUSTIFIED:
                del self._signals[signal_id]
            else:
                self._signals[signal_id] = dataclasses.replace(
                    stored, withdrawn_at=at, withdraw_reason=reason
                )
            feed = self._feeds.setdefault(partner_id, [])
            notification = Notification(
                partner_id=partner_id,
                cursor=self._next_cursor(feed, partner_id),
                created_at=at,
                kind=NotificationKind.SIGNAL_WITHDRAWN,
                ref_id=signal_id,
                reason=reason,
            )
            feed.append(notification)
        self._notify_changed()
        return notification

    def get_signal(self, signal_id: bytes) -> StoredSignal | None:
        with self._lock:
            return self._signals.get(signal_id)

    def _next_cursor(self, feed: list[Notification], partner_id: str) -> int:
        return max(feed[-1].cursor if feed else 0, self._feed_floors.get(partner_id, 0)) + 1

    def _append_notices(self, notices: Sequence[NewNotice], at: dt.datetime) -> list[Notification]:
        """Append feed notices, each at its partner's next cursor (the caller holds the lock)."""
        appended = []
        for notice in notices:
            feed = self._feeds.setdefault(notice.partner_id, [])
            n = Notification(
                partner_id=notice.partner_id,
                cursor=self._next_cursor(feed, notice.partner_id),
                created_at=at,
                kind=notice.kind,
                ref_id=notice.notice.case_id or b"",
                case=notice.notice,
            )
            feed.append(n)
            appended.append(n)
        return appended

    def raise_feed_floors(self, partner_ids: Collection[str], gap: int) -> dict[str, int]:
        with self._lock:
            for partner_id in set(partner_ids):
                feed = self._feeds.get(partner_id, [])
                self._feed_floors[partner_id] = self._next_cursor(feed, partner_id) - 1 + gap
            return {p: self._feed_floors[p] for p in sorted(set(partner_ids))}

    def newest_received_at(self) -> dt.datetime | None:
        with self._lock:
            instants = [s.received.received_at for s in self._signals.values()]
            instants += [f.received_at for f in self._facts.values()]
        return max(instants) if instants else None

    def list_signals(self, *, limit: int | None = None) -> list[StoredSignal]:
        with self._lock:
            found = sorted(
                self._signals.values(), key=lambda s: (s.received.received_at, s.received.id)
            )
        return found[:limit] if limit is not None else found

    def count_signals(self) -> list[SignalCount]:
        counts: dict[tuple[str, SignalType], list[int]] = {}
        with self._lock:
            for s in self._signals.values():
                key = (s.received.partner_id, s.received.signal.signal_type)
                pair = counts.setdefault(key, [0, 0])
                pair[1 if s.withdraw_reason is not None else 0] += 1
        return [
            SignalCount(partner_id=p, signal_type=t, active=a, withdrawn=w)
            for (p, t), (a, w) in sorted(counts.items())
        ]

    def list_population_facts(self) -> list[ReceivedPopulationFact]:
        with self._lock:
            return sorted(self._facts.values(), key=lambda f: (f.received_at, f.id))

    def is_seen(self, message_id: bytes) -> bool:
        with self._lock:
            return message_id in self._seen

    def notifications_after(
        self, partner_id: str, after_cursor: int, *, limit: int = 500
    ) -> list[Notification]:
        with self._lock:
            feed = self._feeds.get(partner_id, [])
            return [n for n in feed if n.cursor > after_cursor][:limit]

    def household_signals(
        self, addresses: Collection[bytes], persons: Collection[bytes]
    ) -> list[StoredSignal]:
        addresses, persons = set(addresses), set(persons)
        with self._lock:
            found = [
                s
                for s in self._signals.values()
                if s.received.signal.address_pseudonym in addresses
                or (
                    s.received.signal.person_pseudonym is not None
                    and s.received.signal.person_pseudonym in persons
                )
            ]
        return sorted(found, key=lambda s: (s.received.received_at, s.received.id))

    def household_cases(self, households: Collection[bytes]) -> dict[bytes, HouseholdCase]:
        wanted = set(households)
        out: dict[bytes, HouseholdCase] = {}
        with self._lock:
            latest: dict[bytes, _CaseEntry] = {}
            for e in self._cases.values():
                h = e.case.household
                if h in wanted and (h not in latest or e.seq > latest[h].seq):
                    latest[h] = e
            outreach: dict[bytes, set[bytes]] = {}
            for sid, (h, _) in self._outreach.items():
                if h in wanted:
                    outreach.setdefault(h, set()).add(sid)
        for h in latest.keys() | outreach.keys():
            entry = latest.get(h)
            out[h] = HouseholdCase(
                entry.case if entry is not None else None, frozenset(outreach.get(h, ()))
            )
        return out

    def population_facts_about(
        self, addresses: Collection[bytes], persons: Collection[bytes]
    ) -> list[ReceivedPopulationFact]:
        addresses, persons = set(addresses), set(persons)
        with self._lock:
            found = [f for f in self._facts.values() if _about(f.fact.event, addresses, persons)]
        return sorted(found, key=lambda f: (f.received_at, f.id))

    def _state(self, household: bytes, addr: set[bytes], pers: set[bytes]) -> HouseholdState:
        signals = tuple(
            sorted(
                (
                    s
                    for s in self._signals.values()
                    if s.received.signal.address_pseudonym in addr
                    or s.received.signal.person_pseudonym in pers
                ),
                key=lambda s: (s.received.received_at, s.received.id),
            )
        )
        latest = self._latest_case(household)
        return HouseholdState(
            case=latest.case if latest is not None else None,
            signals=signals,
            on_outreach=frozenset(sid for sid, (h, _) in self._outreach.items() if h == household),
        )

    def judge_household(
        self,
        household: bytes,
        addresses: Collection[bytes],
        persons: Collection[bytes],
        decide: Callable[[HouseholdState], CaseWrite],
        at: dt.datetime,
    ) -> list[Notification]:
        with self._lock:
            # One lock for the whole store: every household is serialized, which is stronger.
            state = self._state(household, set(addresses), set(persons))
            write = decide(state)
            if write.case is not None:
                if write.case.household != household:
                    raise ValueError("decide returned the case of another household")
                cid = case_id_bytes(write.case.id)
                before = self._cases.get(cid)
                self._cases[cid] = _CaseEntry(
                    case=write.case,
                    seq=before.seq if before else len(self._cases) + 1,
                    opened_at=before.opened_at if before else at,
                    updated_at=at,
                )
            for sid in write.outreach_remove:
                self._outreach.pop(sid, None)
            for sid in write.outreach_add:
                self._outreach[sid] = (household, write.outreach_rule)
            appended = self._append_notices(write.notices, at)
            if write.escalations:
                subjects = case_subjects(state, write)
                for e in write.escalations:
                    self._keep_escalation(e, at)
                    self._append(audit.escalation_notice_draft(e, subjects), at)
        if appended:
            self._notify_changed()
        return appended

    # The operator interface and the audit log.

    def staff_cases(
        self, view: Callable[[Sequence[CaseRecord]], tuple[T, AuditDraft]], at: dt.datetime
    ) -> T:
        with self._lock:
            records = [self._record(e.case) for e in self._cases.values()]
            shown, draft = view(records)
            self._append(draft, at)
        return shown

    def staff_case(
        self, case_id: bytes, act: Callable[[CaseRecord], tuple[T, StaffWrite]], at: dt.datetime
    ) -> T:
        with self._lock:
            entry = self._cases.get(case_id)
            if entry is None:
                raise NotFound("no such case")
            result, write = act(self._record(entry.case))
            appended = self._write_staff(entry.case.household, write, at)
        if appended:
            self._notify_changed()
        return result

    def _write_staff(self, household: bytes, write: StaffWrite, at: dt.datetime) -> bool:
        """The case, its notices and escalation notices, and the audit entry (lock held)."""
        case = write.case.case
        if case is not None:
            if case.household != household:
                raise ValueError("act returned the case of another household")
            cid = case_id_bytes(case.id)
            before = self._cases[cid]
            self._cases[cid] = dataclasses.replace(before, case=case, updated_at=at)
        self._append_notices(write.case.notices, at)
        for n in write.escalations:
            self._keep_escalation(n, at)
        self._append(write.audit, at)
        return bool(write.case.notices)

    def _record(self, case: Case) -> CaseRecord:
        signals = tuple(
            sorted(
                (self._signals[i] for i in case.signal_ids if i in self._signals),
                key=lambda s: (s.received.received_at, s.received.id),
            )
        )
        rules = [
            r.rule
            for r in self._escalations
            if r.case_ref == case.id and r.kind == NoticeKind.ESCALATED.value
        ]
        return CaseRecord(case, signals, rules[-1] if rules else None)

    def _keep_escalation(self, n: EscalationNotice, at: dt.datetime) -> None:
        self._escalations.append(
            EscalationRecord(
                seq=len(self._escalations) + 1,
                at=at,
                case_ref=n.case_id,
                role=n.role.value,
                kind=n.kind.value,
                level=int(n.level),
                rule=n.rule,
                deadline=n.deadline,
            )
        )

    def _append(self, draft: AuditDraft, at: dt.datetime) -> AuditEntry:
        entry = audit.seal(draft, at, self._audit[-1] if self._audit else None)
        self._audit.append(entry)
        return entry

    def escalation_records(self, case_ref: str | None = None) -> list[EscalationRecord]:
        with self._lock:
            return [r for r in self._escalations if case_ref is None or r.case_ref == case_ref]

    def append_audit(self, draft: AuditDraft, at: dt.datetime) -> AuditEntry:
        with self._lock:
            return self._append(draft, at)

    def audit_entries(self) -> list[AuditEntry]:
        with self._lock:
            return list(self._audit)

    def who_looked(self, subjects: Collection[bytes]) -> list[Look]:
        wanted = set(subjects)
        with self._lock:
            wanted |= {earlier for current, earlier in self._aliases if current in wanted}
            return [
                Look(e.seq, e.at, e.actor_role, e.action)
                for e in self._audit
                if any(s.pseudonym in wanted for s in e.subjects)
            ]

    def signal_tallies(self, since: dt.datetime) -> list[SignalTally]:
        counts: dict[tuple[dt.date, str, str], int] = {}
        with self._lock:
            for stored in self._signals.values():
                r = stored.received
                if r.received_at < since:
                    continue
                key = (
                    r.received_at.astimezone(dt.UTC).date(),
                    r.signal.life_domain.value,
                    r.partner_type.value,
                )
                counts[key] = counts.get(key, 0) + 1
        return [
            SignalTally(day, LifeDomain(domain), PartnerType(ptype), n)
            for (day, domain, ptype), n in sorted(counts.items())
        ]

    def case_facts(self, since: dt.datetime) -> list[CaseFacts]:
        with self._lock:
            escalated: dict[str, list[tuple[dt.datetime, EscalationLevel]]] = {}
            for r in self._escalations:
                if r.kind == NoticeKind.ESCALATED.value and r.at >= since:
                    escalated.setdefault(r.case_ref, []).append((r.at, EscalationLevel(r.level)))
            chosen = [
                (cid, e)
                for cid, e in self._cases.items()
                if e.case.is_open
                or e.opened_at >= since
                or (e.case.closed_on is not None and e.case.closed_on >= since.date())
                or e.case.id in escalated
            ]
            briefed: dict[bytes, dt.datetime] = {}
            for feed in self._feeds.values():
                for n in feed:
                    if n.kind is NotificationKind.REGIEHOUDER_BRIEFING:
                        first = briefed.get(n.ref_id)
                        briefed[n.ref_id] = (
                            n.created_at if first is None else min(first, n.created_at)
                        )
            acknowledged: dict[str, dt.datetime] = {}
            for a in self._audit:
                if a.action is AuditAction.ACKNOWLEDGE and a.case_ref is not None:
                    acknowledged.setdefault(a.case_ref, a.at)
            out = []
            for cid, e in chosen:
                c = e.case
                kinds = frozenset(
                    SignalKind(
                        s.received.partner_type,
                        s.received.signal.life_domain,
                        s.received.signal.legal_basis,
                    )
                    for sid in c.signal_ids
                    if (s := self._signals.get(sid)) is not None and s.consent_lost_at is None
                )
                out.append(
                    CaseFacts(
                        ref=c.id,
                        status=c.status,
                        opened_at=e.opened_at,
                        deadline=c.deadline,
                        escalation=c.escalation,
                        escalation_deadline=c.escalation_deadline,
                        outcome=c.outcome,
                        closed_on=c.closed_on,
                        signal_kinds=kinds,
                        regiehouder_at=briefed.get(cid),
                        acknowledged_at=acknowledged.get(c.id),
                        escalations=tuple(escalated.get(c.id, ())),
                    )
                )
        return sorted(out, key=lambda f: f.ref)

    def _latest_case(self, household: bytes) -> _CaseEntry | None:
        mine = [e for e in self._cases.values() if e.case.household == household]
        return max(mine, key=lambda e: e.seq) if mine else None

    def get_case(self, case_id: bytes) -> Case | None:
        with self._lock:
            entry = self._cases.get(case_id)
        return entry.case if entry is not None else None

    def case_signal_ids(self, case_id: bytes) -> frozenset[bytes]:
        with self._lock:
            entry = self._cases.get(case_id)
        return entry.case.signal_ids if entry is not None else frozenset()

    def open_cases_by_regiehouder(self) -> dict[str, int]:
        load: dict[str, int] = {}
        with self._lock:
            for e in self._cases.values():
                if e.case.is_open and e.case.regiehouder is not None:
                    load[e.case.regiehouder] = load.get(e.case.regiehouder, 0) + 1
        return load

    def list_cases(self) -> list[CaseSummary]:
        with self._lock:
            entries = list(self._cases.items())
        out = [
            CaseSummary(
                id=cid,
                ref=e.case.id,
                status=e.case.status.value,
                regiehouder=e.case.regiehouder,
                deadline=e.case.deadline,
                escalation=int(e.case.escalation),
                opened_at=e.opened_at,
                updated_at=e.updated_at,
                outcome=e.case.outcome.value if e.case.outcome is not None else None,
                signals=len(e.case.signal_ids),
            )
            for cid, e in entries
        ]
        return sorted(out, key=case_order)

    def open_case_households(self, due_by: dt.date) -> list[bytes]:
        with self._lock:
            return sorted(
                {
                    e.case.household
                    for e in self._cases.values()
                    if e.case.is_open and _due(e.case, due_by)
                }
            )


def _about(event: object, addresses: set[bytes], persons: set[bytes]) -> bool:
    if isinstance(event, Residence):
        return event.person_pseudonym in persons or event.address_pseudonym in addresses
    if isinstance(event, Relocation):
        return event.person_pseudonym in persons or event.to_address_pseudonym in addresses
    if isinstance(event, Parenthood):
        return event.parent_pseudonym in persons or event.child_pseudonym in persons
    return isinstance(event, Death) and event.person_pseudonym in persons


def _due(case: Case, due_by: dt.date) -> bool:
    dates = [d for d in (case.deadline, case.escalation_deadline) if d is not None]
    return any(d <= due_by for d in dates)


def case_order(c: CaseSummary) -> tuple[bool, bool, dt.date, bytes]:
    """Not closed first, then by deadline (none last), then by id."""
    return (
        c.status == CaseStatus.CLOSED.value,
        c.deadline is None,
        c.deadline or dt.date.max,
        c.id,
    )
