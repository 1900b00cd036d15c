"""The hub store's promises about consent and residents (hub/store/resident_base.py), on every
backend: memory, SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from consent.model import Pseudonym, Purpose, Source
from hub.consent_check import ConsentNarrowing
from hub.domain import ReceivedSignal
from hub.resident import (
    Objection,
    ObjectionParty,
    ObjectionReason,
    RegiehouderChoice,
    RegiePreference,
)
from hub.store import HubStore, MemoryHubStore, SqlHubStore
from seinhuis.errors import AlreadyExists
from seinhuis.vocabulary import LegalBasis, LifeDomain, PartnerType, SignalType, WithdrawReason
from tests.hub.builders import NOW, received_signal


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HubStore]:
    backend: HubStore
    if request.param == "memory":
        backend = MemoryHubStore()
    elif request.param == "sqlite":
        backend = SqlHubStore(f"sqlite:///{tmp_path / 'hub.db'}")
    else:
        backend = SqlHubStore(request.getfixturevalue("postgres_url"))
    yield backend
    backend.close()


def consent_signal(
    *, at: dt.datetime = NOW, until: dt.datetime | None = None, partner_id: str = "ggd-a"
) -> ReceivedSignal:
    """A consent-based signal as intake stores it: with its verified receipt."""
    return dataclasses.replace(
        received_signal(at=at, partner_id=partner_id),
        consent_receipt_id=os.urandom(16),
        consent_until=until,
    )


def statute_signal(*, at: dt.datetime = NOW) -> ReceivedSignal:
    """A school's signal under the Jeugdwet: no consent, the resident is told."""
    r = received_signal(at=at, partner_id="school-a")
    return dataclasses.replace(
        r,
        partner_type=PartnerType.SCHOOL,
        signal=dataclasses.replace(
            r.signal,
            signal_type=SignalType.SCHOOLVERZUIM,
            life_domain=LifeDomain.LEREN,
            legal_basis=LegalBasis.JEUGDWET_VERWIJSINDEX,
        ),
    )


# --- consent ------------------------------------------------------------------------------------


def test_a_signal_whose_consent_ended_stays_stored_and_is_marked_once(store: HubStore) -> None:
    gp, school = consent_signal(), statute_signal()
    store.add_batch([gp, school])
    later = NOW + dt.timedelta(hours=1)
    marked = store.mark_consent_lost([gp.id, school.id, os.urandom(16)], NOW)
    # Only the consent-based one; a statute-based or unknown id is left alone.
    assert marked == [gp.id]
    assert store.mark_consent_lost([gp.id], later) == []
    stored = store.get_signal(gp.id)
    assert stored is not None and stored.consent_lost_at == NOW
    assert stored.received.consent_receipt_id == gp.consent_receipt_id
    assert {s.received.id for s in store.list_signals()} == {gp.id, school.id}


def test_receipts_that_run_out_are_found_until_marked(store: HubStore) -> None:
    soon = consent_signal(until=NOW + dt.timedelta(days=1))
    later = consent_signal(until=NOW + dt.timedelta(days=30))
    forever = consent_signal()
    store.add_batch([soon, later, forever])
    by = NOW + dt.timedelta(days=2)
    assert [s.received.id for s in store.consent_running_out(by)] == [soon.id]
    store.mark_consent_lost([soon.id], by)
    assert store.consent_running_out(by) == []
    found = store.consent_running_out(NOW + dt.timedelta(days=31))
    assert [s.received.id for s in found] == [later.id]
    assert found[0].received.consent_until == NOW + dt.timedelta(days=30)


def test_the_consent_cursor_only_moves_forward(store: HubStore) -> None:
    assert store.consent_cursor() == 0
    store.set_consent_cursor(7)
    store.set_consent_cursor(3)
    assert store.consent_cursor() == 7
    store.set_consent_cursor(9)
    assert store.consent_cursor() == 9


def test_narrowings_are_kept_and_read_back_since_a_moment(store: HubStore) -> None:
    person = Pseudonym(os.urandom(32), 2)
    old = ConsentNarrowing(
        person, NOW, Source.category(PartnerType.HUISARTS), LifeDomain.ZORGEN, Purpose.SIGNALERING
    )
    new = ConsentNarrowing(
        person,
        NOW + dt.timedelta(hours=1),
        Source.organisation("huisarts-1"),
        None,
        Purpose.SIGNALERING,
    )
    store.add_consent_narrowing(new)
    store.add_consent_narrowing(old)
    assert store.consent_narrowings_since(NOW - dt.timedelta(days=1)) == [old, new]
    assert store.consent_narrowings_since(NOW + dt.timedelta(minutes=1)) == [new]


# --- statute notices ------------------------------------------------------------------------------


def test_every_statute_signal_gets_one_notice_in_cursor_order(store: HubStore) -> None:
    first, second = statute_signal(), statute_signal(at=NOW + dt.timedelta(seconds=1))
    gp = consent_signal()
    store.add_batch([first, gp, second])
    assert store.sweep_statute_notices(NOW) == 2
    assert store.sweep_statute_notices(NOW) == 0  # however often it runs
    notices = store.statute_notices_after(0)
    assert [n.signal.received.id for n in notices] == [first.id, second.id]
    assert notices[0].cursor < notices[1].cursor
    assert store.statute_notices_after(notices[0].cursor) == notices[1:]
    # A signal committed late (received before the newest noticed one) is still found.
    late = statute_signal(at=NOW - dt.timedelta(minutes=1))
    store.add_batch([late])
    assert store.sweep_statute_notices(NOW) == 1
    assert store.statute_notices_after(notices[1].cursor)[0].signal.received.id == late.id


def test_a_notice_of_an_erased_signal_tells_nothing(store: HubStore) -> None:
    kept, erased = statute_signal(), statute_signal(at=NOW + dt.timedelta(seconds=1))
    store.add_batch([kept, erased])
    store.sweep_statute_notices(NOW)
    store.withdraw("school-a", erased.id, WithdrawReason.UNJUSTIFIED, NOW)
    assert [n.signal.received.id for n in store.statute_notices_after(0)] == [kept.id]


# --- objections and preferences -----------------------------------------------------------------


def objection(signal: ReceivedSignal, objection_id: bytes | None = None) -> Objection:
    assert signal.signal.person_pseudonym is not None
    return Objection(
        id=objection_id or os.urandom(16),
        signal_id=signal.id,
        subject=signal.signal.person_pseudonym,
        key_version=signal.signal.key_version,
        made_by=ObjectionParty.PARENT,
        reason=ObjectionReason.INCORRECT,
        signal_type=signal.signal.signal_type,
        partner_type=signal.partner_type,
        legal_basis=signal.signal.legal_basis,
        created_at=NOW,
    )


def test_one_open_objection_per_signal_and_person_on_the_review_list(store: HubStore) -> None:
    school = statute_signal()
    first = objection(school)
    assert store.add_objection(first) == first
    assert store.add_objection(dataclasses.replace(first, reason=ObjectionReason.OTHER)) == first
    with pytest.raises(AlreadyExists):
        store.add_objection(objection(school))
    other = objection(statute_signal())
    store.add_objection(dataclasses.replace(other, created_at=NOW + dt.timedelta(hours=1)))
    assert [o.id for o in store.open_objections()] == [first.id, other.id]


def test_a_person_has_one_preference_which_can_be_cleared(store: HubStore) -> None:
    me, partner = os.urandom(32), os.urandom(32)
    store.set_preference(RegiePreference(me, 1, RegiehouderChoice.SELF, NOW))
    later = RegiePreference(
        me,
        1,
        RegiehouderChoice.KNOWN_ORGANISATION,
        NOW + dt.timedelta(hours=1),
        PartnerType.WELZIJN,
    )
    store.set_preference(later)
    theirs = RegiePreference(partner, 1, RegiehouderChoice.SOCIAAL_TEAM, NOW)
    store.set_preference(theirs)
    assert store.preferences_of([me, partner]) == [theirs, later]
    assert store.clear_preference(me) is True
    assert store.clear_preference(me) is False
    assert store.preferences_of([me]) == []


def test_a_rekey_keeps_narrowings_under_both_keys_and_moves_objections_and_preferences(
    store: HubStore,
) -> None:
    """After an OPRF rotation a revocation still voids receipts about the person (under either
    key), an objection still names them and their preferred regiehouder still counts."""
    school = statute_signal()
    person = school.signal.person_pseudonym
    assert person is not None and school.signal.key_version == 1
    store.add_batch([school])
    narrowing = ConsentNarrowing(
        Pseudonym(person, 1), NOW, Source.category(PartnerType.HUISARTS), None, Purpose.SIGNALERING
    )
    store.add_consent_narrowing(narrowing)
    store.add_objection(objection(school))
    store.set_preference(RegiePreference(person, 1, RegiehouderChoice.SELF, NOW))
    new = os.urandom(32)
    moves = {person: new, school.signal.address_pseudonym: os.urandom(32)}

    store.rekey(1, 2, lambda _kind, p: moves[p])

    # The revocation voids receipts signed before the rotation and after it.
    assert store.consent_narrowings_since(NOW - dt.timedelta(days=1)) == [
        narrowing,
        dataclasses.replace(narrowing, subject=Pseudonym(new, 2)),
    ]
    store.rekey(1, 2, lambda _kind, p: moves[p])  # again, for late deliveries: no more copies
    assert len(store.consent_narrowings_since(NOW - dt.timedelta(days=1))) == 2
    [kept] = store.open_objections()
    assert (kept.subject, kept.key_version) == (new, 2)
    assert [(p.person, p.key_version) for p in store.preferences_of([new])] == [(new, 2)]
    assert store.preferences_of([person]) == []
