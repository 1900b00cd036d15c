"""The consent registry's domain service: check, grant, revoke, list, on behalf of an actor.

This is the API the gRPC servicer and the resident portal call. It imports neither grpc nor
protobuf nor sqlmodel; it takes and returns the plain values of consent.model. Every write is
one atomic store.apply for one person, so a refused request changes nothing.

Rules enforced here (each error names its rule):
- representation.*: who may act for whom (consent.representation);
- validity.inverted / validity.ended: a period must be non-empty and not over already;
- validity.backdated: a new entry starts now or later (up to a few minutes of clock skew
  between portal and registry): consent given today does not cover what happened before;
- overlap: one cell (person, source, life domain, purpose) holds at most one live entry at
  any instant, whatever its decision; to change a decision, revoke the entry first. A live
  entry is one that is pending, active or whose revocation is pending.
Making a grant identical to a live entry in the same cell (same decision and valid_until, and
the same valid_from or none) is not an overlap: it agrees to that entry if it is a pending
grant awaiting this actor, and is otherwise answered with the entry unchanged (idempotent).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from consent import precedence
from consent.model import (
    Change,
    ChangeKind,
    CheckQuery,
    CheckResult,
    Decision,
    Entry,
    EntryState,
    GrantRequest,
    Party,
    Pseudonym,
    Receipt,
    ReceiptSigner,
    Validity,
    require_id,
)
from consent.representation import Actor, Standing, standing
from consent.store.base import ConsentStore, Mutation
from seinhuis.errors import FailedPrecondition, InvalidArgument, NotFound

#: How far a new entry's valid_from may lie before the registry's clock (the portal's clock).
CLOCK_SKEW = dt.timedelta(minutes=5)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _random_id() -> bytes:
    return os.urandom(16)


class ConsentRegistry:
    """Decides checks and records changes; every change names its actor and time."""

    def __init__(
        self,
        store: ConsentStore,
        signer: ReceiptSigner,
        *,
        clock: Callable[[], dt.datetime] = _utc_now,
        new_id: Callable[[], bytes] = _random_id,
    ) -> None:
        self._store = store
        self._signer = signer
        self._clock = clock
        self._new_id = new_id

    # --- checks (nodes, the hub) --------------------------------------------------------------

    def check(self, query: CheckQuery) -> CheckResult:
        """PERMIT with a signed receipt, or DENY without one; see consent.precedence."""
        now = self._clock()
        at = query.at or now
        outcome = precedence.decide(self._store.entries(query.subject), query, at)
        if outcome.decision is Decision.DENY or outcome.entry is None:
            return CheckResult(Decision.DENY)
        # A permit always has a deciding entry whose valid_from bounds the window from below.
        assert outcome.window_from is not None
        receipt = Receipt(
            receipt_id=self._new_id(),
            subject=query.subject,
            partner_id=query.partner_id,
            partner_type=query.partner_type,
            life_domain=query.life_domain,
            purpose=query.purpose,
            decided_at=now,
            valid_from=outcome.window_from,
            valid_until=outcome.window_until,
            entry_id=outcome.entry.id,
            key_id=self._signer.key_id,
        )
        return CheckResult(Decision.PERMIT, self._signer.sign(receipt))

    # --- the portal ---------------------------------------------------------------------------

    def grant(self, actor: Actor, request: GrantRequest) -> Entry:
        """Record consent or an objection, or agree to an identical pending grant.

        Returns the entry: ACTIVE, or GRANT_PENDING awaiting the other party (a PERMIT for a
        12 to 15-year-old made by one of the two). Raises InvalidArgument, PermissionDenied or
        FailedPrecondition naming the rule; nothing is stored then.
        """
        now = self._clock()
        if request.valid_until is not None and request.valid_until <= now:
            raise InvalidArgument("lies in the past (rule validity.ended)", field="valid_until")
        # Built now so an inverted period is refused before anything is read.
        validity = Validity(request.valid_from or now, request.valid_until)
        cell = request.cell
        act = _Act(actor, standing(actor, cell.subject), now)

        def decide(entries: Sequence[Entry]) -> tuple[Entry, Change | None]:
            live = [e for e in entries if e.cell == cell and e.state is not EntryState.REVOKED]
            for existing in live:
                if _same_grant(existing, request):
                    return self._agree(existing, act)
            if validity.valid_from < now - CLOCK_SKEW:
                raise InvalidArgument(
                    "lies in the past; consent and objections hold from when they are given "
                    "(rule validity.backdated)",
                    field="valid_from",
                )
            if any(e.validity.overlaps(validity) for e in live):
                raise FailedPrecondition(
                    "rule overlap: an entry for this person, source, life domain and purpose "
                    "already holds in (part of) this period; revoke it first"
                )
            pending = request.decision is Decision.PERMIT and not act.standing.decides_alone
            entry = Entry(
                id=self._new_id(),
                cell=cell,
                decision=request.decision,
                validity=validity,
                state=EntryState.GRANT_PENDING if pending else EntryState.ACTIVE,
                awaiting=act.standing.party.other if pending else None,
                created_at=now,
                changed_at=now,
            )
            kind = ChangeKind.GRANT_REQUESTED if pending else ChangeKind.GRANTED
            return entry, act.change(kind, entry, effective=not pending)

        return self._write(cell.subject, decide)

    def confirm(self, actor: Actor, entry_id: bytes) -> Entry:
        """Agree to a pending grant by its id: the same as making the identical grant."""
        entry = self._find(entry_id)
        if entry.state is not EntryState.GRANT_PENDING:
            raise FailedPrecondition(
                "rule confirm.not-pending: only a pending grant can be agreed to"
            )
        valid = entry.validity
        return self.grant(
            actor, GrantRequest(entry.cell, entry.decision, valid.valid_from, valid.valid_until)
        )

    def revoke(self, actor: Actor, entry_id: bytes) -> Entry:
        """Revoke an entry (or withdraw a pending grant); returns the entry as it now stands.

        Revoking an objection of a 12 to 15-year-old widens what may be shared, so it waits
        for the other party (REVOCATION_PENDING, still counting) until they revoke it too.
        Revoking a revoked entry changes nothing.
        """
        found = self._find(entry_id)
        act = _Act(actor, standing(actor, found.cell.subject), self._clock())

        def decide(entries: Sequence[Entry]) -> tuple[Entry, Change | None]:
            entry = next((e for e in entries if e.id == found.id), found)
            party = act.standing.party
            if entry.state is EntryState.REVOKED:
                return entry, None
            if entry.state is EntryState.GRANT_PENDING:
                # Withdrawing a grant that never counted: narrowing, and no decision changes.
                return act.move(entry, EntryState.REVOKED, ChangeKind.REVOKED, effective=False)
            narrowing = entry.decision is Decision.PERMIT
            agreeing = entry.state is EntryState.REVOCATION_PENDING and party is entry.awaiting
            if narrowing or agreeing or act.standing.decides_alone:
                return act.move(entry, EntryState.REVOKED, ChangeKind.REVOKED, effective=True)
            if entry.state is EntryState.REVOCATION_PENDING:
                return entry, None  # asked before by this party; still awaiting the other
            return act.move(
                entry,
                EntryState.REVOCATION_PENDING,
                ChangeKind.REVOCATION_REQUESTED,
                effective=False,
                awaiting=party.other,
            )

        return self._write(found.cell.subject, decide)

    def list_entries(
        self, actor: Actor, subject: Pseudonym, *, include_revoked: bool = False
    ) -> list[Entry]:
        """The person's entries, oldest first, if the actor may manage that person."""
        standing(actor, subject)
        entries = self._store.entries(subject)
        if include_revoked:
            return entries
        return [e for e in entries if e.state is not EntryState.REVOKED]

    def history(self, actor: Actor, subject: Pseudonym) -> list[Change]:
        """The person's audit trail: every change, by whom (as which party) and when."""
        standing(actor, subject)
        return self._store.changes_for(subject)

    # --- the Watch stream (the hub) -----------------------------------------------------------

    def changes_after(self, after_cursor: int, *, limit: int = 500) -> list[Change]:
        """Changes that altered a decision, after the cursor."""
        return self._store.changes_after(after_cursor, limit=limit, effective_only=True)

    def wait_for_changes(self, after_cursor: int, timeout: float) -> list[Change]:
        """changes_after, waiting up to `timeout` seconds for one."""
        return self._store.wait_for_changes(after_cursor, timeout, effective_only=True)

    def wake(self) -> None:
        """End every wait_for_changes early (the server is stopping or a watcher left)."""
        self._store.wake()

    # --- helpers ------------------------------------------------------------------------------

    def _find(self, entry_id: bytes) -> Entry:
        entry = self._store.entry(require_id(entry_id, "entry_id"))
        if entry is None:
            raise NotFound("no consent entry with that id")
        return entry

    @staticmethod
    def _agree(entry: Entry, act: _Act) -> tuple[Entry, Change | None]:
        completes = entry.state is EntryState.GRANT_PENDING and (
            act.standing.party is entry.awaiting or act.standing.decides_alone
        )
        if not completes:
            # Already in force, or still awaiting the other party: the same answer again.
            return entry, None
        return act.move(entry, EntryState.ACTIVE, ChangeKind.GRANTED, effective=True)

    def _write(
        self, subject: Pseudonym, decide: Callable[[Sequence[Entry]], tuple[Entry, Change | None]]
    ) -> Entry:
        """One atomic store.apply: `decide` sees the person's entries and returns the result."""
        result: list[Entry] = []

        def mutate(entries: Sequence[Entry]) -> Mutation:
            entry, change = decide(entries)
            result.append(entry)
            return Mutation((entry,), (change,)) if change is not None else Mutation()

        self._store.apply(subject, mutate)
        return result[0]


@dataclass(frozen=True)
class _Act:
    """One request's actor, their standing for the subject, and its time."""

    actor: Actor
    standing: Standing
    now: dt.datetime

    def change(self, kind: ChangeKind, entry: Entry, *, effective: bool) -> Change:
        return Change(
            at=self.now,
            kind=kind,
            actor=self.actor.person,
            party=self.standing.party,
            entry=entry,
            effective=effective,
        )

    def move(
        self,
        entry: Entry,
        state: EntryState,
        kind: ChangeKind,
        *,
        effective: bool,
        awaiting: Party | None = None,
    ) -> tuple[Entry, Change]:
        moved = dataclasses.replace(entry, state=state, awaiting=awaiting, changed_at=self.now)
        return moved, self.change(kind, moved, effective=effective)


def _same_grant(entry: Entry, request: GrantRequest) -> bool:
    """Whether a request repeats (or agrees to) this entry."""
    return (
        entry.decision is request.decision
        and entry.validity.valid_until == request.valid_until
        and (request.valid_from is None or entry.validity.valid_from == request.valid_from)
    )
