"""A GP's signal the resident has not allowed to be disclosed never shows in the choice of
regiehouder: the choice is the one made as if the signal (and its sender) were not there."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from hub.judgement import engine
from hub.judgement.assignment import RegieInput, choose
from hub.judgement.model import ActiveSignal, Coordinator, RegistryView
from hub.judgement.notifications import hidden_partners
from seinhuis.vocabulary import SignalType, Urgency
from tests.judgement.builders import POLICIES, REGISTRY, household, signal

T = SignalType
DAY = dt.date(2026, 3, 2)


def _registry(**loads: int) -> RegistryView:
    """The judgement builders' registry with the GGD able to take cases."""
    coordinators = tuple(
        Coordinator(c.partner_id, c.capacity, loads.get(c.partner_id, c.open_cases))
        for c in REGISTRY.coordinators
    )
    return RegistryView(REGISTRY.partners, coordinators)


def _gp(urgency: Urgency = Urgency.NORMAAL, *, disclose: bool = False) -> ActiveSignal:
    return signal(
        "s-gp",
        "huisarts-1",
        T.ZORGSIGNAAL_HUISARTS,
        DAY,
        about="ouder",
        urgency=urgency,
        disclosure_ok=disclose,
    )


def _chosen(signals: list[ActiveSignal], registry: RegistryView) -> str | None:
    decision = engine.evaluate(household(signals), signals, None, registry, DAY, policies=POLICIES)
    return decision.case.regiehouder if decision.case is not None else None


def test_a_hidden_gp_signal_does_not_hand_the_case_to_the_ggd() -> None:
    """Rent arrears and a GP's care signal: care weighs 3 for the GGD, arrears 2 for the
    landlord. Counting the hidden GP signal would make the GGD regiehouder and so tell it (and
    everyone it contacts) that a care signal, the GP's, lies behind the case."""
    rent = signal("s-rent", "woco", T.HUURACHTERSTAND, DAY)
    assert _chosen([rent, _gp()], _registry()) == "woco"
    # Once the resident lets the GP's involvement be known, the care signal counts.
    assert _chosen([rent, _gp(disclose=True)], _registry()) == "ggd"


OTHERS = [
    signal("s-rent", "woco", T.HUURACHTERSTAND, DAY),
    signal("s-school", "school-a", T.SCHOOLVERZUIM, DAY, about="kind-1"),
    signal("s-pupil", "school-b", T.ZORG_OVER_LEERLING, DAY, about="kind-2"),
    signal("s-ggd", "ggd", T.ZORGWEKKEND_GEDRAG, DAY, about="ouder", disclosure_ok=True),
    signal("s-energy", "energie-a", T.ENERGIEACHTERSTAND, DAY),
]


@pytest.mark.parametrize("urgency", [Urgency.NORMAAL, Urgency.HOOG])
@pytest.mark.parametrize(
    "others",
    [list(c) for n in (1, 2) for c in itertools.combinations(OTHERS, n)],
    ids=lambda others: "+".join(s.id.decode() for s in others),
)
def test_the_choice_equals_the_choice_without_the_hidden_signal(
    others: list[ActiveSignal], urgency: Urgency
) -> None:
    counted = engine.counting_signals([*others, _gp(urgency)], None, DAY, POLICIES)
    without = engine.counting_signals(others, None, DAY, POLICIES)
    assert hidden_partners(counted) == {"huisarts-1"}
    for loads in ({}, {"woco": 5, "ggd": 20}, {"school-a": 10, "school-b": 10}):
        registry = _registry(**loads)
        with_gp = choose(POLICIES.regie, registry, RegieInput(counted))
        # Even when a caller forgets to name the hidden partners, the choice stays the same.
        told = choose(POLICIES.regie, registry, RegieInput(counted, hidden=frozenset()))
        plain = choose(POLICIES.regie, registry, RegieInput(without))
        assert with_gp == told == plain
