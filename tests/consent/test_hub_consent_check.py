"""The hub's receipt check (hub/consent_check.py) and the household's preferred regiehouder
(hub/resident.py): pure functions, with receipts the registry really signed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable

import pytest
from nacl.signing import SigningKey

from consent.model import CheckQuery, Decision, Purpose, Source
from consent.receipts import ReceiptVerifier
from hub.consent_check import (
    ConsentBasis,
    ConsentGate,
    ConsentNarrowing,
    Narrowings,
    check_consent,
)
from hub.domain import Signal
from hub.judgement.model import ActiveSignal, ContactPoint, Coordinator, RegistryView
from hub.registry import Partner
from hub.resident import RegiehouderChoice, RegiePreference, preferred_partner
from seinhuis.errors import FailedPrecondition, InvalidArgument, Unauthenticated
from seinhuis.serde import date_to_proto
from seinhuis.v1 import signal_pb2, vocabulary_pb2
from seinhuis.vocabulary import LegalBasis, LifeDomain, PartnerType, SignalType, Urgency
from tests.consent.conftest import ADULT, T0, Registry, grant_request, itself

GP = Partner("huisarts-1", PartnerType.HUISARTS, "huisarts-1", ())


def gp_signal(person: bytes | None = ADULT.value) -> Signal:
    return Signal(
        signal_type=SignalType.ZORGSIGNAAL_HUISARTS,
        life_domain=LifeDomain.ZORGEN,
        urgency=Urgency.NORMAAL,
        legal_basis=LegalBasis.TOESTEMMING,
        observed_on=T0.date(),
        keep_until=T0.date() + dt.timedelta(days=300),
        person_pseudonym=person,
        address_pseudonym=os.urandom(32),
        key_version=ADULT.key_version,
        arrears=None,
    )


def message(receipt: bytes = b"", signature: bytes = b"") -> signal_pb2.Signal:
    msg = signal_pb2.Signal(
        signal_type=vocabulary_pb2.SIGNAL_TYPE_ZORGSIGNAAL_HUISARTS,
        observed_on=date_to_proto(T0.date()),
    )
    if receipt:
        msg.consent_receipt.receipt = receipt
        msg.consent_receipt.signature = signature
    return msg


@pytest.fixture
def consented(reg: Registry) -> tuple[ConsentGate, signal_pb2.Signal]:
    """A gate with the registry's key, and a message carrying the adult's receipt for GPs."""
    reg.registry.grant(itself(30, ADULT), grant_request(ADULT))
    query = CheckQuery(ADULT, GP.id, PartnerType.HUISARTS, LifeDomain.ZORGEN, Purpose.SIGNALERING)
    result = reg.registry.check(query)
    assert result.decision is Decision.PERMIT and result.receipt is not None
    return ConsentGate(reg.verifier), message(result.receipt.body, result.receipt.signature)


def test_a_statute_signal_carries_no_receipt_and_needs_none(
    consented: tuple[ConsentGate, signal_pb2.Signal],
) -> None:
    gate, with_receipt = consented
    statute = dataclasses.replace(gp_signal(), legal_basis=LegalBasis.JEUGDWET_VERWIJSINDEX)
    assert check_consent(gate, message(), statute, GP, T0) is None
    with pytest.raises(InvalidArgument, match=r"signal\.consent_receipt"):
        check_consent(gate, with_receipt, statute, GP, T0)


def test_a_hub_without_a_verify_key_checks_nothing() -> None:
    assert check_consent(None, message(), gp_signal(), GP, T0) is None


def test_a_valid_receipt_gives_the_basis(consented: tuple[ConsentGate, signal_pb2.Signal]) -> None:
    gate, msg = consented
    basis = check_consent(gate, msg, gp_signal(), GP, T0)
    assert isinstance(basis, ConsentBasis) and len(basis.receipt_id) == 16
    assert basis.until is None


@pytest.mark.parametrize(
    ("what", "change", "refusal"),
    [
        (
            "no person",
            lambda g, m, s: (g, m, dataclasses.replace(s, person_pseudonym=None)),
            FailedPrecondition,
        ),
        ("no receipt", lambda g, m, s: (g, message(), s), FailedPrecondition),
        (
            "forged signature",
            lambda g, m, s: (g, message(m.consent_receipt.receipt, bytes(64)), s),
            Unauthenticated,
        ),
        (
            "someone else's receipt",
            lambda g, m, s: (g, m, dataclasses.replace(s, person_pseudonym=os.urandom(32))),
            FailedPrecondition,
        ),
        (
            "another domain",
            lambda g, m, s: (g, m, dataclasses.replace(s, life_domain=LifeDomain.WONEN)),
            FailedPrecondition,
        ),
        (
            "another registry's key",
            lambda g, m, s: (ConsentGate(_other_verifier()), m, s),
            Unauthenticated,
        ),
    ],
)
def test_a_missing_or_wrong_receipt_is_refused(
    consented: tuple[ConsentGate, signal_pb2.Signal],
    what: str,
    change: Callable[..., tuple[ConsentGate, signal_pb2.Signal, Signal]],
    refusal: type[Exception],
) -> None:
    gate, msg, signal = change(*consented, gp_signal())
    with pytest.raises(refusal):
        check_consent(gate, msg, signal, GP, T0)
    if refusal is FailedPrecondition and what in ("no person", "no receipt"):
        with pytest.raises(FailedPrecondition, match="consent is missing"):
            check_consent(gate, msg, signal, GP, T0)


def _other_verifier() -> ReceiptVerifier:
    """Another registry's keys (never written anywhere)."""
    return ReceiptVerifier([SigningKey.generate().verify_key])


def test_a_later_revocation_or_objection_voids_an_older_receipt(
    consented: tuple[ConsentGate, signal_pb2.Signal],
) -> None:
    gate, msg = consented
    later = T0 + dt.timedelta(minutes=1)
    other_domain = ConsentNarrowing(
        ADULT, later, Source.category(PartnerType.HUISARTS), LifeDomain.WONEN, Purpose.SIGNALERING
    )
    earlier = ConsentNarrowing(
        ADULT,
        T0 - dt.timedelta(days=1),
        Source.category(PartnerType.HUISARTS),
        None,
        Purpose.SIGNALERING,
    )
    gate = ConsentGate(gate.verifier, Narrowings([other_domain, earlier]))
    assert check_consent(gate, msg, gp_signal(), GP, later) is not None
    gate.narrowings.add(
        [ConsentNarrowing(ADULT, later, Source.organisation(GP.id), None, Purpose.SIGNALERING)]
    )
    with pytest.raises(FailedPrecondition, match="withdrawn"):
        check_consent(gate, msg, gp_signal(), GP, later)


def test_a_receipt_too_old_is_refused(consented: tuple[ConsentGate, signal_pb2.Signal]) -> None:
    gate, msg = consented
    strict = ConsentGate(gate.verifier, max_age=dt.timedelta(days=1))
    with pytest.raises(FailedPrecondition, match="too old"):
        check_consent(strict, msg, gp_signal(), GP, T0 + dt.timedelta(days=2))


# --- the preferred regiehouder ---------------------------------------------------------------

VIEW = RegistryView(
    partners=(
        ContactPoint("sociaal-1", PartnerType.SOCIAAL_TEAM, "Sociaal team"),
        ContactPoint("welzijn-1", PartnerType.WELZIJN),
        ContactPoint("welzijn-2", PartnerType.WELZIJN),
    ),
    coordinators=(Coordinator("sociaal-1", 5, 0), Coordinator("welzijn-2", 5, 0)),
)


def preference(
    choice: RegiehouderChoice, kind: PartnerType | None = None, *, hours: int = 0
) -> RegiePreference:
    return RegiePreference(os.urandom(32), 1, choice, T0 + dt.timedelta(hours=hours), kind)


def signal_from(partner_id: str, kind: PartnerType) -> ActiveSignal:
    return ActiveSignal(
        id=os.urandom(16),
        partner_id=partner_id,
        partner_type=kind,
        signal_type=SignalType.ZORG_SOCIAAL_TEAM,
        life_domain=LifeDomain.ZORGEN,
        urgency=Urgency.NORMAAL,
        legal_basis=LegalBasis.TOESTEMMING,
        observed_on=T0.date(),
        household=b"h",
    )


def test_the_newest_preference_names_a_partner_the_regie_rules_can_follow() -> None:
    assert preferred_partner([], [], VIEW) is None
    assert preferred_partner([preference(RegiehouderChoice.SELF)], [], VIEW) is None
    team = preference(RegiehouderChoice.SOCIAAL_TEAM, hours=1)
    welfare = preference(RegiehouderChoice.KNOWN_ORGANISATION, PartnerType.WELZIJN)
    assert preferred_partner([welfare, team], [], VIEW) == "sociaal-1"
    # The kind of organisation: a coordinator of that kind, or one already involved.
    assert preferred_partner([welfare], [], VIEW) == "welzijn-2"
    involved = [signal_from("welzijn-1", PartnerType.WELZIJN)]
    assert preferred_partner([welfare], involved, VIEW) == "welzijn-1"
    nobody = preference(RegiehouderChoice.KNOWN_ORGANISATION, PartnerType.GGD)
    assert preferred_partner([nobody], [], VIEW) is None
