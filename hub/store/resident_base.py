"""The hub store's promises about consent and residents (issue 5); HubStore inherits them.

Every backend keeps these (tests/consent/test_hub_resident_store.py runs them on both):
- mark_consent_lost marks only counting consent-based signals; the signal stays stored and
  readable, and a second call for it changes nothing (the first instant is kept).
- The consent cursor only moves forward.
- sweep_statute_notices gives every stored statute-based signal exactly one notice, with
  strictly increasing cursors, however often it runs and whichever process runs it; a signal
  received up to NOTICE_SLACK before the newest one noticed is still found (intake stamps
  received_at before its batch commits). statute_notices_after skips erased signals.
- At most one OPEN objection per (signal, person): recording it again with the same id answers
  the stored one; with another id, AlreadyExists and nothing stored.
- A person has at most one preference; stating one replaces the previous one.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Collection

from hub.consent_check import ConsentNarrowing
from hub.domain import StoredSignal
from hub.resident import Objection, RegiePreference, StatuteNotice

#: How far before the newest noticed signal a sweep still looks for ones committed late.
NOTICE_SLACK = dt.timedelta(minutes=10)
#: Notices one sweep makes at most (the first sweep on an older hub catches up in steps).
SWEEP_LIMIT = 5000


class ResidentRecords(ABC):
    """Consent state of stored signals, and what residents record through the portal."""

    # --- consent (hub.consent_follower) -------------------------------------------------------

    @abstractmethod
    def mark_consent_lost(self, signal_ids: Collection[bytes], at: dt.datetime) -> list[bytes]:
        """Mark these consent-based signals as no longer counting from `at`; the ids newly
        marked (unknown, erased, statute-based or already marked ones are left alone)."""

    @abstractmethod
    def consent_running_out(self, by: dt.datetime, *, limit: int = 500) -> list[StoredSignal]:
        """Counting consent-based signals whose receipt vouches only until `by` or earlier."""

    @abstractmethod
    def consent_cursor(self) -> int:
        """The last Watch cursor processed; 0 at first."""

    @abstractmethod
    def set_consent_cursor(self, cursor: int) -> None:
        """Record progress; a cursor below the stored one is ignored."""

    @abstractmethod
    def add_consent_narrowing(self, narrowing: ConsentNarrowing) -> None:
        """Remember a revocation or objection (intake voids older receipts it covers)."""

    @abstractmethod
    def consent_narrowings_since(self, since: dt.datetime) -> list[ConsentNarrowing]:
        """The narrowings at or after `since`, oldest first."""

    # --- statute notices (the resident service) ------------------------------------------------

    @abstractmethod
    def sweep_statute_notices(self, at: dt.datetime) -> int:
        """Give each stored statute-based signal without a notice one; how many were made."""

    @abstractmethod
    def statute_notices_after(self, cursor: int, *, limit: int = 500) -> list[StatuteNotice]:
        """Notices after the cursor, in order, each with its (still stored) signal."""

    # --- objections: the operators' review list --------------------------------------------------

    @abstractmethod
    def add_objection(self, objection: Objection) -> Objection:
        """Record an objection; see the module docstring for repeats."""

    @abstractmethod
    def open_objections(self) -> list[Objection]:
        """The operators' review list: OPEN objections, oldest first (then by id)."""

    # --- preferred regiehouder ------------------------------------------------------------

    @abstractmethod
    def set_preference(self, preference: RegiePreference) -> None:
        """Record a person's preference, replacing an earlier one."""

    @abstractmethod
    def clear_preference(self, person: bytes) -> bool:
        """Forget a person's preference; whether there was one."""

    @abstractmethod
    def preferences_of(self, persons: Collection[bytes]) -> list[RegiePreference]:
        """The preferences of these people, oldest first."""
