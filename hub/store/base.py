"""The hub store's contract: every backend keeps these promises (tests/hub/test_store_contract.py).

Exactly once rests on two of them: add_batch stores each never-seen id in one transaction and
reports the rest as ALREADY_EXISTS, and an id once seen is never forgotten, not even when the
signal it carried is erased.
"""

from __future__ import annotations

import datetime as dt
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from enum import StrEnum

from hub.domain import Notification, Received, ReceivedPopulationFact, SignalCount, StoredSignal
from seinhuis.vocabulary import WithdrawReason

#: Re-keys one pseudonym of the given identifier kind ("PERSON" or "ADDRESS").
Rekey = Callable[[str, bytes], bytes]


class Outcome(StrEnum):
    """What add_batch did with one item."""

    STORED = "STORED"
    ALREADY_EXISTS = "ALREADY_EXISTS"


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
