"""Who may be shown to whom: consent gates disclosure, and a GP is always consent-gated."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from hub.judgement.matching import suppress_duplicates
from hub.judgement.model import ActiveSignal
from hub.judgement.notifications import hidden_partners, involved_view
from seinhuis.errors import InvalidArgument
from seinhuis.vocabulary import LegalBasis, SignalType, Urgency
from tests.judgement.builders import REGISTRY, signal

DAY = dt.date(2026, 3, 2)


def test_statute_based_senders_are_shown_and_consent_based_ones_only_with_disclosure() -> None:
    """A Wgs sender is shown; a consent-based sender only when its consent allows disclosure."""
    rent = signal("r", "woco", SignalType.HUURACHTERSTAND, DAY)
    ggd = signal("g", "ggd", SignalType.ZORGWEKKEND_GEDRAG, DAY, about="ouder")
    counted = suppress_duplicates([rent, ggd])
    assert hidden_partners(counted) == {"ggd"}
    assert [i.contact.partner_id for i in involved_view(counted, REGISTRY, leave_out=None)] == [
        "woco"
    ]
    shown = suppress_duplicates([rent, dataclasses.replace(ggd, disclosure_ok=True)])
    assert hidden_partners(shown) == frozenset()


def test_a_gp_stays_hidden_whatever_legal_basis_a_catalogue_gives_it() -> None:
    """Even if a municipality set a statute basis for GP signals, the GP is not disclosed
    without the resident's consent to it (medical secrecy)."""
    gp = signal("h", "huisarts-1", SignalType.ZORGSIGNAAL_HUISARTS, DAY, about="ouder")
    statute = dataclasses.replace(gp, legal_basis=LegalBasis.JEUGDWET_VERWIJSINDEX)
    assert hidden_partners(suppress_duplicates([statute])) == {"huisarts-1"}


def test_a_partner_with_a_hidden_and_a_shown_signal_is_shown_with_the_shown_domain_only() -> None:
    """The corporation's rent arrears are shown; its consent-based nuisance signal is not."""
    rent = signal("r", "woco", SignalType.HUURACHTERSTAND, DAY)
    nuisance = signal("n", "woco", SignalType.WOONOVERLAST, DAY)
    (view,) = involved_view(suppress_duplicates([rent, nuisance]), REGISTRY, leave_out=None)
    assert [d.value for d in view.life_domains] == ["RONDKOMEN"]


def test_a_crisis_is_never_a_signal() -> None:
    """An ActiveSignal with urgency CRISIS is refused, pointing to 112 and Veilig Thuis."""
    ok: ActiveSignal = signal("c", "school-a", SignalType.ZORG_OVER_LEERLING, DAY, about="kind")
    with pytest.raises(InvalidArgument, match="112"):
        dataclasses.replace(ok, urgency=Urgency.CRISIS)
