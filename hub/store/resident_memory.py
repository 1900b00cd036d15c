"""The in-memory side of hub.store.resident_base (MemoryHubStore mixes it in)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Callable, Collection

from consent.model import Pseudonym
from hub.consent_check import ConsentNarrowing
from hub.domain import StoredSignal
from hub.resident import Objection, ObjectionState, RegiePreference, StatuteNotice
from hub.store.resident_base import SWEEP_LIMIT, ResidentRecords
from seinhuis.errors import AlreadyExists
from seinhuis.vocabulary import LegalBasis


class MemoryResidentRecords(ResidentRecords):
    """Dictionaries; the signals themselves are MemoryHubStore's, under its lock."""

    # Provided by MemoryHubStore.
    _lock: threading.Lock
    _signals: dict[bytes, StoredSignal]

    def __init__(self) -> None:
        super().__init__()
        self._consent_cursor = 0
        self._narrowings: list[ConsentNarrowing] = []
        # signal id -> (cursor, received_at)
        self._notices: dict[bytes, tuple[int, dt.datetime]] = {}
        self._objections: dict[bytes, Objection] = {}
        self._preferences: dict[bytes, RegiePreference] = {}

    def _rekey_resident_records(
        self, from_version: int, to_version: int, person: Callable[[bytes], bytes]
    ) -> int:
        """Copy narrowings, move objections and preferences of from_version to to_version (the
        caller holds the lock); returns how many changed."""
        moved = 0
        # Narrowings are copied (see hub.store.sql): they void receipts under either key.
        for n in list(self._narrowings):
            if n.subject.key_version == from_version:
                subject = Pseudonym(person(n.subject.value), to_version)
                copy = dataclasses.replace(n, subject=subject)
                if copy not in self._narrowings:
                    self._narrowings.append(copy)
                    moved += 1
        for oid, o in self._objections.items():
            if o.key_version == from_version:
                self._objections[oid] = dataclasses.replace(
                    o, subject=person(o.subject), key_version=to_version
                )
                moved += 1
        for key, p in list(self._preferences.items()):
            if p.key_version == from_version:
                del self._preferences[key]
                new = dataclasses.replace(p, person=person(p.person), key_version=to_version)
                self._preferences[new.person] = new
                moved += 1
        return moved

    # --- consent --------------------------------------------------------------------------------

    def mark_consent_lost(self, signal_ids: Collection[bytes], at: dt.datetime) -> list[bytes]:
        marked = []
        with self._lock:
            for sid in dict.fromkeys(signal_ids):
                stored = self._signals.get(sid)
                if stored is None or stored.received.signal.legal_basis is not (
                    LegalBasis.TOESTEMMING
                ):
                    continue
                if stored.consent_lost_at is not None:
                    continue
                self._signals[sid] = dataclasses.replace(stored, consent_lost_at=at)
                marked.append(sid)
        return marked

    def consent_running_out(self, by: dt.datetime, *, limit: int = 500) -> list[StoredSignal]:
        with self._lock:
            found = [
                s
                for s in self._signals.values()
                if s.consent_lost_at is None
                and s.received.consent_until is not None
                and s.received.consent_until <= by
            ]
        found.sort(key=lambda s: (s.received.consent_until or by, s.received.id))
        return found[:limit]

    def consent_cursor(self) -> int:
        with self._lock:
            return self._consent_cursor

    def set_consent_cursor(self, cursor: int) -> None:
        with self._lock:
            self._consent_cursor = max(self._consent_cursor, cursor)

    def add_consent_narrowing(self, narrowing: ConsentNarrowing) -> None:
        with self._lock:
            self._narrowings.append(narrowing)

    def consent_narrowings_since(self, since: dt.datetime) -> list[ConsentNarrowing]:
        with self._lock:
            found = [n for n in self._narrowings if n.at >= since]
        return sorted(found, key=lambda n: n.at)

    # --- statute notices ------------------------------------------------------------------------

    def sweep_statute_notices(self, at: dt.datetime) -> int:
        with self._lock:
            new = sorted(
                (
                    s
                    for sid, s in self._signals.items()
                    if sid not in self._notices
                    and s.received.signal.legal_basis is not LegalBasis.TOESTEMMING
                ),
                key=lambda s: (s.received.received_at, s.received.id),
            )[:SWEEP_LIMIT]
            last = max((c for c, _ in self._notices.values()), default=0)
            for n, s in enumerate(new, start=1):
                self._notices[s.received.id] = (last + n, s.received.received_at)
        return len(new)

    def statute_notices_after(self, cursor: int, *, limit: int = 500) -> list[StatuteNotice]:
        with self._lock:
            found = [
                StatuteNotice(c, self._signals[sid])
                for sid, (c, _) in self._notices.items()
                if c > cursor and sid in self._signals
            ]
        return sorted(found, key=lambda n: n.cursor)[:limit]

    # --- objections -------------------------------------------------------------------------------

    def add_objection(self, objection: Objection) -> Objection:
        with self._lock:
            known = self._objections.get(objection.id)
            if known is not None:
                return known
            for o in self._objections.values():
                if (
                    o.state is ObjectionState.OPEN
                    and o.signal_id == objection.signal_id
                    and o.subject == objection.subject
                ):
                    raise AlreadyExists("an objection to this signal is already under review")
            self._objections[objection.id] = objection
            return objection

    def open_objections(self) -> list[Objection]:
        with self._lock:
            found = [o for o in self._objections.values() if o.state is ObjectionState.OPEN]
        return sorted(found, key=lambda o: (o.created_at, o.id))

    # --- preferences ------------------------------------------------------------------------------

    def set_preference(self, preference: RegiePreference) -> None:
        with self._lock:
            self._preferences[preference.person] = preference

    def clear_preference(self, person: bytes) -> bool:
        with self._lock:
            return self._preferences.pop(person, None) is not None

    def preferences_of(self, persons: Collection[bytes]) -> list[RegiePreference]:
        wanted = set(persons)
        with self._lock:
            found = [p for person, p in self._preferences.items() if person in wanted]
        return sorted(found, key=lambda p: p.stated_at)
