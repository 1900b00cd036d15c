"""The store contract, run against every backend (memory, SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from consent.model import (
    Cell,
    Change,
    ChangeKind,
    Decision,
    Entry,
    EntryState,
    Party,
    Pseudonym,
    Purpose,
    Source,
    Validity,
)
from consent.store.base import ConsentStore, Mutation
from consent.store.sql import SqlConsentStore
from seinhuis.vocabulary import LifeDomain, PartnerType
from tests.consent.conftest import ADULT, CHILD, PARENT, T0, person


def make_entry(
    subject: Pseudonym = ADULT,
    n: int = 1,
    *,
    source: Source | None = None,
    life_domain: LifeDomain | None = LifeDomain.WONEN,
    state: EntryState = EntryState.ACTIVE,
    awaiting: Party | None = None,
    until: dt.datetime | None = None,
) -> Entry:
    return Entry(
        id=n.to_bytes(16, "big"),
        cell=Cell(
            subject,
            source or Source.organisation("woco-oost"),
            life_domain,
            Purpose.DISCLOSURE_TO_REGIEHOUDER,
        ),
        decision=Decision.DENY,
        validity=Validity(T0, until),
        state=state,
        awaiting=awaiting,
        created_at=T0 + dt.timedelta(seconds=n),
        changed_at=T0 + dt.timedelta(seconds=n),
    )


def change(entry: Entry, kind: ChangeKind = ChangeKind.GRANTED, actor: Pseudonym = ADULT) -> Change:
    return Change(
        at=entry.changed_at,
        kind=kind,
        actor=actor,
        party=Party.SUBJECT,
        entry=entry,
        effective=kind in (ChangeKind.GRANTED, ChangeKind.REVOKED),
    )


def put(
    store: ConsentStore, *entries: Entry, kind: ChangeKind = ChangeKind.GRANTED
) -> list[Change]:
    subject = entries[0].cell.subject
    return store.apply(
        subject, lambda _: Mutation(entries, tuple(change(e, kind) for e in entries))
    )


def test_entries_and_changes_round_trip_every_field(store: ConsentStore) -> None:
    """What goes in comes out equal: sources, scopes, open and bounded periods, pending state."""
    a = make_entry(n=1, source=Source.category(PartnerType.POLITIE), life_domain=None)
    b = make_entry(
        n=2,
        state=EntryState.GRANT_PENDING,
        awaiting=Party.PARENT,
        until=T0 + dt.timedelta(days=365),
    )
    stored = put(store, a, b)
    assert store.entries(ADULT) == [a, b]
    assert store.entry(b.id) == b and store.entry(bytes(16)) is None
    assert store.changes_for(ADULT) == stored
    assert [c.entry for c in stored] == [a, b]


def test_cursors_increase_and_resume_exactly(store: ConsentStore) -> None:
    """Each change gets a larger cursor; changes_after(n) gives exactly the later ones."""
    first = put(store, make_entry(n=1))
    rest = put(store, make_entry(n=2), make_entry(n=3))
    cursors = [c.cursor for c in first + rest]
    assert cursors == sorted(cursors) and len(set(cursors)) == 3
    assert store.changes_after(cursors[0]) == rest
    assert store.changes_after(cursors[0], limit=1) == rest[:1]
    assert store.changes_after(cursors[-1]) == []


def test_only_the_mutable_part_of_an_entry_changes(store: ConsentStore) -> None:
    """A later write updates state, awaiting and changed_at; each change keeps its snapshot."""
    entry = make_entry(n=1)
    put(store, entry)
    revoked = dataclasses.replace(
        entry, state=EntryState.REVOKED, changed_at=T0 + dt.timedelta(days=1)
    )
    put(store, revoked, kind=ChangeKind.REVOKED)
    assert store.entries(ADULT) == [revoked]
    log = store.changes_for(ADULT)
    assert [c.entry.state for c in log] == [EntryState.ACTIVE, EntryState.REVOKED]
    assert log[0].entry == entry and log[1].entry == revoked


def test_the_fixed_part_of_a_stored_entry_cannot_change(store: ConsentStore) -> None:
    """Rewriting a stored entry's decision or period is refused, storing nothing."""
    entry = make_entry(n=1)
    put(store, entry)
    rewritten = dataclasses.replace(entry, decision=Decision.PERMIT)
    with pytest.raises(ValueError, match="only an entry's state"):
        put(store, rewritten)
    assert store.entries(ADULT) == [entry] and len(store.changes_after(0)) == 1


def test_a_failing_mutation_stores_nothing(store: ConsentStore) -> None:
    """When mutate raises, neither entries nor changes appear."""
    put(store, make_entry(n=1))
    before = (store.entries(ADULT), store.changes_after(0))

    def boom(_: Sequence[Entry]) -> Mutation:
        raise RuntimeError("refused")

    with pytest.raises(RuntimeError):
        store.apply(ADULT, boom)
    assert (store.entries(ADULT), store.changes_after(0)) == before


def test_a_mutation_may_not_touch_another_person(store: ConsentStore) -> None:
    """Writing another subject's entry through apply(subject) is refused, storing nothing."""
    other = make_entry(CHILD, n=5)
    with pytest.raises(ValueError, match="only touch the subject"):
        store.apply(ADULT, lambda _: Mutation((other,), (change(other),)))
    assert store.entries(CHILD) == [] and store.changes_after(0) == []


def test_mutate_sees_the_persons_entries_only(store: ConsentStore) -> None:
    """apply hands mutate the subject's entries, revoked ones included, nobody else's."""
    put(store, make_entry(ADULT, n=1, state=EntryState.REVOKED))
    put(store, make_entry(CHILD, n=2))
    seen: list[Sequence[Entry]] = []
    store.apply(ADULT, lambda entries: seen.append(entries) or Mutation())  # type: ignore[func-returns-value]
    assert [e.id for e in seen[0]] == [(1).to_bytes(16, "big")]


def test_a_person_under_another_key_version_is_another_person(store: ConsentStore) -> None:
    """Entries are found by pseudonym and key version together."""
    put(store, make_entry(person(4, key_version=1), n=1))
    assert store.entries(person(4, key_version=2)) == []


def test_effective_only_leaves_out_pending_steps(store: ConsentStore) -> None:
    """The Watch view holds grants and revocations that altered a decision, nothing else."""
    pending = make_entry(n=1, state=EntryState.GRANT_PENDING, awaiting=Party.SUBJECT)
    put(store, pending, kind=ChangeKind.GRANT_REQUESTED)
    done = put(store, dataclasses.replace(pending, state=EntryState.ACTIVE, awaiting=None))
    assert store.changes_after(0, effective_only=True) == done
    assert len(store.changes_after(0)) == 2


def test_the_actor_is_kept_with_each_change(store: ConsentStore) -> None:
    """The audit trail names the actor pseudonym of each change."""
    entry = make_entry(CHILD, n=1)
    store.apply(CHILD, lambda _: Mutation((entry,), (change(entry, actor=PARENT),)))
    assert [c.actor for c in store.changes_for(CHILD)] == [PARENT]


def test_a_waiter_wakes_when_a_change_is_appended(store: ConsentStore) -> None:
    """wait_for_changes returns as soon as another thread appends, well before its timeout."""
    got: list[list[Change]] = []
    waiter = threading.Thread(target=lambda: got.append(store.wait_for_changes(0, 10.0)))
    waiter.start()
    time.sleep(0.1)
    started = time.monotonic()
    put(store, make_entry(n=1))
    waiter.join(5)
    assert time.monotonic() - started < 1.0
    assert len(got[0]) == 1


def test_the_sqlite_store_keeps_everything_across_a_restart(tmp_path: Path) -> None:
    """Closed and reopened, the SQLite store has the same entries and continues the cursors."""
    url = f"sqlite:///{tmp_path / 'consent.db'}"
    store = SqlConsentStore(url)
    first = put(store, make_entry(n=1))
    store.close()
    again = SqlConsentStore(url)
    try:
        assert again.changes_after(0) == first
        later = put(again, make_entry(n=2))
        assert later[0].cursor > first[0].cursor
    finally:
        again.close()
