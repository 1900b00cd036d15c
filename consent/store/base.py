"""The consent store's contract, which every backend keeps (tests: test_store_contract.py)."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from consent.model import Change, Entry, Pseudonym


@dataclass(frozen=True)
class Mutation:
    """What one write does: entries to insert or replace (by id) and changes to append."""

    entries: tuple[Entry, ...] = ()
    changes: tuple[Change, ...] = ()


#: Reads one person's entries inside the write and says what to store, or raises to store nothing.
Mutator = Callable[[Sequence[Entry]], Mutation]


class ConsentStore(ABC):
    """Entries (one person's consent matrix) and the append-only change log.

    Contract:
    - `apply(subject, mutate)` is one atomic read-modify-write for that person: it calls
      `mutate` with all of the person's entries (revoked ones included) as they stand, then
      stores what it returns, entries and changes together, durably, before returning. While
      it runs, no other `apply` for the same person interleaves. If `mutate` raises, nothing
      is stored and the exception propagates. Every entry and change it returns must be
      about `subject` (else ValueError, nothing stored).
    - An entry's cell, decision, validity and creation time never change once stored; only its
      state, whom it awaits and its changed_at do. Entries are never removed.
    - Changes are never changed or removed. `apply` assigns each a cursor larger than every
      cursor assigned before (gaps allowed) and returns them with it, in order.
    - A reader never sees a change with a higher cursor before every lower one is visible, so
      a subscriber resuming after cursor n misses nothing.
    - Reads return entries oldest first (then by id), changes by cursor.
    - Safe to call from several threads at once.
    """

    def __init__(self) -> None:
        # Watchers wait on this; writers bump the generation after each commit.
        self._changed = threading.Condition()
        self._generation = 0

    @abstractmethod
    def apply(self, subject: Pseudonym, mutate: Mutator) -> list[Change]:
        """Run `mutate` on the person's entries and store its result atomically (see above)."""

    @abstractmethod
    def entries(self, subject: Pseudonym) -> list[Entry]:
        """All of the person's entries, revoked ones included."""

    @abstractmethod
    def entry(self, entry_id: bytes) -> Entry | None:
        """The entry with this id, or None."""

    @abstractmethod
    def changes_after(
        self, after_cursor: int, *, limit: int = 500, effective_only: bool = False
    ) -> list[Change]:
        """Changes with a cursor above `after_cursor`, oldest first, at most `limit`."""

    @abstractmethod
    def changes_for(self, subject: Pseudonym) -> list[Change]:
        """The person's whole change log (the audit trail), oldest first."""

    def wait_for_changes(
        self, after_cursor: int, timeout: float, *, effective_only: bool = False
    ) -> list[Change]:
        """changes_after, waiting up to `timeout` seconds for one to be appended.

        Returns early, possibly empty, on wake(). A writer in another process is noticed at
        the latest when the timeout ends, so callers loop.
        """
        with self._changed:
            generation = self._generation
        # Read the generation first: a commit between the query and the wait still wakes us.
        found = self.changes_after(after_cursor, effective_only=effective_only)
        if found:
            return found
        with self._changed:
            self._changed.wait_for(lambda: self._generation != generation, timeout)
        return self.changes_after(after_cursor, effective_only=effective_only)

    def wake(self) -> None:
        """Wake every waiter in wait_for_changes."""
        with self._changed:
            self._generation += 1
            self._changed.notify_all()

    def close(self) -> None:
        """Release connections and wake waiters; the store is unusable afterwards."""
        self.wake()


def check_replacement(stored: Entry, new: Entry) -> None:
    """The contract's guard: a stored entry changes only in state, awaiting and changed_at."""
    fixed = ("cell", "decision", "validity", "created_at")
    if any(getattr(stored, name) != getattr(new, name) for name in fixed):
        raise ValueError("only an entry's state, awaiting and changed_at may change")


def check_mutation(subject: Pseudonym, mutation: Mutation) -> None:
    """The contract's guard: a write for one person touches only that person."""
    if any(e.cell.subject != subject for e in mutation.entries) or any(
        c.entry.cell.subject != subject for c in mutation.changes
    ):
        raise ValueError("a mutation may only touch the subject it was applied for")
