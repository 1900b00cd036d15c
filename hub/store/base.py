"""The hub store's contract: every backend keeps these promises (tests/hub/test_store_contract.py).

Exactly once rests on two of them: add_batch stores each never-seen id in one transaction and
reports the rest as ALREADY_EXISTS, and an id once seen is never forgotten, not even when the
signal it carried is erased.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from hub.domain import (
    CaseNotice,
    Notification,
    NotificationKind,
    Received,
    ReceivedPopulationFact,
    SignalCount,
    StoredSignal,
)
from hub.judgement.model import Case
from seinhuis.vocabulary import WithdrawReason

#: Re-keys one pseudonym of the given identifier kind ("PERSON" or "ADDRESS").
Rekey = Callable[[str, bytes], bytes]


class Outcome(StrEnum):
    """What add_batch did with one item."""

    STORED = "STORED"
    ALREADY_EXISTS = "ALREADY_EXISTS"


def case_id_bytes(case_ref: str) -> bytes:
    """The 16-byte case id the wire and the tables use for a judgement case reference."""
    return hashlib.sha256(b"seinhuis/case-id/v1\x00" + case_ref.encode()).digest()[:16]


@dataclass(frozen=True)
class HouseholdState:
    """What judge_household reads for one household, inside its lock."""

    case: Case | None  # the household's latest case, open or closed
    signals: tuple[StoredSignal, ...] = field(repr=False)  # stored, not erased
    on_outreach: frozenset[bytes] = frozenset()


@dataclass(frozen=True)
class NewNotice:
    """A case notice to append to one partner's feed."""

    partner_id: str
    kind: NotificationKind
    notice: CaseNotice


@dataclass(frozen=True)
class CaseWrite:
    """What judge_household writes back: the case (inserted or replaced by its id, its signal
    set replaced), outreach changes, and feed entries."""

    case: Case | None = None
    outreach_add: tuple[bytes, ...] = ()
    outreach_rule: str = ""
    outreach_remove: tuple[bytes, ...] = ()
    notices: tuple[NewNotice, ...] = ()


@dataclass(frozen=True)
class CaseSummary:
    """One case as an operator's listing shows it: no household, no signals, no identities."""

    id: bytes
    ref: str
    status: str
    regiehouder: str | None
    deadline: dt.date | None
    escalation: int
    opened_at: dt.datetime
    updated_at: dt.datetime
    outcome: str | None
    signals: int


class HubStore(ABC):
    """Signals, population facts, the ids ever seen, and each partner's feed."""

    def __init__(self) -> None:
        # Feed subscribers wait on this; writers bump the generation after each commit.
        self._changed = threading.Condition()
        self._generation = 0

    @abstractmethod
    def add_batch(self, items: Sequence[Received]) -> list[Outcome]:
        """Store every item whose id was never seen, all in one transaction, durably.

        Returns one Outcome per item, in order: STORED, or ALREADY_EXISTS when the id was
        seen before (in an earlier batch, or earlier in this one; the first one wins).
        When this returns, the stored items survive a crash of the process. On failure
        nothing of the batch is stored and the exception propagates.
        """

    @abstractmethod
    def withdraw(
        self, partner_id: str, signal_id: bytes, reason: WithdrawReason, at: dt.datetime
    ) -> Notification:
        """Withdraw one of the partner's own signals and append a SignalWithdrawn to its feed.

        UNJUSTIFIED erases the signal (its id stays seen: a tombstone without content);
        RESOLVED keeps it, marked withdrawn. A resolved signal may still be erased as
        unjustified. Raises NotFound when the partner has no such signal that is not
        withdrawn already, whether the id is unknown, erased, or another partner's.
        """

    @abstractmethod
    def rekey(self, from_version: int, to_version: int, rekey: Rekey) -> int:
        """Re-key every pseudonym stored under from_version to to_version, in one transaction.

        `rekey(kind, pseudonym)` gives the new pseudonym ("PERSON" or "ADDRESS" kind). Signals
        and population facts both move; a parenthood's second pseudonym is a person's.
        Returns how many rows changed. On failure nothing changes.
        """

    @abstractmethod
    def get_signal(self, signal_id: bytes) -> StoredSignal | None:
        """The stored signal with this id, withdrawn or not; None when unknown or erased."""

    @abstractmethod
    def list_signals(self, *, limit: int | None = None) -> list[StoredSignal]:
        """Stored signals in order of arrival (then id), at most `limit` of them."""

    @abstractmethod
    def count_signals(self) -> list[SignalCount]:
        """Stored signals counted per partner and signal type, sorted by both."""

    @abstractmethod
    def list_population_facts(self) -> list[ReceivedPopulationFact]:
        """Stored population facts in order of arrival (then id)."""

    @abstractmethod
    def is_seen(self, message_id: bytes) -> bool:
        """Whether a message with this id was ever stored (erased ones included)."""

    @abstractmethod
    def notifications_after(
        self, partner_id: str, after_cursor: int, *, limit: int = 500
    ) -> list[Notification]:
        """The partner's notifications with a cursor above `after_cursor`, oldest first."""

    @abstractmethod
    def household_signals(
        self, addresses: Collection[bytes], persons: Collection[bytes]
    ) -> list[StoredSignal]:
        """Stored signals (withdrawn or not; erased ones are gone) whose address pseudonym is
        one of `addresses` or whose person pseudonym is one of `persons`, in arrival order.

        Served from indexes on both pseudonyms: it never scans all signals.
        """

    @abstractmethod
    def household_state(
        self, household: bytes, addresses: Collection[bytes], persons: Collection[bytes]
    ) -> HouseholdState:
        """What judge_household would read, without taking the lock: a snapshot to decide
        cheaply whether anything needs writing at all."""

    @abstractmethod
    def judge_household(
        self,
        household: bytes,
        addresses: Collection[bytes],
        persons: Collection[bytes],
        decide: Callable[[HouseholdState], CaseWrite],
        at: dt.datetime,
    ) -> list[Notification]:
        """Read, decide and write one household in ONE transaction under its lock.

        Takes the household's lock (a row per household key; SQLite's BEGIN IMMEDIATE, or
        SELECT ... FOR UPDATE where the backend has row locks), reads its latest case, the
        household_signals of `addresses`/`persons` and its outreach ids, calls `decide` (pure,
        it may run again on a retry), and writes the result: the case by its id, its signal
        set, the outreach list, and each notice appended to its partner's feed at `at`.
        Two calls for one household never interleave, so concurrent arrivals give one case.
        Returns the appended notifications. On failure nothing is written.
        """

    @abstractmethod
    def get_case(self, case_id: bytes) -> Case | None:
        """The case with this 16-byte id (case_id_bytes of its reference), or None."""

    @abstractmethod
    def case_signal_ids(self, case_id: bytes) -> frozenset[bytes]:
        """The signal ids the case currently holds (empty for an unknown case)."""

    @abstractmethod
    def open_cases_by_regiehouder(self) -> dict[str, int]:
        """How many cases that are not closed each regiehouder holds (its current load)."""

    @abstractmethod
    def list_cases(self) -> list[CaseSummary]:
        """Every case, not closed first, then by deadline (none last), then by id."""

    @abstractmethod
    def open_case_households(self, due_by: dt.date) -> list[bytes]:
        """Household keys of the cases that are not closed with a deadline (or escalation
        deadline) on or before `due_by`: the candidates for the stalled-case check."""

    def close(self) -> None:
        """Release connections; wake every feed waiter so it can notice a shutdown."""
        self.wake()

    def wait_for_notifications(
        self, partner_id: str, after_cursor: int, timeout: float
    ) -> list[Notification]:
        """notifications_after, waiting up to `timeout` seconds for one to be appended.

        Returns early with an empty list on wake(). A writer in another process is noticed
        at the latest when the timeout ends, so callers loop.
        """
        with self._changed:
            generation = self._generation
        # Read the generation first: a commit between the query and the wait still wakes us.
        found = self.notifications_after(partner_id, after_cursor)
        if found:
            return found
        with self._changed:
            self._changed.wait_for(lambda: self._generation != generation, timeout)
        return self.notifications_after(partner_id, after_cursor)

    def wake(self) -> None:
        """Wake every waiter in wait_for_notifications."""
        with self._changed:
            self._generation += 1
            self._changed.notify_all()

    def _notify_changed(self) -> None:
        """Implementations call this after committing a notification."""
        self.wake()
