"""The households the hub currently sees, computed from what its store holds."""

from __future__ import annotations

from collections.abc import Iterable

from hub import domain, households
from hub.store import HubStore


def population_of(store: HubStore) -> households.Population:
    """Fold all the register's facts, in arrival order, into the current population."""
    return population_from(store.list_population_facts())


def population_from(facts: Iterable[domain.ReceivedPopulationFact]) -> households.Population:
    """Fold these register facts, in arrival order, into a population."""
    population = households.Population()
    for received in facts:
        event = received.fact.event
        if isinstance(event, domain.Residence):
            population.apply(
                households.Residence(event.person_pseudonym, event.address_pseudonym, event.since)
            )
        elif isinstance(event, domain.Relocation):
            population.apply(
                households.Residence(event.person_pseudonym, event.to_address_pseudonym, event.on)
            )
        elif isinstance(event, domain.Parenthood):
            population.apply(households.Parenthood(event.parent_pseudonym, event.child_pseudonym))
        else:
            population.apply(households.Death(event.person_pseudonym, event.on))
    return population


def active_signal_facts(store: HubStore) -> list[households.SignalFacts]:
    """The signals that still count: stored and not withdrawn."""
    return signal_facts(store.list_signals())


def signal_facts(signals: Iterable[domain.StoredSignal]) -> list[households.SignalFacts]:
    """What grouping needs of these signals (in arrival order), leaving out withdrawn ones."""
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


def current_view(store: HubStore, institutions: frozenset[bytes]) -> households.HouseholdView:
    return households.group(active_signal_facts(store), population_of(store), institutions)
