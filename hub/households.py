"""Households from pseudonyms: who lives where, who belongs together, which signals concern whom.

Pure domain code. A household is the people at one address. The population register (BRP)
says where each person lives; without it, a person lives at the address of their newest
signal. Signals about a person follow that person to where they live now, so a move carries
them along. Institution addresses (care homes, shelters, student housing) never make their
residents one household: there each person is a unit of their own.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SignalFacts:
    """What household matching needs of a stored signal."""

    id: bytes
    address: bytes
    person: bytes | None
    observed_on: dt.date
    received_seq: int = 0  # tie-breaker among signals observed on the same day


@dataclass(frozen=True)
class Residence:
    """A person lives at an address; since None means from birth, before any dated move."""

    person: bytes
    address: bytes
    since: dt.date | None

    @property
    def sort_date(self) -> dt.date:
        return self.since or dt.date.min


@dataclass(frozen=True)
class Parenthood:
    parent: bytes
    child: bytes


@dataclass(frozen=True)
class Death:
    person: bytes
    on: dt.date


PopulationFact = Residence | Parenthood | Death


@dataclass
class Population:
    """The register's view: current residence per person, parents per child, the deceased."""

    residence: dict[bytes, Residence] = field(default_factory=dict)
    parents: dict[bytes, set[bytes]] = field(default_factory=lambda: defaultdict(set))
    deceased: dict[bytes, dt.date] = field(default_factory=dict)

    def apply(self, fact: PopulationFact) -> None:
        """Fold one fact in; an older residence never overrides a newer one (a relocation is a
        Residence from its date on)."""
        if isinstance(fact, Residence):
            current = self.residence.get(fact.person)
            if current is None or fact.sort_date >= current.sort_date:
                self.residence[fact.person] = fact
        elif isinstance(fact, Parenthood):
            self.parents[fact.child].add(fact.parent)
        else:
            self.deceased[fact.person] = fact.on

    @classmethod
    def of(cls, facts: Iterable[PopulationFact]) -> Population:
        population = cls()
        for fact in facts:
            population.apply(fact)
        return population


@dataclass(frozen=True)
class Household:
    """A matching unit: the people at one address, or one person at an institution address."""

    key: bytes  # the address pseudonym, or the person pseudonym at an institution
    at_institution: bool
    members: frozenset[bytes]
    signal_ids: tuple[bytes, ...]


@dataclass(frozen=True)
class FamilyLink:
    """A parent and child living in different households (a family match)."""

    parent_household: bytes
    child_household: bytes


@dataclass(frozen=True)
class HouseholdView:
    households: tuple[Household, ...]
    family_links: tuple[FamilyLink, ...]

    def household_of_signal(self, signal_id: bytes) -> Household | None:
        for household in self.households:
            if signal_id in household.signal_ids:
                return household
        return None


def current_addresses(signals: Iterable[SignalFacts], population: Population) -> dict[bytes, bytes]:
    """Where each person lives now: the register's word, else their newest signal's address."""
    newest: dict[bytes, SignalFacts] = {}
    for s in signals:
        if s.person is None:
            continue
        seen = newest.get(s.person)
        if seen is None or (s.observed_on, s.received_seq) >= (seen.observed_on, seen.received_seq):
            newest[s.person] = s
    where = {person: s.address for person, s in newest.items()}
    where.update({person: r.address for person, r in population.residence.items()})
    return where


def group(
    signals: Iterable[SignalFacts], population: Population, institutions: frozenset[bytes]
) -> HouseholdView:
    """Place every signal in its household and find the family links between households."""
    signals = list(signals)
    where = current_addresses(signals, population)

    def unit_of(person: bytes | None, address: bytes) -> tuple[bytes, bool]:
        if address in institutions:
            # At an institution each person stands alone; an address-only signal there
            # concerns the building, which is its own unit.
            return (person, True) if person is not None else (address, True)
        return address, False

    members: dict[bytes, set[bytes]] = defaultdict(set)
    signal_ids: dict[bytes, list[bytes]] = defaultdict(list)
    institution_units: set[bytes] = set()
    for s in signals:
        address = where.get(s.person, s.address) if s.person is not None else s.address
        key, at_institution = unit_of(s.person, address)
        signal_ids[key].append(s.id)
        if s.person is not None:
            members[key].add(s.person)
        if at_institution:
            institution_units.add(key)

    # Register residents of an address with signals are members too, though they have none.
    for person, residence in population.residence.items():
        if person in population.deceased or residence.address in institutions:
            continue
        if residence.address in signal_ids:
            members[residence.address].add(person)

    households = tuple(
        Household(
            key=key,
            at_institution=key in institution_units,
            members=frozenset(members[key]),
            signal_ids=tuple(ids),
        )
        for key, ids in sorted(signal_ids.items())
    )
    unit_of_person = {}
    for h in households:
        for person in h.members:
            unit_of_person[person] = h.key
    links = set()
    for child, parents in population.parents.items():
        for parent in parents:
            a, b = unit_of_person.get(parent), unit_of_person.get(child)
            if a is not None and b is not None and a != b:
                links.add(FamilyLink(parent_household=a, child_household=b))
    return HouseholdView(households=households, family_links=tuple(sorted(links, key=repr)))
