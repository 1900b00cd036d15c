"""The HubStore contract, run against every backend: in-memory, SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.domain import (
    CaseNotice,
    InvolvedContact,
    Notification,
    NotificationKind,
    Parenthood,
    PopulationFact,
    Received,
    ReceivedPopulationFact,
    ReceivedSignal,
    Relocation,
    Residence,
    Touched,
    touched_by,
)
from hub.judgement.model import Case, CaseStatus, Facts
from hub.judgement.model import Outcome as CaseOutcome
from hub.store import HubStore, MemoryHubStore, Outcome, SqlHubStore
from hub.store.base import CaseWrite, HouseholdState, NewNotice, case_id_bytes
from seinhuis.errors import NotFound
from seinhuis.vocabulary import LifeDomain, PartnerType, SignalType, WithdrawReason
from tests.hub.builders import (
    NOW,
    TODAY,
    new_id,
    pseudonym,
    received_arrears,
    received_fact,
    received_signal,
)

#: PostgreSQL is the session's throwaway server (tests/pg.py), or the one named by
#: SEINHUIS_TEST_POSTGRES_URL; each test gets a fresh database on it.
BACKENDS = ["memory", "sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HubStore]:
    """A fresh, empty store of each backend."""
    backend: HubStore
    if request.param == "memory":
        backend = MemoryHubStore()
    elif request.param == "sqlite":
        backend = SqlHubStore(f"sqlite:///{tmp_path / 'hub.db'}")
    else:
        backend = SqlHubStore(request.getfixturevalue("postgres_url"))
    yield backend
    backend.close()


def test_new_items_are_stored_and_reported_stored(store: HubStore) -> None:
    """add_batch stores signals and population facts and answers STORED for each."""
    signal, arrears, fact = received_signal(), received_arrears(), received_fact()
    items: list[Received] = [signal, arrears, fact]
    assert store.add_batch(items) == [Outcome.STORED] * 3
    for expected in (signal, arrears):
        stored = store.get_signal(expected.id)
        assert stored is not None and stored.received == expected
        assert stored.withdrawn_at is None
    assert store.list_population_facts() == [fact]
    assert all(store.is_seen(i.id) for i in items)


def test_seen_ids_are_reported_already_exists_and_not_stored_again(store: HubStore) -> None:
    """An id from an earlier batch, or earlier in the same batch, is ALREADY_EXISTS."""
    first = received_signal()
    store.add_batch([first])
    again = received_signal(message_id=first.id, partner_id="other")
    fresh = received_signal()
    twin = received_signal(message_id=fresh.id)
    assert store.add_batch([again, fresh, twin]) == [
        Outcome.ALREADY_EXISTS,
        Outcome.STORED,
        Outcome.ALREADY_EXISTS,
    ]
    assert store.get_signal(first.id).received == first  # type: ignore[union-attr]
    assert store.get_signal(fresh.id).received == fresh  # type: ignore[union-attr]
    assert len(store.list_signals()) == 2


def test_an_empty_batch_stores_nothing(store: HubStore) -> None:
    """add_batch([]) returns [] and leaves the store empty."""
    assert store.add_batch([]) == []
    assert store.list_signals() == []


def test_unjustified_withdrawal_erases_the_signal_but_keeps_the_id(store: HubStore) -> None:
    """UNJUSTIFIED deletes the content; the id stays seen so a replay is ALREADY_EXISTS."""
    item = received_signal()
    store.add_batch([item])
    store.withdraw(item.partner_id, item.id, WithdrawReason.UNJUSTIFIED, NOW)
    assert store.get_signal(item.id) is None
    assert store.is_seen(item.id)
    assert store.add_batch([item]) == [Outcome.ALREADY_EXISTS]
    assert store.list_signals() == []


def test_resolved_withdrawal_marks_the_signal_withdrawn(store: HubStore) -> None:
    """RESOLVED keeps the signal with the time and reason of withdrawal."""
    item = received_signal()
    store.add_batch([item])
    at = NOW + dt.timedelta(hours=1)
    store.withdraw(item.partner_id, item.id, WithdrawReason.RESOLVED, at)
    stored = store.get_signal(item.id)
    assert stored is not None
    assert stored.withdrawn_at == at
    assert stored.withdraw_reason is WithdrawReason.RESOLVED


def test_a_resolved_signal_can_still_be_erased_but_not_resolved_twice(store: HubStore) -> None:
    """After RESOLVED, another RESOLVED is NotFound and UNJUSTIFIED erases it."""
    item = received_signal()
    store.add_batch([item])
    store.withdraw(item.partner_id, item.id, WithdrawReason.RESOLVED, NOW)
    with pytest.raises(NotFound):
        store.withdraw(item.partner_id, item.id, WithdrawReason.RESOLVED, NOW)
    store.withdraw(item.partner_id, item.id, WithdrawReason.UNJUSTIFIED, NOW)
    assert store.get_signal(item.id) is None


def test_withdrawing_another_partners_or_unknown_signal_is_not_found(store: HubStore) -> None:
    """Only the sender may withdraw; any other id is NotFound and changes nothing."""
    item = received_signal(partner_id="ggd-a")
    fact = received_fact()
    store.add_batch([item, fact])
    for partner, message_id in [("ggd-b", item.id), ("ggd-a", b"\x00" * 16), ("brp", fact.id)]:
        with pytest.raises(NotFound):
            store.withdraw(partner, message_id, WithdrawReason.UNJUSTIFIED, NOW)
    assert store.get_signal(item.id) is not None
    assert store.notifications_after("ggd-b", 0) == []


def test_withdrawals_append_notifications_with_increasing_cursors(store: HubStore) -> None:
    """Each withdrawal appends a SignalWithdrawn; cursors grow per partner from 1."""
    a1, a2, b1 = received_signal(), received_signal(), received_signal(partner_id="ggd-b")
    store.add_batch([a1, a2, b1])
    store.withdraw("ggd-a", a1.id, WithdrawReason.UNJUSTIFIED, NOW)
    store.withdraw("ggd-b", b1.id, WithdrawReason.RESOLVED, NOW)
    store.withdraw("ggd-a", a2.id, WithdrawReason.RESOLVED, NOW)
    feed = store.notifications_after("ggd-a", 0)
    assert [(n.cursor, n.ref_id, n.reason) for n in feed] == [
        (1, a1.id, WithdrawReason.UNJUSTIFIED),
        (2, a2.id, WithdrawReason.RESOLVED),
    ]
    assert all(n.kind is NotificationKind.SIGNAL_WITHDRAWN and n.created_at == NOW for n in feed)
    assert [n.cursor for n in store.notifications_after("ggd-a", 1)] == [2]
    assert [n.ref_id for n in store.notifications_after("ggd-b", 0)] == [b1.id]


def test_waiting_for_notifications_wakes_when_one_is_appended(store: HubStore) -> None:
    """wait_for_notifications returns as soon as a withdrawal commits, well before the timeout."""
    item = received_signal()
    store.add_batch([item])
    timer = threading.Timer(
        0.1, store.withdraw, (item.partner_id, item.id, WithdrawReason.RESOLVED, NOW)
    )
    timer.start()
    started = dt.datetime.now(dt.UTC)
    found = store.wait_for_notifications(item.partner_id, 0, timeout=10)
    timer.join()
    assert [n.ref_id for n in found] == [item.id]
    assert dt.datetime.now(dt.UTC) - started < dt.timedelta(seconds=5)


def test_counts_are_per_partner_and_type(store: HubStore) -> None:
    """count_signals groups by partner and type and separates withdrawn ones."""
    a, b, c = received_signal(), received_signal(), received_arrears()
    store.add_batch([a, b, c, received_fact()])
    store.withdraw(a.partner_id, a.id, WithdrawReason.RESOLVED, NOW)
    counts = {(x.partner_id, x.signal_type): (x.active, x.withdrawn) for x in store.count_signals()}
    assert counts == {
        ("ggd-a", SignalType.ZORGWEKKEND_GEDRAG): (1, 1),
        ("woco-a", SignalType.HUURACHTERSTAND): (1, 0),
    }


def test_signals_are_listed_in_order_of_arrival(store: HubStore) -> None:
    """list_signals orders by received_at and honours the limit."""
    late = received_signal(at=NOW + dt.timedelta(seconds=2))
    early = received_signal(at=NOW)
    store.add_batch([late, early])
    assert [s.received.id for s in store.list_signals()] == [early.id, late.id]
    assert [s.received.id for s in store.list_signals(limit=1)] == [early.id]


def test_concurrent_batches_with_the_same_ids_store_each_id_once(store: HubStore) -> None:
    """Writers racing on overlapping batches store every id exactly once in total."""
    items = [received_signal() for _ in range(200)]
    outcomes: list[list[Outcome]] = []

    def write() -> None:
        outcomes.append(store.add_batch(items))

    threads = [threading.Thread(target=write) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stored_per_item = [sum(o[i] is Outcome.STORED for o in outcomes) for i in range(len(items))]
    assert stored_per_item == [1] * len(items)
    assert len(store.list_signals()) == len(items)


def test_sqlite_batch_survives_reopening(tmp_path: Path) -> None:
    """What add_batch acknowledged is there after the store is closed and opened again."""
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    first = SqlHubStore(url)
    items = [received_signal() for _ in range(5)]
    first.add_batch(items)
    first.close()
    second = SqlHubStore(url)
    assert {s.received.id for s in second.list_signals()} == {i.id for i in items}
    assert second.add_batch(items[:1]) == [Outcome.ALREADY_EXISTS]
    second.close()


# Cases: judge_household reads and writes one household under its lock.


def _at(signal: Received, *, address: bytes, person: bytes | None) -> Received:
    assert isinstance(signal, ReceivedSignal)
    inner = dataclasses.replace(signal.signal, address_pseudonym=address, person_pseudonym=person)
    return dataclasses.replace(signal, signal=inner)


def _case(household: bytes, signal_ids: frozenset[bytes], **changes: Any) -> Case:
    case = Case(
        id="C-" + household.hex()[:20],
        household=household,
        status=CaseStatus.ASSIGNED,
        opened_on=NOW.date(),
        signal_ids=signal_ids,
        involved=frozenset({"ggd-a"}),
        summary=Facts(signals=len(signal_ids), partners=1, life_domains=1),
        life_domains=frozenset({LifeDomain.ZORGEN}),
        regiehouder="team-noord",
        regie_rule="domain_weight",
        deadline=NOW.date() + dt.timedelta(days=7),
    )
    return dataclasses.replace(case, **changes)


def _notice(case_id: bytes, partner_id: str) -> NewNotice:
    return NewNotice(
        partner_id=partner_id,
        kind=NotificationKind.CASE_NOTICE,
        notice=CaseNotice(
            kind="CASE_OPENED",
            case_id=case_id,
            status="ASSIGNED",
            signal_ids=(b"\x01" * 16,),
            regiehouder_contact="Sociaal team Noord, 0800-1234",
            deadline=NOW.date(),
            involved=(InvolvedContact(PartnerType.SCHOOL, "School De Linde", (LifeDomain.LEREN,)),),
        ),
    )


def test_household_signals_finds_by_address_or_person_only(store: HubStore) -> None:
    """Signals at one of the addresses or of one of the persons; others are not returned."""
    home, person, elsewhere = pseudonym(), pseudonym(), pseudonym()
    at_home = _at(received_signal(), address=home, person=None)
    moved = _at(received_signal(at=NOW + dt.timedelta(seconds=1)), address=elsewhere, person=person)
    other = _at(received_signal(), address=elsewhere, person=pseudonym())
    store.add_batch([at_home, moved, other])
    found = store.household_signals([home], [person])
    assert [s.received.id for s in found] == [at_home.id, moved.id]
    assert store.household_signals([], []) == []
    assert [s.received.id for s in store.household_signals([], [person])] == [moved.id]


def test_household_signals_reads_many_addresses_and_people_each_signal_once(
    store: HubStore,
) -> None:
    """More addresses than people, both beyond one query's list: every signal, once, in order."""
    signals = [
        _at(received_signal(at=NOW + dt.timedelta(seconds=i)), address=pseudonym(), person=None)
        for i in range(1_200)
    ]
    of_people = [
        _at(
            received_signal(at=NOW + dt.timedelta(seconds=2_000 + i)),
            address=s.signal.address_pseudonym,
            person=pseudonym(),
        )
        for i, s in enumerate(signals[:700])
    ]
    store.add_batch(signals + of_people)
    found = store.household_signals(
        [s.signal.address_pseudonym for s in signals],
        [s.signal.person_pseudonym for s in of_people if s.signal.person_pseudonym],
    )
    assert [s.received.id for s in found] == [s.id for s in signals + of_people]


def test_judge_household_writes_case_outreach_and_notices_in_one_go(store: HubStore) -> None:
    """decide sees the household's state; its case, outreach ids and notices are stored."""
    home = pseudonym()
    signal = _at(received_signal(), address=home, person=None)
    store.add_batch([signal])
    seen: list[HouseholdState] = []
    case = _case(home, frozenset({signal.id}))
    cid = case_id_bytes(case.id)

    def decide(state: HouseholdState) -> CaseWrite:
        seen.append(state)
        return CaseWrite(
            case=case,
            outreach_add=(signal.id,),
            outreach_rule="wgs",
            notices=(_notice(cid, "ggd-a"), _notice(cid, "team-noord")),
        )

    appended = store.judge_household(home, [home], [], decide, NOW)
    assert seen[0].case is None and [s.received.id for s in seen[0].signals] == [signal.id]
    assert [(n.partner_id, n.cursor, n.ref_id) for n in appended] == [
        ("ggd-a", 1, cid),
        ("team-noord", 1, cid),
    ]
    assert store.notifications_after("team-noord", 0) == [appended[1]]
    assert store.get_case(cid) == case
    assert store.case_signal_ids(cid) == {signal.id}
    assert store.open_cases_by_regiehouder() == {"team-noord": 1}

    def again(state: HouseholdState) -> CaseWrite:
        seen.append(state)
        closed = dataclasses.replace(
            case,
            status=CaseStatus.CLOSED,
            signal_ids=frozenset(),
            outcome=CaseOutcome.UNJUSTIFIED,
            closed_on=NOW.date(),
        )
        return CaseWrite(case=closed, outreach_remove=(signal.id,))

    store.judge_household(home, [home], [], again, NOW + dt.timedelta(hours=1))
    assert seen[1].case == case and seen[1].on_outreach == {signal.id}
    stored = store.get_case(cid)
    assert stored is not None and stored.status is CaseStatus.CLOSED
    assert store.case_signal_ids(cid) == frozenset()
    assert store.open_cases_by_regiehouder() == {}
    [summary] = store.list_cases()
    assert (summary.id, summary.status, summary.outcome, summary.signals) == (
        cid,
        "CLOSED",
        "UNJUSTIFIED",
        0,
    )
    assert store.judge_household(home, [home], [], lambda s: CaseWrite(), NOW) == []


def test_the_latest_case_is_read_and_due_cases_are_listed(store: HubStore) -> None:
    """A household's newest case is the one decide sees; due open cases are found by date."""
    home, other = pseudonym(), pseudonym()
    first = _case(home, frozenset(), deadline=NOW.date() + dt.timedelta(days=1))
    second = dataclasses.replace(_case(home, frozenset()), id="C-second")
    later = _case(other, frozenset(), deadline=NOW.date() + dt.timedelta(days=30))
    for household, case in ((home, first), (home, second), (other, later)):
        store.judge_household(household, [household], [], lambda s, c=case: CaseWrite(case=c), NOW)
    states: list[HouseholdState] = []
    store.judge_household(home, [home], [], lambda s: states.append(s) or CaseWrite(), NOW)
    assert states[0].case == second
    assert store.open_case_households(NOW.date() + dt.timedelta(days=1)) == [home]
    assert sorted(store.open_case_households(NOW.date() + dt.timedelta(days=30))) == sorted(
        [home, other]
    )
    assert [c.ref for c in store.list_cases()][-1] == later.id


def test_concurrent_judgements_of_one_household_do_not_interleave(store: HubStore) -> None:
    """Each decide sees the previous one's write: one case, whatever the arrival order."""
    home = pseudonym()
    opened: list[int] = []

    def decide(state: HouseholdState) -> CaseWrite:
        if state.case is not None:
            return CaseWrite()
        opened.append(1)
        return CaseWrite(case=_case(home, frozenset()))

    threads = [
        threading.Thread(target=store.judge_household, args=(home, [home], [], decide, NOW))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(opened) == 1 and len(store.list_cases()) == 1


def test_household_cases_is_what_judge_household_reads(store: HubStore) -> None:
    """The unlocked first look (case and outreach, for many households at once) equals what
    decide is given under the lock; a household with neither is absent."""
    home, elsewhere = pseudonym(), pseudonym()
    signal = _at(received_signal(), address=home, person=None)
    store.add_batch([signal])
    case = _case(home, frozenset({signal.id}))
    write = CaseWrite(case=case, outreach_add=(signal.id,), outreach_rule="single-arrears")
    store.judge_household(home, [home], [], lambda s: write, NOW)
    seen: list[HouseholdState] = []

    def record(state: HouseholdState) -> CaseWrite:
        seen.append(state)
        return CaseWrite()

    store.judge_household(home, [home], [], record, NOW)
    found = store.household_cases([home, elsewhere])
    assert set(found) == {home}
    assert found[home].case == seen[0].case == case
    assert found[home].on_outreach == seen[0].on_outreach == {signal.id}


def test_population_facts_about_finds_residents_moves_and_parents_only(store: HubStore) -> None:
    home, other, parent, child, stranger = (pseudonym() for _ in range(5))
    lives = _fact(Residence(person_pseudonym=parent, address_pseudonym=home, since=TODAY))
    moved = _fact(Relocation(person_pseudonym=child, to_address_pseudonym=other, on=TODAY))
    kin = _fact(Parenthood(parent_pseudonym=parent, child_pseudonym=child))
    unrelated = _fact(Residence(person_pseudonym=stranger, address_pseudonym=other, since=None))
    store.add_batch([lives, moved, kin, unrelated])

    def ids(addresses: list[bytes], persons: list[bytes]) -> set[bytes]:
        return {f.id for f in store.population_facts_about(addresses, persons)}

    assert ids([home], []) == {lives.id}
    assert ids([], [child]) == {moved.id, kin.id}
    assert ids([home], [parent]) == {lives.id, kin.id}
    assert ids([other], []) == {moved.id, unrelated.id}
    assert ids([pseudonym()], [pseudonym()]) == set()


def _fact(event: Residence | Relocation | Parenthood) -> ReceivedPopulationFact:
    return ReceivedPopulationFact(
        id=new_id(), partner_id="brp", received_at=NOW, fact=PopulationFact(1, event)
    )


def test_stored_and_withdrawn_items_queue_their_households_for_judgement(
    store: HubStore,
) -> None:
    """The queue is written with the items, so a crash before judging loses no judgement."""
    signal, fact = received_signal(), received_fact()
    store.add_batch([signal, fact, signal])  # the duplicate queues nothing more
    pending = store.pending_judgements(10)
    assert [t for _, t in pending] == touched_by([signal, fact])
    assert [seq for seq, _ in pending] == sorted(seq for seq, _ in pending)
    assert store.pending_judgements(1) == pending[:1]

    store.judgements_done([seq for seq, _ in pending] + [10_000])
    assert store.pending_judgements(10) == []
    store.withdraw(signal.partner_id, signal.id, WithdrawReason.UNJUSTIFIED, NOW)
    store.queue_judgement([Touched(fact.fact.event.address_pseudonym, None)])  # type: ignore[union-attr]
    assert [t for _, t in store.pending_judgements(10)] == [
        *touched_by([signal]),
        Touched(fact.fact.event.address_pseudonym, None),  # type: ignore[union-attr]
    ]


def test_two_judges_never_claim_the_same_entries_until_a_claim_runs_out(store: HubStore) -> None:
    """Hub processes sharing one database share the queue: each entry goes to one judge; a
    judge that died leaves its entries to the others once its claim has run out."""
    store.add_batch([received_signal() for _ in range(5)])
    lease = dt.timedelta(minutes=2)
    first = store.claim_judgements("judge-a", 3, NOW, lease)
    second = store.claim_judgements("judge-b", 3, NOW, lease)
    assert len(first) == 3 and len(second) == 2
    assert not {seq for seq, _ in first} & {seq for seq, _ in second}
    assert store.claim_judgements("judge-b", 3, NOW, lease) == []
    assert len(store.pending_judgements(10)) == 5  # claimed is not judged

    store.judgements_done([seq for seq, _ in second])
    later = NOW + lease + dt.timedelta(seconds=1)  # judge-a died holding its claim
    assert store.claim_judgements("judge-b", 10, later, lease) == first


def test_a_claim_first_removes_what_the_judge_finished(store: HubStore) -> None:
    """A busy judge hands back its judged entries with its next claim: they are gone, the
    next entries are claimed, and with nothing left to claim the judged ones still go."""
    store.add_batch([received_signal() for _ in range(5)])
    lease = dt.timedelta(minutes=2)
    first = store.claim_judgements("judge-a", 3, NOW, lease)
    second = store.claim_judgements("judge-a", 3, NOW, lease, done=[s for s, _ in first])
    assert len(second) == 2
    assert store.pending_judgements(10) == second
    assert store.claim_judgements("judge-a", 3, NOW, lease, done=[s for s, _ in second]) == []
    assert store.pending_judgements(10) == []


def test_a_rekey_moves_cases_outreach_and_queued_places_with_their_pseudonyms(
    store: HubStore,
) -> None:
    """After an OPRF rotation a household keeps its case (and so its regiehouder): the case's
    and the outreach entry's household key, and places still queued, follow the re-key."""
    home, person = pseudonym(), pseudonym()
    signal = _at(received_signal(), address=home, person=person)
    store.add_batch([signal])
    case = _case(home, frozenset({signal.id}))
    write = CaseWrite(case=case, outreach_add=(signal.id,), outreach_rule="single-arrears")
    store.judge_household(home, [home], [person], lambda s: write, NOW)
    new = {home: pseudonym(), person: pseudonym()}

    assert store.rekey(1, 2, lambda _kind, p: new[p]) == 1

    moved = store.household_cases([new[home], home])
    assert set(moved) == {new[home]}, "the case and outreach entry follow the address"
    assert moved[new[home]].case == dataclasses.replace(case, household=new[home])
    assert moved[new[home]].on_outreach == {signal.id}
    assert [t for _, t in store.pending_judgements(10)] == [Touched(new[home], new[person])]
    states: list[HouseholdState] = []
    store.judge_household(
        new[home], [new[home]], [new[person]], lambda s: states.append(s) or CaseWrite(), NOW
    )
    assert states[0].case == moved[new[home]].case
    assert [s.received.id for s in states[0].signals] == [signal.id]


def test_after_a_restore_feeds_continue_past_every_cursor_the_lost_period_issued(
    store: HubStore,
) -> None:
    """A node resumes its feed after the last cursor it saw, which a hub restored from an older
    backup never issued; raised floors make the next notices land after it all the same."""
    home = pseudonym()
    cid = case_id_bytes("C-" + home.hex()[:20])

    def notify(partner: str) -> Notification:
        [n] = store.judge_household(
            home, [home], [], lambda s: CaseWrite(notices=(_notice(cid, partner),)), NOW
        )
        return n

    assert [notify("ggd-a").cursor for _ in range(3)] == [1, 2, 3]
    assert store.newest_received_at() is None
    store.add_batch([received_signal()])
    assert store.newest_received_at() == NOW

    assert store.raise_feed_floors(["ggd-a", "school-b"], 1000) == {"ggd-a": 1003, "school-b": 1000}
    after = notify("ggd-a")
    assert after.cursor == 1004
    assert store.notifications_after("ggd-a", 7) == [after]  # a node that saw up to 7 before
    assert notify("school-b").cursor == 1001
    # A second restore moves on from there.
    assert store.raise_feed_floors(["ggd-a"], 1000) == {"ggd-a": 2004}
