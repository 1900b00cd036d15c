"""The judge: runs the judgement core (hub.judgement.engine) on the households new signals touch.

Transport-free. The intake hands it the pseudonyms of each committed batch (and of each
withdrawn signal); a worker thread, fed by a queue, evaluates the affected households so an
intake acknowledgement never waits for a judgement. Each household is read, judged and written
in one store transaction under its lock (HubStore.judge_household), so concurrent arrivals for
one household give one case and one regiehouder, and the partner notifications of a Decision
reach the feeds in that same transaction. A periodic check (on the injectable clock) re-judges
the households whose case deadline has passed, so a stalled case escalates.

Reads are per household: the signals at its address and of its people, found by index.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, partial
from multiprocessing.synchronize import Event as EventType

from hub import households
from hub.domain import (
    CaseNotice,
    InvolvedContact,
    NotificationKind,
    StoredSignal,
    Touched,
)
from hub.household_view import population_from, signal_facts
from hub.judgement import engine
from hub.judgement.decision import AddToOutreach, Decision, LeaveOutreach
from hub.judgement.model import ActiveSignal, Case, ContactPoint, Coordinator, RegistryView
from hub.judgement.notifications import EscalationNotice, PartnerNotice, RegiehouderBriefing
from hub.judgement.policy import Policies
from hub.registry import Registry
from hub.resident import RegiePreference, preferred_partner
from hub.store.base import CaseWrite, HouseholdState, HubStore, NewNotice, case_id_bytes
from seinhuis import logs

log = logs.get_logger(__name__)

#: How long a judge holds the queue entries it took: far longer than judging a batch lasts.
CLAIM_LEASE = dt.timedelta(minutes=2)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def registry_view(registry: Registry, load: dict[str, int]) -> RegistryView:
    """The registry as the judgement sees it: contact points, coordinators and their load."""
    partners = tuple(
        ContactPoint(p.id, p.type, p.contact_point)
        for p in sorted(registry.partners.values(), key=lambda p: p.id)
    )
    coordinators = tuple(
        Coordinator(p.id, p.capacity, load.get(p.id, 0))
        for p in sorted(registry.partners.values(), key=lambda p: p.id)
        if p.can_coordinate
    )
    return RegistryView(partners, coordinators)


class Judge:
    """Evaluates the households touched by intake, on a worker thread or synchronously."""

    def __init__(
        self,
        store: HubStore,
        registry: Registry,
        policies: Policies,
        *,
        institutions: Callable[[], frozenset[bytes]] = frozenset,
        clock: Callable[[], dt.datetime] = _utc_now,
        check_interval_s: float = 60.0,
        poll_s: float = 0.25,
        linger_s: float = 0.03,
        batch_size: int = 500,
        on_notices: Callable[[], None] = lambda: None,
        wake: threading.Event | EventType | None = None,
    ) -> None:
        self._store = store
        self._registry = registry
        self._policies = policies
        self._institutions = institutions
        self._clock = clock
        self._check_interval_s = check_interval_s
        # What this hub queues wakes us (its intake, withdrawals, consent changes; through
        # `wake` when we run in a process of our own). Only another hub process on the same
        # database (one with judge = "off") or a dead judge's claims running out leave work
        # we are not told of: a look at the queue every poll_s finds that. (At 20 ms, looking
        # cost an idle judge 5% of a core.)
        self._poll_s = poll_s
        # How long judged entries may stay queued for the next claim to remove them with its
        # own (a busy judge then writes once per batch, not twice); a paced intake's batches
        # come tens of milliseconds apart.
        self._linger_s = linger_s
        # Small enough that a signal completing a case never waits long behind a burst.
        self._batch_size = batch_size
        # Called after feed notices were appended: a judge in its own process tells the hub's
        # feeds this way (in one process the store wakes them itself).
        self._on_notices = on_notices
        # Several hub processes may share the queue: claims say whose a batch is.
        self._name = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"[:64]
        # Set by whoever queued work: in a judge process, an event the hub's intake shares.
        self._wake = wake if wake is not None else threading.Event()
        self._stopping = threading.Event()
        self._idle = threading.Condition()
        self._busy = False
        self._thread: threading.Thread | None = None
        self._last_check: float | None = None
        self._last_check_day: dt.date | None = None
        # The registry as a first look sees it: every coordinator with room (see _judge_keys).
        self._unloaded = registry_view(registry, {})

    # The worker: drains the store's judgement queue, oldest first.

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self.run, name="hub-judge", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            self._stopping.set()
            self._wake.set()
            self._thread.join(timeout)
            self._thread = None

    def submit(self, touched: Iterable[Touched]) -> None:
        """Queue these households for judgement (durably, in the store); returns at once."""
        self._store.queue_judgement(list(touched))
        self.wake()

    def wake(self) -> None:
        """Something was queued in this process: look now rather than at the next poll."""
        self._wake.set()

    def flush(self, timeout: float = 30.0) -> None:
        """Block until the queue is empty and no batch is being judged (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._idle:
                if not self._busy and not self._store.pending_judgements(1):
                    return
                self._idle.wait(self._poll_s)
        raise TimeoutError("the judge did not catch up in time")

    def run(self, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Judge queued households until stopped; a judge process calls this directly."""
        # Entries judged but still in the queue: the next claim removes them in its own
        # transaction, so a busy judge writes once per batch instead of twice.
        judged: list[int] = []
        try:
            while not self._stopping.is_set() and not should_stop():
                # Cleared before the claim: what is queued after it wakes us again.
                self._wake.clear()
                with self._idle:
                    claimed = self._claim(judged)
                    if claimed is not None:
                        judged = []
                    pending = claimed or []
                    self._busy = bool(pending or judged)
                if pending:
                    # Done even when judging failed: the worker must outlive one bad household,
                    # and the next signal there (or the deadline check) judges it again.
                    self._guarded(partial(self.judge, [t for _, t in pending]))
                    judged = [seq for seq, _ in pending]
                with self._idle:
                    self._busy = bool(judged)
                    self._idle.notify_all()
                self._check_deadlines_now_and_then()
                # A full batch leaves more queued: claim on at once. Otherwise the queue was
                # drained: give the intake's next batch a moment to arrive, so that one
                # transaction removes this batch and claims that one; idle, wait to be woken.
                if len(pending) < self._batch_size:
                    self._wake.wait(self._linger_s if pending else self._poll_s)
        finally:
            if judged:
                self._guarded(partial(self._store.judgements_done, judged))

    def _check_deadlines_now_and_then(self) -> None:
        now = time.monotonic()
        today = self._clock().date()
        if (
            self._last_check is None
            or now - self._last_check >= self._check_interval_s
            or today != self._last_check_day
        ):
            self._last_check = now
            self._guarded(self.check_deadlines)

    def _claim(self, judged: Collection[int]) -> list[tuple[int, Touched]] | None:
        """This judge's next batch, after removing the entries it judged; None when the store
        failed (nothing removed: try again at the next poll). The claim outlasts any batch,
        and a judge that died with it leaves it to the others when it runs out."""
        now = dt.datetime.now(dt.UTC)  # wall time, not the (injectable) judgement clock
        try:
            return self._store.claim_judgements(
                self._name, self._batch_size, now, CLAIM_LEASE, done=judged
            )
        except Exception as exc:  # a store outage
            log.error("hub.judge_failed", error_type=type(exc).__name__)
            return None

    @staticmethod
    def _guarded(work: Callable[[], object]) -> None:
        try:
            work()
        except Exception as exc:  # the worker must outlive one bad household
            log.error("hub.judge_failed", error_type=type(exc).__name__)

    # Judging, synchronously.

    def judge(self, touched: Sequence[Touched]) -> None:
        """Judge each distinct household the signals touch, reading the batch at once."""
        if not touched:
            return
        touched = list(dict.fromkeys(touched))
        addresses = {t.address for t in touched}
        persons = {t.person for t in touched if t.person is not None}
        around = _Around.read(self._store, addresses, persons)
        institutions = self._institutions()
        keyed: dict[bytes, tuple[frozenset[bytes], frozenset[bytes]]] = {}
        for t in touched:
            places, people = around.neighbourhood(
                {t.address}, {t.person} if t.person is not None else set()
            )
            where = households.current_addresses(
                signal_facts(around.signals_of(places, people)), around.population
            )
            address = where.get(t.person, t.address) if t.person is not None else t.address
            key = t.person if address in institutions and t.person is not None else address
            keyed.setdefault(key, (places, people))
        self._judge_keys(keyed, around, institutions)

    def check_deadlines(self) -> None:
        """Re-judge every household whose open case is past a deadline (escalation by time)."""
        today = self._clock().date()
        self._last_check_day = today
        due = self._store.open_case_households(today)
        if not due:
            return
        around = _Around.read(self._store, set(due), set(due))
        institutions = self._institutions()
        keyed = {key: around.neighbourhood({key}, {key}) for key in due}
        self._judge_keys(keyed, around, institutions)

    def _judge_keys(
        self,
        keyed: dict[bytes, tuple[frozenset[bytes], frozenset[bytes]]],
        around: _Around,
        institutions: frozenset[bytes],
    ) -> None:
        """A first look at every household without a lock, from the batch's reads; only a
        household whose look would write anything is judged again under its lock. A signal
        committed after these reads is queued after its commit and judged then.

        The coordinators' loads are read once per batch, and only for a household judged
        under its lock: a full coordinator only narrows whom a case gets, so the first look
        goes without them (as if every coordinator had room). Within a batch a load may lag
        by the cases the batch itself opens, which capacity checks tolerate."""
        cases = self._store.household_cases(keyed)
        loaded = cache(
            lambda: registry_view(self._registry, self._store.open_cases_by_regiehouder())
        )
        for key, (places, people) in keyed.items():
            known = cases.get(key)
            first_look = HouseholdState(
                case=known.case if known is not None else None,
                signals=tuple(around.signals_of(places, people)),
                on_outreach=known.on_outreach if known is not None else frozenset(),
            )
            self._judge_key(
                key, places, people, first_look, around.population, institutions, loaded
            )

    def _judge_key(
        self,
        key: bytes,
        addresses: frozenset[bytes],
        persons: frozenset[bytes],
        first_look: HouseholdState,
        population: households.Population,
        institutions: frozenset[bytes],
        loaded: Callable[[], RegistryView],
    ) -> None:
        at = self._clock()
        today = at.date()
        outcome: list[Decision] = []
        members: set[bytes] = set()
        preferences: list[RegiePreference] = []

        def decide(state: HouseholdState, *, view: RegistryView, first: bool = False) -> CaseWrite:
            outcome.clear()
            grouped = households.group(signal_facts(state.signals), population, institutions)
            household = next(
                (h for h in grouped.households if h.key == key),
                households.Household(key, key in institutions, frozenset(), ()),
            )
            mine = set(household.signal_ids)
            active = [
                active_signal(s, key)
                for s in state.signals
                if s.received.id in mine
                and s.withdrawn_at is None
                and s.received.signal.keep_until >= today
            ]
            case = state.case if state.case is not None and state.case.household == key else None
            if first:
                members.update(household.members)
            # A stated preference only chooses among regiehouders, so it never turns "nothing
            # to write" into a write: the cheap first look goes without it.
            preference = None if first else preferred_partner(preferences, active, view)
            decision = engine.evaluate(
                household,
                active,
                case,
                view,
                today,
                policies=self._policies,
                on_outreach=state.on_outreach,
                resident_preference=preference,
            )
            outcome.append(decision)
            return to_write(decision, state.case, view)

        # When the first look would write nothing, no lock is taken.
        if _is_empty(decide(first_look, view=self._unloaded, first=True)):
            return
        # Read before the lock (the store's lock may not be re-entered from decide); a
        # preference stated meanwhile counts at the household's next judgement.
        preferences = self._store.preferences_of(members)
        locked = partial(decide, view=loaded())
        if self._store.judge_household(key, addresses, persons, locked, at):
            self._on_notices()
        if outcome and outcome[0].actions:
            decision = outcome[0]
            case = decision.case
            log.info(
                "hub.case_judged",
                case=case.id if case is not None else None,
                status=case.status.value if case is not None else None,
                actions=len(decision.actions),
                notices=len(decision.notifications),
            )
            for n in decision.notifications:
                if isinstance(n, EscalationNotice):
                    log.info(
                        "hub.case_escalation_notice",
                        case=n.case_id,
                        role=n.role.value,
                        level=int(n.level),
                        rule=n.rule,
                    )


def to_write(decision: Decision, before: Case | None, view: RegistryView) -> CaseWrite:
    """What the store writes for a Decision: the case if it changed, outreach, partner notices,
    and escalation notices (for municipal roles, not a partner feed; the operator desk reads
    them), all in the household's one transaction."""
    case = decision.case if decision.case is not None and decision.case != before else None
    add: tuple[bytes, ...] = ()
    rule = ""
    remove: tuple[bytes, ...] = ()
    for action in decision.actions:
        if isinstance(action, AddToOutreach):
            add, rule = add + action.signal_ids, action.rule
        elif isinstance(action, LeaveOutreach):
            remove += action.signal_ids
    status = decision.case.status.value if decision.case is not None else None
    notices = []
    for n in decision.notifications:
        if isinstance(n, PartnerNotice):
            notices.append(
                NewNotice(
                    n.partner_id,
                    NotificationKind.CASE_NOTICE,
                    CaseNotice(
                        kind=n.kind.value,
                        case_id=case_id_bytes(n.case_id) if n.case_id is not None else None,
                        status=status if n.case_id is not None else None,
                        signal_ids=n.signal_ids,
                        regiehouder_contact=_contact(n.regiehouder),
                        deadline=n.deadline,
                        outcome=n.outcome.value if n.outcome is not None else None,
                    ),
                )
            )
        elif isinstance(n, RegiehouderBriefing):
            own = view.contact(n.partner_id)
            notices.append(
                NewNotice(
                    n.partner_id,
                    NotificationKind.REGIEHOUDER_BRIEFING,
                    CaseNotice(
                        kind=n.kind.value,
                        case_id=case_id_bytes(n.case_id),
                        status=status,
                        signal_ids=n.signal_ids,
                        regiehouder_contact=_contact(own),
                        deadline=n.deadline,
                        outcome=n.outcome.value if n.outcome is not None else None,
                        involved=tuple(
                            InvolvedContact(
                                i.contact.partner_type,
                                _contact(i.contact) or i.contact.partner_id,
                                i.life_domains,
                            )
                            for i in n.involved
                        ),
                    ),
                )
            )
    return CaseWrite(
        case=case,
        outreach_add=add,
        outreach_rule=rule,
        outreach_remove=remove,
        notices=tuple(notices),
        escalations=tuple(n for n in decision.notifications if isinstance(n, EscalationNotice)),
    )


@dataclass
class _Around:
    """What a batch's households need, read at once: the register's facts and the stored
    signals around the touched addresses and people, indexed for the per-household look."""

    population: households.Population
    signals: list[StoredSignal]
    by_address: dict[bytes, list[int]]
    by_person: dict[bytes, list[int]]

    @classmethod
    def read(cls, store: HubStore, addresses: set[bytes], persons: set[bytes]) -> _Around:
        # Who lives at these addresses and where these people live: the register first...
        population = population_from(store.population_facts_about(addresses, persons))
        residence = population.residence
        addresses |= {residence[p].address for p in persons if p in residence}
        persons |= {p for p, r in residence.items() if r.address in addresses}
        signals = store.household_signals(addresses, persons)
        # ...then everyone with a signal there, whose other signals and register entries show
        # where they live now.
        newcomers = {
            s.received.signal.person_pseudonym
            for s in signals
            if s.received.signal.person_pseudonym is not None
        } - persons
        if newcomers:
            persons |= newcomers
            population = population_from(store.population_facts_about(addresses, persons))
            known = {s.received.id for s in signals}
            signals += [
                s for s in store.household_signals((), newcomers) if s.received.id not in known
            ]
            signals.sort(key=lambda s: (s.received.received_at, s.received.id))
        by_address: dict[bytes, list[int]] = {}
        by_person: dict[bytes, list[int]] = {}
        for i, s in enumerate(signals):
            by_address.setdefault(s.received.signal.address_pseudonym, []).append(i)
            if s.received.signal.person_pseudonym is not None:
                by_person.setdefault(s.received.signal.person_pseudonym, []).append(i)
        return cls(population, signals, by_address, by_person)

    def neighbourhood(
        self, addresses: set[bytes], persons: set[bytes]
    ) -> tuple[frozenset[bytes], frozenset[bytes]]:
        """The addresses and people whose signals can belong to these households: the
        register's residents, and everyone with a signal there."""
        residence = self.population.residence
        addresses = addresses | {residence[p].address for p in persons if p in residence}
        persons = persons | {p for p, r in residence.items() if r.address in addresses}
        for s in self.signals_of(addresses, persons):
            if s.received.signal.person_pseudonym is not None:
                persons.add(s.received.signal.person_pseudonym)
        return frozenset(addresses), frozenset(persons)

    def signals_of(
        self, addresses: Collection[bytes], persons: Collection[bytes]
    ) -> list[StoredSignal]:
        """The signals at these addresses or of these people, in arrival order."""
        hits: set[int] = set()
        for a in addresses:
            hits.update(self.by_address.get(a, ()))
        for p in persons:
            hits.update(self.by_person.get(p, ()))
        return [self.signals[i] for i in sorted(hits)]


def _is_empty(write: CaseWrite) -> bool:
    return (
        write.case is None
        and not write.outreach_add
        and not write.outreach_remove
        and not write.notices
        and not write.escalations
    )


def _contact(c: ContactPoint | None) -> str | None:
    if c is None:
        return None
    return c.contact or c.partner_id


def active_signal(stored: StoredSignal, household: bytes) -> ActiveSignal:
    """A stored signal as the judgement sees it; the operator's views use the same.

    A signal that reached the hub left its node lawfully; once the consent it was sent under
    ends (hub.consent_follower) it no longer counts. No consent-based signal's sender is
    disclosed to others (disclosure_ok stays False)."""
    r = stored.received
    s = r.signal
    return ActiveSignal(
        id=r.id,
        partner_id=r.partner_id,
        partner_type=r.partner_type,
        signal_type=s.signal_type,
        life_domain=s.life_domain,
        urgency=s.urgency,
        legal_basis=s.legal_basis,
        observed_on=s.observed_on,
        household=household,
        person=s.person_pseudonym,
        consent_ok=stored.consent_lost_at is None,
    )
