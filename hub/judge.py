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
import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial

from hub import households
from hub.domain import (
    CaseNotice,
    InvolvedContact,
    NotificationKind,
    Received,
    ReceivedSignal,
    Relocation,
    Residence,
    StoredSignal,
)
from hub.household_view import population_of
from hub.judgement import engine
from hub.judgement.decision import AddToOutreach, Decision, LeaveOutreach
from hub.judgement.model import ActiveSignal, Case, ContactPoint, Coordinator, RegistryView
from hub.judgement.notifications import EscalationNotice, PartnerNotice, RegiehouderBriefing
from hub.judgement.policy import Policies
from hub.registry import Registry
from hub.store.base import CaseWrite, HouseholdState, HubStore, NewNotice, case_id_bytes
from seinhuis import logs

log = logs.get_logger(__name__)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Touched:
    """Where a new or withdrawn signal sits: its address and person pseudonyms."""

    address: bytes
    person: bytes | None


def touched_by(items: Iterable[Received]) -> list[Touched]:
    """The places stored items touch: each signal's, and each residence or move's."""
    out = []
    for item in items:
        if isinstance(item, ReceivedSignal):
            out.append(Touched(item.signal.address_pseudonym, item.signal.person_pseudonym))
            continue
        event = item.fact.event
        if isinstance(event, Residence):
            out.append(Touched(event.address_pseudonym, event.person_pseudonym))
        elif isinstance(event, Relocation):
            out.append(Touched(event.to_address_pseudonym, event.person_pseudonym))
    return out


@dataclass(frozen=True)
class _Stop:
    pass


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
    ) -> None:
        self._store = store
        self._registry = registry
        self._policies = policies
        self._institutions = institutions
        self._clock = clock
        self._check_interval_s = check_interval_s
        self._queue: queue.Queue[Touched | _Stop] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._last_check: dt.date | None = None

    # The worker.

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="hub-judge", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            self._queue.put(_Stop())
            self._thread.join(timeout)
            self._thread = None

    def submit(self, touched: Iterable[Touched]) -> None:
        """Queue the households of these signals for judgement; returns at once."""
        for t in touched:
            self._queue.put(t)

    def flush(self) -> None:
        """Block until everything submitted so far is judged (tests, shutdown)."""
        self._queue.join()

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self._check_interval_s)
            except queue.Empty:
                self._guarded(self.check_deadlines)
                continue
            batch = [first]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._guarded(partial(self.judge, [t for t in batch if isinstance(t, Touched)]))
                if self._last_check != self._clock().date():
                    self._guarded(self.check_deadlines)
            finally:
                for _ in batch:
                    self._queue.task_done()
            if any(isinstance(t, _Stop) for t in batch):
                return

    @staticmethod
    def _guarded(work: Callable[[], object]) -> None:
        try:
            work()
        except Exception as exc:  # the worker must outlive one bad household
            log.error("hub.judge_failed", error_type=type(exc).__name__)

    # Judging, synchronously.

    def judge(self, touched: Sequence[Touched]) -> None:
        """Judge each distinct household the signals touch."""
        if not touched:
            return
        population = population_of(self._store)
        institutions = self._institutions()
        # Coordinators' loads once per batch: within a batch a load may lag by the cases the
        # batch itself opens, which capacity checks tolerate.
        view = registry_view(self._registry, self._store.open_cases_by_regiehouder())
        done: set[bytes] = set()
        for t in dict.fromkeys(touched):
            people = {t.person} if t.person is not None else set()
            addresses, persons = self._neighbourhood({t.address}, people, population)
            # Again with everyone found there: their other signals show where they live now.
            facts = _facts(self._store.household_signals(addresses, persons))
            where = households.current_addresses(facts, population)
            address = where.get(t.person, t.address) if t.person is not None else t.address
            key = t.person if address in institutions and t.person is not None else address
            if key in done:
                continue
            done.add(key)
            self._judge_key(key, addresses, persons, population, institutions, view)

    def check_deadlines(self) -> None:
        """Re-judge every household whose open case is past a deadline (escalation by time)."""
        today = self._clock().date()
        self._last_check = today
        due = self._store.open_case_households(today)
        if not due:
            return
        population = population_of(self._store)
        institutions = self._institutions()
        view = registry_view(self._registry, self._store.open_cases_by_regiehouder())
        for key in due:
            addresses, persons = self._neighbourhood({key}, {key}, population)
            self._judge_key(key, addresses, persons, population, institutions, view)

    def _neighbourhood(
        self, addresses: set[bytes], persons: set[bytes], population: households.Population
    ) -> tuple[frozenset[bytes], frozenset[bytes]]:
        """The addresses and people whose signals can belong to these households: the register's
        residents, and everyone with a signal there (whose other signals show where they live)."""
        for person in list(persons):
            residence = population.residence.get(person)
            if residence is not None:
                addresses.add(residence.address)
        persons |= {p for p, r in population.residence.items() if r.address in addresses}
        for s in self._store.household_signals(addresses, persons):
            if s.received.signal.person_pseudonym is not None:
                persons.add(s.received.signal.person_pseudonym)
        return frozenset(addresses), frozenset(persons)

    def _judge_key(
        self,
        key: bytes,
        addresses: frozenset[bytes],
        persons: frozenset[bytes],
        population: households.Population,
        institutions: frozenset[bytes],
        view: RegistryView,
    ) -> None:
        at = self._clock()
        today = at.date()
        outcome: list[Decision] = []

        def decide(state: HouseholdState) -> CaseWrite:
            outcome.clear()
            grouped = households.group(_facts(state.signals), population, institutions)
            household = next(
                (h for h in grouped.households if h.key == key),
                households.Household(key, key in institutions, frozenset(), ()),
            )
            mine = set(household.signal_ids)
            active = [
                _active(s, key)
                for s in state.signals
                if s.received.id in mine
                and s.withdrawn_at is None
                and s.received.signal.keep_until >= today
            ]
            case = state.case if state.case is not None and state.case.household == key else None
            decision = engine.evaluate(
                household,
                active,
                case,
                view,
                today,
                policies=self._policies,
                on_outreach=state.on_outreach,
            )
            outcome.append(decision)
            return to_write(decision, state.case, view)

        # A first look without the lock: when nothing would be written, no lock is taken. A
        # signal committed after this snapshot is queued after its commit and judged then.
        if _is_empty(decide(self._store.household_state(key, addresses, persons))):
            return
        self._store.judge_household(key, addresses, persons, decide, at)
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
    """What the store writes for a Decision: the case if it changed, outreach, partner notices.

    Escalation notices go to municipal roles, not to a partner feed; the judge logs them.
    """
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
    )


def _is_empty(write: CaseWrite) -> bool:
    return (
        write.case is None
        and not write.outreach_add
        and not write.outreach_remove
        and not write.notices
    )


def _contact(c: ContactPoint | None) -> str | None:
    if c is None:
        return None
    return c.contact or c.partner_id


def _facts(signals: Iterable[StoredSignal]) -> list[households.SignalFacts]:
    return [
        households.SignalFacts(
            id=s.received.id,
            address=s.received.signal.address_pseudonym,
            person=s.received.signal.person_pseudonym,
            observed_on=s.received.signal.observed_on,
            received_seq=seq,
        )
        for seq, s in enumerate(signals)
        if s.withdrawn_at is None
    ]


def _active(stored: StoredSignal, household: bytes) -> ActiveSignal:
    r = stored.received
    s = r.signal
    # The hub holds no consent details yet: a signal that reached it left its node lawfully,
    # and no consent-based signal's sender is disclosed to others (disclosure_ok False).
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
    )
