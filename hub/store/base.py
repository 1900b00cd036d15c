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
from typing import TypeVar

from hub.audit import AuditDraft, AuditEntry, Look, Subject, household_subjects
from hub.domain import (
    CaseNotice,
    Notification,
    NotificationKind,
    Received,
    ReceivedPopulationFact,
    SignalCount,
    StoredSignal,
    Touched,
)
from hub.judgement.model import Case, CaseStatus, EscalationLevel
from hub.judgement.model import Outcome as CaseOutcome
from hub.judgement.notifications import EscalationNotice
from hub.store.resident_base import ResidentRecords
from seinhuis.vocabulary import LegalBasis, LifeDomain, PartnerType, WithdrawReason

T = TypeVar("T")

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
class HouseholdCase:
    """A household's latest case and its signals on the outreach list: what the judge's first,
    unlocked look reads besides the signals."""

    case: Case | None
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
    set replaced), outreach changes, feed entries, and escalation notices for municipal roles
    (each with its audit entry), all in one transaction."""

    case: Case | None = None
    outreach_add: tuple[bytes, ...] = ()
    outreach_rule: str = ""
    outreach_remove: tuple[bytes, ...] = ()
    notices: tuple[NewNotice, ...] = ()
    escalations: tuple[EscalationNotice, ...] = ()


def case_subjects(state: HouseholdState, write: CaseWrite) -> frozenset[Subject]:
    """Whom a judgement's escalation notices are about (for the audit log's "who looked"): the
    household and the people the case's signals concern."""
    case = write.case or state.case
    ids = case.signal_ids if case is not None else frozenset()
    persons = {
        p
        for s in state.signals
        if s.received.id in ids and (p := s.received.signal.person_pseudonym) is not None
    }
    household = case.household if case is not None else b""
    return household_subjects(household, persons)


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


@dataclass(frozen=True)
class CaseRecord:
    """One case as the operator interface reads it: the case, its stored signals (erased ones
    are gone) and the rule of the newest escalation notice about it."""

    case: Case
    signals: tuple[StoredSignal, ...] = field(repr=False)
    escalation_rule: str | None = None


@dataclass(frozen=True)
class StaffWrite:
    """What one staff action writes: its audit entry, the case write (case, feed notices) and
    the escalation notices for municipal roles."""

    audit: AuditDraft
    case: CaseWrite = CaseWrite()
    escalations: tuple[EscalationNotice, ...] = ()


@dataclass(frozen=True)
class EscalationRecord:
    """An escalation notice as stored for its municipal role (codes only, no identities)."""

    seq: int
    at: dt.datetime
    case_ref: str
    role: str
    kind: str
    level: int
    rule: str
    deadline: dt.date | None


@dataclass(frozen=True)
class SignalTally:
    """How many stored signals arrived on one day (UTC) in one life domain from one kind of
    partner: the dashboard's figures count, never list."""

    day: dt.date
    life_domain: LifeDomain
    partner_type: PartnerType
    count: int


@dataclass(frozen=True, order=True)
class SignalKind:
    """What the figures learn of one of a case's signals: its sender's kind, its life domain
    and its legal basis (which says whether the sender may be disclosed)."""

    partner_type: PartnerType
    life_domain: LifeDomain
    legal_basis: LegalBasis


@dataclass(frozen=True)
class CaseFacts:
    """One case as the dashboard's figures use it: dates, codes and its signals' kinds; no
    household, no pseudonyms, no partner ids."""

    ref: str
    status: CaseStatus
    opened_at: dt.datetime
    deadline: dt.date | None
    escalation: EscalationLevel
    escalation_deadline: dt.date | None
    outcome: CaseOutcome | None
    closed_on: dt.date | None
    #: The kinds of the signals the case holds now (consent still holding).
    signal_kinds: frozenset[SignalKind] = frozenset()
    #: When a regiehouder was first briefed on it (its first assignment); None: never.
    regiehouder_at: dt.datetime | None = None
    #: When staff first recorded that the regiehouder took it on (the audit log); None: never.
    acknowledged_at: dt.datetime | None = None
    #: Each time it was escalated (escalation notices of kind ESCALATED), oldest first.
    escalations: tuple[tuple[dt.datetime, EscalationLevel], ...] = ()


class HubStore(ResidentRecords, ABC):
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
        When this returns, the stored items survive a crash of the process. The households
        the stored items touch (hub.domain.touched_by) are queued for judgement in the same
        transaction. On failure nothing of the batch is stored and the exception propagates.
        """

    @abstractmethod
    def withdraw(
        self, partner_id: str, signal_id: bytes, reason: WithdrawReason, at: dt.datetime
    ) -> Notification:
        """Withdraw one of the partner's own signals and append a SignalWithdrawn to its feed.

        UNJUSTIFIED erases the signal (its id stays seen: a tombstone without content);
        RESOLVED keeps it, marked withdrawn. A resolved signal may still be erased as
        unjustified. Raises NotFound when the partner has no such signal that is not
        withdrawn already, whether the id is unknown, erased, or another partner's. The
        signal's household is queued for judgement in the same transaction.
        """

    @abstractmethod
    def rekey(self, from_version: int, to_version: int, rekey: Rekey) -> int:
        """Re-key every pseudonym stored under from_version to to_version, in one transaction.

        `rekey(kind, pseudonym)` gives the new pseudonym ("PERSON" or "ADDRESS" kind). Signals
        and population facts both move; a parenthood's second pseudonym is a person's. So does
        the judgement's own state keyed by those pseudonyms: each case's and outreach entry's
        household key and the judgement queue, so a household keeps its case (and regiehouder)
        across a rotation. Returns how many signals and facts changed. On failure nothing
        changes.
        """

    @abstractmethod
    def get_signal(self, signal_id: bytes) -> StoredSignal | None:
        """The stored signal with this id, withdrawn or not; None when unknown or erased."""

    @abstractmethod
    def raise_feed_floors(self, partner_ids: Collection[str], gap: int) -> dict[str, int]:
        """After restoring a backup: each partner's next feed cursor moves `gap` past the
        highest it had (or was raised to), beyond any cursor the lost period can have issued,
        so a node resuming from one of those still gets every new notice. Returns the floors."""

    @abstractmethod
    def newest_received_at(self) -> dt.datetime | None:
        """When the newest stored signal or fact arrived (None: nothing stored)."""

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

    # The judgement queue: add_batch and withdraw queue the households they touch in their own
    # transaction; the judge takes them oldest first and marks them done once judged.

    @abstractmethod
    def queue_judgement(self, touched: Sequence[Touched]) -> None:
        """Queue these households for judgement (a consent change, an operator's request)."""

    @abstractmethod
    def pending_judgements(self, limit: int) -> list[tuple[int, Touched]]:
        """Up to `limit` queued households, oldest first, with their queue numbers, whether
        claimed or not (what is still to be judged)."""

    @abstractmethod
    def claim_judgements(
        self,
        claimer: str,
        limit: int,
        now: dt.datetime,
        lease: dt.timedelta,
        *,
        done: Collection[int] = (),
    ) -> list[tuple[int, Touched]]:
        """Take up to `limit` of the oldest entries nobody holds (never claimed, or a claim
        that ran out before `now`) for `claimer` until `now + lease`. Two judges never get
        the same entry while a claim holds; each marks its entries done once judged.

        `done`: entries the claimer judged since its last claim, removed in the same
        transaction (as judgements_done would), so a busy judge writes once per batch."""

    @abstractmethod
    def judgements_done(self, seqs: Collection[int]) -> None:
        """Remove these queue entries (judged); unknown numbers are ignored."""

    @abstractmethod
    def household_cases(self, households: Collection[bytes]) -> dict[bytes, HouseholdCase]:
        """Each household's latest case (open or closed) and outreach list, without the lock:
        the judge's cheap first look at a whole batch. Households with neither are absent."""

    @abstractmethod
    def population_facts_about(
        self, addresses: Collection[bytes], persons: Collection[bytes]
    ) -> list[ReceivedPopulationFact]:
        """The register's facts about these places and people, in arrival order: every fact
        whose subject is one of `persons` (their residences, moves, deaths, children), every
        residence or move to one of `addresses`, and every parenthood of one of `persons`.

        Served from indexes: the judge reads the register around a batch, never all of it.
        """

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

    # The operator interface and the audit log.

    @abstractmethod
    def staff_cases(
        self, view: Callable[[Sequence[CaseRecord]], tuple[T, AuditDraft]], at: dt.datetime
    ) -> T:
        """Read every case with its signals, let `view` (pure) choose what to show and say what
        to audit, and append that audit entry at `at`, in ONE transaction; returns the view."""

    @abstractmethod
    def staff_case(
        self, case_id: bytes, act: Callable[[CaseRecord], tuple[T, StaffWrite]], at: dt.datetime
    ) -> T:
        """Read one case under its household's lock (as judge_household takes it), let `act`
        decide (pure; it may run again on a retry), and write in ONE transaction: the case, its
        feed notices, its escalation notices and the audit entry. Returns what `act` returned.

        NotFound when there is no such case; when `act` raises, nothing is written.
        """

    @abstractmethod
    def escalation_records(self, case_ref: str | None = None) -> list[EscalationRecord]:
        """The stored escalation notices, oldest first (only this case's, when given)."""

    @abstractmethod
    def append_audit(self, draft: AuditDraft, at: dt.datetime) -> AuditEntry:
        """Append one audit entry on its own (for views that concern no case)."""

    @abstractmethod
    def audit_entries(self) -> list[AuditEntry]:
        """Every audit entry as stored, in sequence order (verify them with hub.audit.verify)."""

    @abstractmethod
    def who_looked(self, subjects: Collection[bytes]) -> list[Look]:
        """Every audit entry concerning any of these household keys or person pseudonyms,
        oldest first, as the resident may learn it: role, action, when."""

    # The dashboard's figures (hub.figures): aggregated reads, nothing that names anyone.

    @abstractmethod
    def signal_tallies(self, since: dt.datetime) -> list[SignalTally]:
        """Stored signals received at or after `since`, counted per day of arrival (UTC), life
        domain and partner type, sorted by those. Withdrawn signals count (they arrived);
        erased ones are gone. Counted in the database: no signal is read."""

    @abstractmethod
    def case_facts(self, since: dt.datetime) -> list[CaseFacts]:
        """Every case that is not closed, or was opened, closed or escalated at or after
        `since`, by reference: its codes and dates, its signals' kinds, when a regiehouder was
        first briefed on it (REGIEHOUDER_BRIEFING feed entries), when staff first acknowledged
        it (ACKNOWLEDGE audit entries) and its escalations at or after `since`. One read."""

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
