"""The hub's judge: households touched by intake are judged in one transaction under their lock."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.domain import (
    Arrears,
    NotificationKind,
    ReceivedSignal,
    Signal,
    Touched,
    touched_by,
)
from hub.judge import Judge
from hub.judgement import policy
from hub.judgement.model import CaseStatus, EscalationLevel
from hub.registry import Partner, Registry
from hub.resident import RegiehouderChoice, RegiePreference
from hub.store import HubStore, MemoryHubStore, SqlHubStore
from seinhuis.vocabulary import (
    LegalBasis,
    LifeDomain,
    PartnerType,
    SignalType,
    Urgency,
    WithdrawReason,
)
from tests.hub.builders import new_id, pseudonym

MONDAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
POLICIES = policy.load()


def _partner(pid: str, ptype: PartnerType, contact: str, capacity: int | None) -> Partner:
    return Partner(
        id=pid,
        type=ptype,
        certificate_cn=pid,
        keys=(),
        contact_point=contact,
        can_coordinate=capacity is not None,
        capacity=capacity or 0,
    )


REGISTRY = Registry(
    hub_id="hub",
    partners={
        p.id: p
        for p in (
            _partner("team-noord", PartnerType.SOCIAAL_TEAM, "Sociaal team Noord, 0800-1234", 50),
            _partner("school-a", PartnerType.SCHOOL, "School De Linde, zorgcoordinator", 10),
            _partner("huisarts-a", PartnerType.HUISARTS, "Huisartsenpraktijk Oost", None),
            _partner("woco-a", PartnerType.WONINGCORPORATIE, "Woonstede, team incasso", 10),
            _partner("ggd-a", PartnerType.GGD, "GGD meldpunt", 10),
        )
    },
)

KINDS = {
    "school-a": (PartnerType.SCHOOL, SignalType.SCHOOLVERZUIM, LifeDomain.LEREN),
    "huisarts-a": (
        PartnerType.HUISARTS,
        SignalType.ZORGSIGNAAL_HUISARTS,
        LifeDomain.ZORGEN,
    ),
    "woco-a": (PartnerType.WONINGCORPORATIE, SignalType.HUURACHTERSTAND, LifeDomain.RONDKOMEN),
    "ggd-a": (PartnerType.GGD, SignalType.ZORGWEKKEND_GEDRAG, LifeDomain.ZORGEN),
}
BASIS = {
    SignalType.SCHOOLVERZUIM: LegalBasis.JEUGDWET_VERWIJSINDEX,
    SignalType.ZORGSIGNAAL_HUISARTS: LegalBasis.TOESTEMMING,
    SignalType.HUURACHTERSTAND: LegalBasis.WGS_VROEGSIGNALERING,
    SignalType.ZORGWEKKEND_GEDRAG: LegalBasis.TOESTEMMING,
}


def signal(partner_id: str, address: bytes, person: bytes | None) -> ReceivedSignal:
    ptype, stype, domain = KINDS[partner_id]
    arrears = Arrears(120000, 3, True, True) if stype is SignalType.HUURACHTERSTAND else None
    return ReceivedSignal(
        id=new_id(),
        partner_id=partner_id,
        partner_type=ptype,
        received_at=MONDAY,
        signal=Signal(
            signal_type=stype,
            life_domain=domain,
            urgency=Urgency.NORMAAL,
            legal_basis=BASIS[stype],
            observed_on=MONDAY.date(),
            keep_until=MONDAY.date() + dt.timedelta(days=400),
            person_pseudonym=person,
            address_pseudonym=address,
            key_version=1,
            arrears=arrears,
        ),
    )


class Clock:
    def __init__(self) -> None:
        self.now = MONDAY

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HubStore]:
    backend: HubStore = (
        MemoryHubStore() if request.param == "memory" else SqlHubStore(f"sqlite:///{tmp_path}/h.db")
    )
    yield backend
    backend.close()


def arrive(store: HubStore, judge: Judge, *items: ReceivedSignal) -> None:
    store.add_batch(list(items))
    judge.judge(touched_by(items))


def test_one_household_four_partners_gives_one_case_one_regiehouder(store: HubStore) -> None:
    """Two school signals (two children), a GP's and a landlord's: one case, one regiehouder;
    each involved partner learns its own signals, the regiehouder and the deadline; nobody but
    the GP learns of the GP."""
    clock = Clock()
    judge = Judge(store, REGISTRY, POLICIES, clock=clock)
    home, child1, child2, parent = pseudonym(), pseudonym(), pseudonym(), pseudonym()
    signals = [
        signal("school-a", home, child1),
        signal("school-a", home, child2),
        signal("huisarts-a", home, parent),
        signal("woco-a", home, None),
    ]
    for s in signals:
        arrive(store, judge, s)
    [summary] = store.list_cases()
    case = store.get_case(summary.id)
    assert case is not None and case.regiehouder is not None
    assert store.case_signal_ids(summary.id) == {s.id for s in signals}
    contact = REGISTRY.partners[case.regiehouder].contact_point
    for pid in ("school-a", "huisarts-a", "woco-a"):
        notices = [n for n in store.notifications_after(pid, 0) if n.case is not None]
        assert notices, pid
        last = notices[-1].case
        assert last is not None and last.case_id == summary.id
        assert last.regiehouder_contact == contact and last.deadline == case.deadline
        own = {s.id for s in signals if s.partner_id == pid}
        assert set(last.signal_ids) == own
    for pid in REGISTRY.partners:
        for n in store.notifications_after(pid, 0):
            assert n.case is not None
            assert all(i.partner_type is not PartnerType.HUISARTS for i in n.case.involved)
    briefings = [
        n
        for n in store.notifications_after(case.regiehouder, 0)
        if n.kind is NotificationKind.REGIEHOUDER_BRIEFING
    ]
    assert briefings and briefings[-1].case is not None
    assert briefings[-1].case.involved  # the other disclosable partners


def test_existing_regiehouder_is_kept_and_withdrawal_rejudges(store: HubStore) -> None:
    """A new signal joins the case under the same regiehouder; an unjustified withdrawal is
    erased and the case re-judged without it."""
    clock = Clock()
    judge = Judge(store, REGISTRY, POLICIES, clock=clock)
    home, child = pseudonym(), pseudonym()
    school, woco = signal("school-a", home, child), signal("woco-a", home, None)
    arrive(store, judge, school, woco)
    [summary] = store.list_cases()
    first = store.get_case(summary.id)
    assert first is not None and first.regiehouder is not None
    clock.now += dt.timedelta(hours=2)
    ggd = signal("ggd-a", home, child)
    arrive(store, judge, ggd)
    later = store.get_case(summary.id)
    assert later is not None and later.regiehouder == first.regiehouder
    assert ggd.id in store.case_signal_ids(summary.id)
    stored = store.get_signal(woco.id)
    assert stored is not None
    store.withdraw("woco-a", woco.id, WithdrawReason.UNJUSTIFIED, clock())
    judge.judge(touched_by([stored.received]))
    assert store.get_signal(woco.id) is None
    assert woco.id not in store.case_signal_ids(summary.id)
    left = {s.received.id for s in store.household_signals([home], [child])}
    assert left == {school.id, ggd.id}


def test_concurrent_arrivals_for_one_household_give_one_case(store: HubStore) -> None:
    """Judged on many threads at once, one household still gets one case and one regiehouder."""
    judge = Judge(store, REGISTRY, POLICIES, clock=Clock())
    home = pseudonym()
    signals = [signal("school-a", home, pseudonym()) for _ in range(3)]
    signals += [signal("woco-a", home, None), signal("ggd-a", home, pseudonym())]
    store.add_batch(signals)
    threads = [
        threading.Thread(target=judge.judge, args=([Touched(home, s.signal.person_pseudonym)],))
        for s in signals
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.list_cases()) == 1


def test_the_worker_judges_after_submit_and_flush(store: HubStore) -> None:
    """submit returns at once; the worker thread judges; flush waits for it."""
    judge = Judge(store, REGISTRY, POLICIES, clock=Clock(), check_interval_s=0.05)
    judge.start()
    try:
        home = pseudonym()
        items = [signal("school-a", home, pseudonym()), signal("woco-a", home, None)]
        store.add_batch(items)
        judge.submit(touched_by(items))
        judge.flush()
        assert len(store.list_cases()) == 1
    finally:
        judge.stop()


def test_a_judge_told_through_a_shared_event_looks_at_once(tmp_path: Path) -> None:
    """A judge in its own process shares an event with the hub's intake: set after queuing,
    the judge looks now rather than at its next poll (a minute here)."""
    wake = multiprocessing.get_context("spawn").Event()
    store = SqlHubStore(f"sqlite:///{tmp_path}/h.db")
    judge = Judge(store, REGISTRY, POLICIES, clock=Clock(), poll_s=60.0, wake=wake)
    judge.start()
    try:
        time.sleep(0.5)  # the judge found its queue empty and waits
        home = pseudonym()
        store.add_batch([signal("school-a", home, pseudonym()), signal("woco-a", home, None)])
        wake.set()
        deadline = time.monotonic() + 10
        while not store.list_cases() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(store.list_cases()) == 1
    finally:
        judge.stop()
        store.close()


class _ClaimLog(SqlHubStore):
    """A store that notes each claim: (entries it removed as judged, entries it claimed)."""

    claims: list[tuple[int, int]]

    def claim_judgements(self, *args, done=(), **kwargs):  # type: ignore[no-untyped-def]
        claimed = super().claim_judgements(*args, done=done, **kwargs)
        self.claims.append((len(done), len(claimed)))
        return claimed


def _until(check, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.02)
    return bool(check())


def test_a_busy_judge_removes_a_batch_with_its_next_claim(tmp_path: Path) -> None:
    """Batches that come close together cost the judge one queue write each: the judged
    entries stay (no longer than linger_s) for the next claim to remove; then they go."""
    store = _ClaimLog(f"sqlite:///{tmp_path}/h.db")
    store.claims = []
    judge = Judge(store, REGISTRY, POLICIES, clock=Clock(), poll_s=60.0, linger_s=5.0)
    judge.start()
    try:
        for n in (1, 2):
            home = pseudonym()
            pair = [signal("school-a", home, pseudonym()), signal("woco-a", home, None)]
            store.add_batch(pair)
            judge.wake()
            assert _until(lambda n=n: len(store.list_cases()) == n)
        # Both batches judged; the second claim removed the first batch as it claimed.
        writes = [c for c in store.claims if c != (0, 0)]  # (0, 0): a look at an empty queue
        assert writes == [(0, 2), (2, 2)]
        # Nothing came after the second: its entries go once linger_s has passed.
        assert _until(lambda: not store.pending_judgements(10))
        assert [c for c in store.claims if c != (0, 0)] == [(0, 2), (2, 2), (2, 0)]
    finally:
        judge.stop()
        store.close()


def test_a_judge_behind_a_backlog_claims_on_without_being_woken(tmp_path: Path) -> None:
    """A full batch leaves more in the queue: the judge claims the next at once rather than
    wait to be woken (a burst's intake may have stopped committing by then)."""
    store = SqlHubStore(f"sqlite:///{tmp_path}/h.db")
    judge = Judge(
        store, REGISTRY, POLICIES, clock=Clock(), poll_s=60.0, linger_s=60.0, batch_size=2
    )
    try:
        for _ in range(3):
            home = pseudonym()
            store.add_batch([signal("school-a", home, pseudonym()), signal("woco-a", home, None)])
        judge.start()
        judge.wake()  # once, for six entries in three batches
        assert _until(lambda: len(store.list_cases()) == 3, timeout=10)
    finally:
        judge.stop()
        store.close()


class _LoadLog(MemoryHubStore):
    """A store that counts how often the coordinators' loads are read."""

    loads_read = 0

    def open_cases_by_regiehouder(self) -> dict[str, int]:
        self.loads_read += 1
        return super().open_cases_by_regiehouder()


def test_loads_are_read_only_for_a_batch_that_writes_a_case() -> None:
    """Most batches hold lone signals that change nothing: they cost no count of every open
    case by regiehouder. A batch that opens a case reads the loads once."""
    store = _LoadLog()
    judge = Judge(store, REGISTRY, POLICIES, clock=Clock())
    arrive(store, judge, *(signal("school-a", pseudonym(), pseudonym()) for _ in range(10)))
    assert store.loads_read == 0
    homes = [pseudonym(), pseudonym()]
    arrive(
        store,
        judge,
        *(signal(p, h, None if p == "woco-a" else pseudonym()) for h in homes for p in KINDS),
    )
    assert len(store.list_cases()) == 2
    assert store.loads_read == 1


def test_what_was_stored_before_a_crash_is_judged_after_the_restart(tmp_path: Path) -> None:
    """The judgement queue is written with the signals: a hub that died before judging them
    (nothing was judged here) leaves them to the next judge on the same database."""
    url = f"sqlite:///{tmp_path}/crashed.db"
    first = SqlHubStore(url)
    home = pseudonym()
    first.add_batch([signal("school-a", home, pseudonym()), signal("woco-a", home, None)])
    first.close()  # the process ends here; no judge ever ran

    store = SqlHubStore(url)
    judge = Judge(store, REGISTRY, POLICIES, clock=Clock())
    judge.start()
    try:
        judge.flush()
        assert len(store.list_cases()) == 1
        assert store.pending_judgements(10) == []
    finally:
        judge.stop()
        store.close()


def test_a_stalled_case_escalates_on_its_deadline() -> None:
    """Nobody took the case up by its deadline: the periodic check escalates it."""
    store = MemoryHubStore()
    clock = Clock()
    judge = Judge(store, REGISTRY, POLICIES, clock=clock)
    home = pseudonym()
    arrive(store, judge, signal("school-a", home, pseudonym()), signal("woco-a", home, None))
    [summary] = store.list_cases()
    case = store.get_case(summary.id)
    assert case is not None and case.deadline is not None
    assert case.escalation is EscalationLevel.NONE
    judge.check_deadlines()
    assert store.get_case(summary.id) == case  # not due yet
    clock.now = dt.datetime.combine(case.deadline + dt.timedelta(days=1), dt.time(9), tzinfo=dt.UTC)
    judge.check_deadlines()
    escalated = store.get_case(summary.id)
    assert escalated is not None and escalated.escalation is EscalationLevel.PROCESREGISSEUR
    assert escalated.status is CaseStatus.ESCALATED
    assert escalated.regiehouder == case.regiehouder


def test_a_stated_preference_chooses_the_regiehouder(store: HubStore) -> None:
    """A resident who asked for the social team gets it; the household next door, with the
    same signals and no preference, gets the partner the domain weights choose."""
    judge = Judge(store, REGISTRY, POLICIES, clock=Clock())
    chosen = {}
    for prefers in (False, True):
        home, child = pseudonym(), pseudonym()
        if prefers:
            store.set_preference(RegiePreference(child, 1, RegiehouderChoice.SOCIAAL_TEAM, MONDAY))
        arrive(store, judge, signal("school-a", home, child), signal("woco-a", home, None))
        [case] = [c for c in store.list_cases() if c.regiehouder not in chosen.values()][:1]
        chosen[prefers] = case.regiehouder
    assert chosen[True] == "team-noord"
    assert chosen[False] != "team-noord"
