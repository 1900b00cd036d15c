"""What the hub holds about a resident and their household, as the resident may learn it.

Read from the store the way the judge reads a household (hub.households): the register's facts
around the people asked about, the signals at their addresses and about them. A resident sees
signals about themselves and the children they represent, and signals about their address alone
(those concern the household, not one person); never signals about another adult living there.
Partners appear by their kind only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from hub import households
from hub.domain import StoredSignal
from hub.household_view import population_from, signal_facts
from hub.judgement.model import Case
from hub.registry import Registry
from hub.store import HubStore
from seinhuis.vocabulary import LegalBasis, PartnerType


class HeldStatus(StrEnum):
    COUNTS = "COUNTS"
    CONSENT_WITHDRAWN = "CONSENT_WITHDRAWN"
    RESOLVED = "RESOLVED"


@dataclass(frozen=True)
class Person:
    """A person pseudonym and its key version."""

    pseudonym: bytes = field(repr=False)
    key_version: int


@dataclass(frozen=True)
class Held:
    """A stored signal, and the person it is shown as concerning."""

    signal: StoredSignal
    subject: Person

    @property
    def status(self) -> HeldStatus:
        if self.signal.withdrawn_at is not None:
            return HeldStatus.RESOLVED
        if self.signal.consent_lost_at is not None:
            return HeldStatus.CONSENT_WITHDRAWN
        return HeldStatus.COUNTS

    @property
    def statute_based(self) -> bool:
        return self.signal.received.signal.legal_basis is not LegalBasis.TOESTEMMING


@dataclass(frozen=True)
class Regiehouder:
    partner_type: PartnerType
    contact_point: str


@dataclass(frozen=True)
class ResidentHousehold:
    """The signals a resident may see, and the first person's household's latest case."""

    signals: tuple[Held, ...]
    case: Case | None = None
    regiehouder: Regiehouder | None = None


def resident_household(
    store: HubStore,
    registry: Registry,
    people: Sequence[Person],
    *,
    institutions: frozenset[bytes] = frozenset(),
    today: dt.date,
) -> ResidentHousehold:
    """What is held about `people` (the resident first) and the resident's household.

    Signals about an address alone are shown as concerning the person whose household it is.
    """
    if not people:
        return ResidentHousehold(())
    asked = {p.pseudonym: p for p in people}
    first = people[0]
    population = population_from(store.population_facts_about((), asked))
    addresses = {population.residence[p].address for p in asked if p in population.residence}
    population = population_from(store.population_facts_about(addresses, asked))
    persons = set(asked) | {p for p, r in population.residence.items() if r.address in addresses}
    found = store.household_signals(addresses, persons)
    grouped = households.group(signal_facts(found), population, institutions)
    # The resident's household; without a register entry for them (the hub knows people only
    # by the register and by signals), the household of the first child it knows.
    mine, first = next(
        (
            (h, p)
            for p in people
            for h in grouped.households
            if p.pseudonym in h.members and not h.at_institution
        ),
        (None, first),
    )
    in_mine = set(mine.signal_ids) if mine is not None else set()
    held = []
    for s in found:
        signal = s.received.signal
        if signal.keep_until < today:
            continue  # past its retention: on its way out, no longer held
        person = signal.person_pseudonym
        if person is not None and person in asked:
            held.append(Held(s, asked[person]))
        elif person is None and s.received.id in in_mine:
            held.append(Held(s, first))
    case = None
    if mine is not None:
        latest = store.household_cases([mine.key]).get(mine.key)
        case = latest.case if latest is not None else None
    regiehouder = None
    if case is not None and case.regiehouder is not None:
        partner = registry.partner(case.regiehouder)
        if partner is not None:
            regiehouder = Regiehouder(partner.type, partner.contact_point or "")
    return ResidentHousehold(tuple(held), case, regiehouder)


def residents_at(store: HubStore, address: bytes) -> list[bytes]:
    """Whom a signal about this address concerns: the register's living residents there, or
    without a register entry, the people whose signals place them there."""
    population = population_from(store.population_facts_about([address], ()))
    registered = sorted(
        p
        for p, r in population.residence.items()
        if r.address == address and p not in population.deceased
    )
    if registered:
        return registered
    found = store.household_signals([address], ())
    where = households.current_addresses(signal_facts(found), population)
    return sorted({p for p, a in where.items() if a == address})
