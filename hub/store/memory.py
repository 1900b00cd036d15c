"""The in-memory hub store: the contract without durability, for tests and experiments."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from hub.domain import (
    MessageKind,
    Notification,
    NotificationKind,
    PopulationFact,
    Received,
    ReceivedPopulationFact,
    ReceivedSignal,
    SignalCount,
    StoredSignal,
    kind_of,
)
from hub.judgement.model import Case, CaseStatus
from hub.store.base import (
    CaseSummary,
    CaseWrite,
    HouseholdState,
    HubStore,
    Outcome,
    Rekey,
    case_id_bytes,
)
from hub.store.rows import rekey_event
from seinhuis.errors import NotFound
from seinhuis.vocabulary import SignalType, WithdrawReason


@dataclass(frozen=True)
class _CaseEntry:
    case: Case
    seq: int
    opened_at: dt.datetime
    updated_at: dt.datetime


class MemoryHubStore(HubStore):
    """Dictionaries behind one lock."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._seen: dict[bytes, tuple[str, MessageKind, dt.datetime]] = {}
        self._signals: dict[bytes, StoredSignal] = {}
        self._facts: dict[bytes, ReceivedPopulationFact] = {}
        self._feeds: dict[str, list[Notification]] = {}
        self._cases: dict[bytes, _CaseEntry] = {}
        self._outreach: dict[bytes, tuple[bytes, str]] = {}

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
        return outcomes

    def rekey(self, from_version: int, to_version: int, rekey: Rekey) -> int:
        with self._lock:
            changed: dict[bytes, StoredSignal] = {}
            for sid, stored in self._signals.items():
                s = stored.received.signal
                if s.key_version != from_version:
                    continue
                signal = dataclasses.replace(
                    s,
                    key_version=to_version,
                    person_pseudonym=rekey("PERSON", s.person_pseudonym)
                    if s.person_pseudonym
                    else None,
                    address_pseudonym=rekey("ADDRESS", s.address_pseudonym),
                )
                received = dataclasses.replace(stored.received, signal=signal)
                changed[sid] = dataclasses.replace(stored, received=received)
            facts: dict[bytes, ReceivedPopulationFact] = {}
            for fid, item in self._facts.items():
                if item.fact.key_version != from_version:
                    continue
                fact = PopulationFact(to_version, rekey_event(item.fact.event, rekey))
                facts[fid] = dataclasses.replace(item, fact=fact)
            self._signals.update(changed)
            self._facts.update(facts)
            return len(changed) + len(facts)

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
            if reason is WithdrawReason.UNJUSTIFIED:
                del self._signals[signal_id]
            else:
                self._signals[signal_id] = dataclasses.replace(
                    stored, withdrawn_at=at, withdraw_reason=reason
                )
            feed = self._feeds.setdefault(partner_id, [])
            notification = Notification(
                partner_id=partner_id,
                cursor=feed[-1].cursor + 1 if feed else 1,
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

    def household_state(
        self, household: bytes, addresses: Collection[bytes], persons: Collection[bytes]
    ) -> HouseholdState:
        with self._lock:
            return self._state(household, set(addresses), set(persons))

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
            appended = []
            for notice in write.notices:
                feed = self._feeds.setdefault(notice.partner_id, [])
                n = Notification(
                    partner_id=notice.partner_id,
                    cursor=feed[-1].cursor + 1 if feed else 1,
                    created_at=at,
                    kind=notice.kind,
                    ref_id=notice.notice.case_id or b"",
                    case=notice.notice,
                )
                feed.append(n)
                appended.append(n)
        if appended:
            self._notify_changed()
        return appended

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
