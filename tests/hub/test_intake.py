"""The intake checks as plain code: their order, the injectable clock, and the payload rules."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from nacl.public import PrivateKey

from hub.domain import Death, Parenthood, PopulationFact, ReceivedPopulationFact, ReceivedSignal
from hub.intake import Intake, check_population_fact, check_signal
from hub.registry import Partner, from_dict
from seinhuis import catalogue
from seinhuis.crypto.envelope import Opener, Sealer
from seinhuis.errors import InvalidArgument, PermissionDenied, Unauthenticated
from seinhuis.v1 import envelope_pb2
from seinhuis.vocabulary import PartnerType
from tests.hub.builders import (
    NOW,
    TODAY,
    ggd_signal_pb,
    new_id,
    partner_keys,
    pseudonym,
    received_arrears,
    received_signal,
    residence_pb,
    seal,
)

CATALOGUE = catalogue.load()
KEYS = partner_keys("ggd-a", PartnerType.GGD, valid_from=NOW - dt.timedelta(days=1))
BRP = partner_keys("brp", PartnerType.BRP, valid_from=NOW - dt.timedelta(days=1))
HUB_KEY = PrivateKey.generate()
REGISTRY = from_dict({"hub_id": "hub", "partners": [KEYS.registry_entry(), BRP.registry_entry()]})


def partner(partner_id: str = "ggd-a") -> Partner:
    found = REGISTRY.partner(partner_id)
    assert found is not None
    return found


def intake(now: dt.datetime = NOW) -> Intake:
    return Intake(
        hub_id="hub",
        registry=REGISTRY,
        catalogue=CATALOGUE,
        opener=Opener([HUB_KEY]),
        max_clock_skew=dt.timedelta(seconds=300),
        clock=lambda: now,
    )


def test_a_good_envelope_becomes_a_received_signal_stamped_by_the_clock() -> None:
    """The verdict carries the id and a ReceivedSignal with the clock's time and partner type."""
    envelope = seal(KEYS, HUB_KEY, ggd_signal_pb(observed_on=TODAY), signed_at=NOW)
    verdict = intake().check(envelope, partner())
    assert verdict.error is None
    assert isinstance(verdict.item, ReceivedSignal)
    assert verdict.item.id == verdict.id and len(verdict.id) == 16
    assert verdict.item.received_at == NOW
    assert verdict.item.partner_type is PartnerType.GGD


def test_authentication_is_checked_before_the_payload() -> None:
    """A stale envelope with a malformed payload is Unauthenticated, and carries no id."""
    payload = ggd_signal_pb(observed_on=TODAY)
    payload.subject.address_pseudonym = b"short"
    envelope = seal(KEYS, HUB_KEY, payload, signed_at=NOW - dt.timedelta(minutes=6))
    verdict = intake().check(envelope, partner())
    assert isinstance(verdict.error, Unauthenticated)
    assert verdict.id == b""
    assert verdict.error.detail == "signed_at outside the allowed clock skew"


def test_freshness_follows_the_injected_clock() -> None:
    """An envelope signed now is stale for a hub whose clock is ten minutes ahead."""
    envelope = seal(KEYS, HUB_KEY, ggd_signal_pb(observed_on=TODAY), signed_at=NOW)
    assert intake(NOW + dt.timedelta(minutes=4)).check(envelope, partner()).error is None
    late = intake(NOW + dt.timedelta(minutes=10)).check(envelope, partner())
    assert isinstance(late.error, Unauthenticated)


def test_a_payload_error_after_authentication_reports_the_id() -> None:
    """Once authenticated, a refused envelope's verdict names its statement id."""
    payload = ggd_signal_pb(observed_on=TODAY)
    payload.subject.address_pseudonym = b"short"
    verdict = intake().check(seal(KEYS, HUB_KEY, payload, signed_at=NOW), partner())
    assert isinstance(verdict.error, InvalidArgument)
    assert len(verdict.id) == 16


def test_a_brp_population_event_is_accepted() -> None:
    """A residence from the BRP becomes a ReceivedPopulationFact."""
    verdict = intake().check(seal(BRP, HUB_KEY, residence_pb(), signed_at=NOW), partner("brp"))
    assert isinstance(verdict.item, ReceivedPopulationFact)


def _signal(**changes: Any) -> ReceivedSignal:
    item = received_signal()
    return dataclasses.replace(item, signal=dataclasses.replace(item.signal, **changes))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"observed_on": TODAY + dt.timedelta(days=3)}, "signal.observed_on"),
        ({"keep_until": TODAY - dt.timedelta(days=1)}, "signal.keep_until"),
        ({"keep_until": TODAY + dt.timedelta(days=800)}, "signal.keep_until"),
    ],
    ids=["observed-in-future", "keep-before-observed", "keep-beyond-retention"],
)
def test_dates_must_be_plausible_and_within_retention(changes: dict[str, Any], field: str) -> None:
    """observed_on not in the future; keep_until between observed_on and the retention limit."""
    with pytest.raises(InvalidArgument) as info:
        check_signal(_signal(**changes).signal, PartnerType.GGD, CATALOGUE, today=TODAY)
    assert info.value.field == field


def test_the_sender_rule_is_permission_denied_naming_the_rule() -> None:
    """A GGD may not send rent arrears; the message names the catalogue rule."""
    with pytest.raises(PermissionDenied, match=r"signal_types\.HUURACHTERSTAND\.senders"):
        check_signal(received_arrears().signal, PartnerType.GGD, CATALOGUE, today=TODAY)


def test_an_arrears_signal_passes_for_its_sender() -> None:
    """A housing corporation's rent arrears with address only pass every check."""
    check_signal(received_arrears().signal, PartnerType.WONINGCORPORATIE, CATALOGUE, today=TODAY)


@pytest.mark.parametrize(
    "fact",
    [
        PopulationFact(1, Parenthood(parent_pseudonym=pseudonym(), child_pseudonym=b"")),
        PopulationFact(1, Death(person_pseudonym=b"x" * 31, on=TODAY)),
    ],
)
def test_population_facts_need_every_pseudonym(fact: PopulationFact) -> None:
    """A missing or short pseudonym in a population fact is InvalidArgument naming it."""
    with pytest.raises(InvalidArgument) as info:
        check_population_fact(fact, PartnerType.BRP)
    assert info.value.field is not None and info.value.field.startswith("population_event.")


def test_only_brp_sends_population_facts() -> None:
    """A well-formed population fact from a GGD is PermissionDenied naming the rule."""
    fact = PopulationFact(1, Death(person_pseudonym=pseudonym(), on=TODAY))
    with pytest.raises(PermissionDenied, match=r"population_events\.senders"):
        check_population_fact(fact, PartnerType.GGD)


def test_a_statement_without_payload_is_invalid_argument() -> None:
    """A signed statement with neither signal nor population event names statement.payload."""
    statement = envelope_pb2.Statement(id=new_id())
    statement.signed_at.FromDatetime(NOW)
    sealer = Sealer("ggd-a", KEYS.signing_key, "hub", HUB_KEY.public_key)
    verdict = intake().check(sealer.seal(statement), partner())
    assert isinstance(verdict.error, InvalidArgument)
    assert verdict.error.field == "statement.payload"
