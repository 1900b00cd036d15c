"""Household matching from pseudonyms: people at one address, moves, institutions, families."""

from __future__ import annotations

import datetime as dt
import os

from hub.households import (
    Death,
    Parenthood,
    Population,
    Residence,
    SignalFacts,
    group,
)

D = dt.date(2026, 10, 1)


def p() -> bytes:
    return os.urandom(32)


def test_signals_about_children_parent_and_address_form_one_household() -> None:
    """Two children (school), a parent (huisarts) and the address (woco) end up in one household."""
    home, parent, child1, child2 = p(), p(), p(), p()
    signals = [
        SignalFacts(b"s1", home, child1, D),
        SignalFacts(b"s2", home, child2, D),
        SignalFacts(b"s3", home, parent, D),
        SignalFacts(b"s4", home, None, D),
    ]
    view = group(signals, Population(), frozenset())
    assert len(view.households) == 1
    assert set(view.households[0].signal_ids) == {b"s1", b"s2", b"s3", b"s4"}
    assert view.households[0].members == {parent, child1, child2}


def test_care_home_residents_are_not_one_household() -> None:
    """Unrelated residents of an institution address each form their own unit."""
    care_home, a, b = p(), p(), p()
    signals = [SignalFacts(b"a", care_home, a, D), SignalFacts(b"b", care_home, b, D)]
    view = group(signals, Population(), frozenset({care_home}))
    assert len(view.households) == 2
    assert all(h.at_institution for h in view.households)
    assert {h.members for h in view.households} == {frozenset({a}), frozenset({b})}


def test_a_move_in_the_register_carries_signals_along() -> None:
    """After a relocation, the person's earlier signals belong to the new household."""
    old, new, person, partner_at_new = p(), p(), p(), p()
    population = Population.of(
        [Residence(person, old, dt.date(2020, 1, 1)), Residence(partner_at_new, new, D)]
    )
    signals = [SignalFacts(b"old", old, person, D), SignalFacts(b"there", new, partner_at_new, D)]
    assert len(group(signals, population, frozenset()).households) == 2
    population.apply(Residence(person, new, dt.date(2026, 11, 1)))
    view = group(signals, population, frozenset())
    assert len(view.households) == 1
    assert view.households[0].key == new
    assert set(view.households[0].signal_ids) == {b"old", b"there"}


def test_without_register_a_person_lives_at_their_newest_signal_address() -> None:
    """Without a BRP feed, a person's newest signal says where their household is."""
    old, new, person = p(), p(), p()
    signals = [
        SignalFacts(b"early", old, person, dt.date(2026, 1, 1)),
        SignalFacts(b"late", new, person, dt.date(2026, 6, 1)),
        SignalFacts(b"address-only", old, None, dt.date(2026, 2, 1)),
    ]
    view = group(signals, Population(), frozenset())
    assert view.household_of_signal(b"early") == view.household_of_signal(b"late")
    assert view.household_of_signal(b"address-only") != view.household_of_signal(b"late")


def test_an_older_residence_never_overrides_a_newer_one() -> None:
    """Facts arriving out of order keep the newest residence."""
    a, b, person = p(), p(), p()
    population = Population.of(
        [Residence(person, b, dt.date(2026, 5, 1)), Residence(person, a, dt.date(2025, 1, 1))]
    )
    assert population.residence[person].address == b


def test_parent_and_child_at_different_addresses_are_a_family_link() -> None:
    """A child living elsewhere than a parent links the two households."""
    home_parent, home_child, parent, child = p(), p(), p(), p()
    population = Population.of(
        [
            Residence(parent, home_parent, D),
            Residence(child, home_child, D),
            Parenthood(parent, child),
        ]
    )
    signals = [SignalFacts(b"x", home_parent, parent, D), SignalFacts(b"y", home_child, child, D)]
    view = group(signals, population, frozenset())
    assert len(view.households) == 2
    assert len(view.family_links) == 1
    link = view.family_links[0]
    assert (link.parent_household, link.child_household) == (home_parent, home_child)


def test_register_residents_without_signals_are_members_but_the_deceased_are_not() -> None:
    """A household lists its living registered residents, not only those with signals."""
    home, with_signal, quiet, died = p(), p(), p(), p()
    population = Population.of(
        [Residence(x, home, D) for x in (with_signal, quiet, died)] + [Death(died, D)]
    )
    view = group([SignalFacts(b"s", home, with_signal, D)], population, frozenset())
    assert view.households[0].members == {with_signal, quiet}
