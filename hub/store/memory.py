"""The in-memory hub store: the contract without durability, for tests and experiments."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Sequence

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
from hub.store.base import HubStore, Outcome, Rekey
from hub.store.rows import rekey_event
from seinhuis.errors import NotFound
from seinhuis.vocabulary import SignalType, WithdrawReason


class MemoryHubStore(HubStore):
    """Dictionaries behind one lock."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._seen: dict[bytes, tuple[str, MessageKind, dt.datetime]] = {}
        self._signals: dict[bytes, StoredSignal] = {}
        self._facts: dict[bytes, ReceivedPopulationFact] = {}
        self._feeds: dict[str, list[Notification]] = {}

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
