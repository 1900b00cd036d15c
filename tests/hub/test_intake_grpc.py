"""The intake over a real gRPC server with mutual TLS: what is stored, what is refused, and how."""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import threading
from collections.abc import Callable

import grpc
import pytest
import structlog
from nacl.public import SealedBox
from nacl.signing import SigningKey
from structlog.testing import capture_logs

from seinhuis import logs
from seinhuis.crypto.envelope import SIGNING_CONTEXT
from seinhuis.crypto.keys import key_id
from seinhuis.errors import Unauthenticated
from seinhuis.v1 import envelope_pb2, intake_pb2, vocabulary_pb2
from seinhuis.vocabulary import CRISIS_REFUSAL, SignalType
from tests.hub.builders import (
    arrears_signal_pb,
    ggd_signal_pb,
    new_id,
    partner_keys,
    residence_pb,
    seal,
)
from tests.hub.conftest import Hub

UNAUTHENTICATED_MESSAGE = Unauthenticated.fixed_message


def submit(hub: Hub, partner_id: str, envelope: envelope_pb2.SealedEnvelope) -> bytes:
    response = hub.intake(partner_id).Submit(intake_pb2.SubmitRequest(envelope=envelope))
    return bytes(response.id)


def refused(hub: Hub, partner_id: str, envelope: envelope_pb2.SealedEnvelope) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        submit(hub, partner_id, envelope)
    return info.value


def stored_count(hub: Hub) -> int:
    return len(hub.store.list_signals()) + len(hub.store.list_population_facts())


def test_a_valid_signal_is_stored_with_its_fields(hub: Hub) -> None:
    """A well-formed GGD signal answers its id and is stored field for field."""
    payload = ggd_signal_pb()
    message_id = new_id()
    assert (
        submit(
            hub, "ggd-a", seal(hub.keys("ggd-a"), hub.sealing_key, payload, message_id=message_id)
        )
        == message_id
    )
    stored = hub.store.get_signal(message_id)
    assert stored is not None
    assert stored.received.partner_id == "ggd-a"
    assert stored.received.signal.signal_type is SignalType.ZORGWEKKEND_GEDRAG
    assert stored.received.signal.person_pseudonym == payload.subject.person_pseudonym
    assert stored.received.signal.address_pseudonym == payload.subject.address_pseudonym


def test_an_arrears_signal_and_a_population_event_are_stored(hub: Hub) -> None:
    """Rent arrears from a housing corporation and a residence from the BRP are accepted."""
    arrears_id = submit(
        hub, "woco-a", seal(hub.keys("woco-a"), hub.sealing_key, arrears_signal_pb())
    )
    fact_id = submit(hub, "brp", seal(hub.keys("brp"), hub.sealing_key, residence_pb()))
    stored = hub.store.get_signal(arrears_id)
    assert stored is not None and stored.received.signal.arrears is not None
    assert stored.received.signal.arrears.amount_cents == 80_000
    assert [f.id for f in hub.store.list_population_facts()] == [fact_id]


@pytest.mark.parametrize(
    ("partner_id", "mutate", "field"),
    [
        ("ggd-a", lambda p: setattr(p, "signal_type", 99), "signal.signal_type"),
        ("ggd-a", lambda p: setattr(p, "life_domain", 0), "signal.life_domain"),
        ("ggd-a", lambda p: p.ClearField("observed_on"), "signal.observed_on"),
        (
            "ggd-a",
            lambda p: p.subject.ClearField("address_pseudonym"),
            "signal.subject.address_pseudonym",
        ),
        (
            "ggd-a",
            lambda p: setattr(p.subject, "person_pseudonym", b"x" * 31),
            "signal.subject.person_pseudonym",
        ),
        (
            "ggd-a",
            lambda p: setattr(p.subject, "address_pseudonym", b"x" * 33),
            "signal.subject.address_pseudonym",
        ),
        (
            "ggd-a",
            lambda p: setattr(p, "legal_basis", vocabulary_pb2.LEGAL_BASIS_WMO_MELDPUNT),
            "signal.legal_basis",
        ),
        ("ggd-a", lambda p: p.arrears.SetInParent(), "signal.arrears"),
    ],
    ids=[
        "unknown-enum",
        "unspecified-enum",
        "missing-date",
        "missing-address",
        "short-person",
        "long-address",
        "wrong-legal-basis",
        "arrears-on-non-arrears",
    ],
)
def test_malformed_payloads_are_invalid_argument_naming_the_field(
    hub: Hub, partner_id: str, mutate: Callable[..., None], field: str
) -> None:
    """Bad enums, missing fields, wrong pseudonym lengths: INVALID_ARGUMENT naming the field."""
    payload = ggd_signal_pb()
    mutate(payload)
    error = refused(hub, partner_id, seal(hub.keys(partner_id), hub.sealing_key, payload))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert str(error.details()).startswith(f"{field}:")
    assert stored_count(hub) == 0


def test_arrears_rules_are_invalid_argument(hub: Hub) -> None:
    """Arrears need attestation and a non-negative amount; a corporation sends no person."""
    cases: list[tuple[Callable[..., None], str]] = [
        (lambda p: p.ClearField("arrears"), "signal.arrears"),
        (lambda p: setattr(p.arrears, "amount_cents", -1), "signal.arrears.amount_cents"),
        (
            lambda p: setattr(p.arrears, "contact_attempted", False),
            "signal.arrears.contact_attempted",
        ),
        (
            lambda p: setattr(p.arrears, "written_reminder_sent", False),
            "signal.arrears.written_reminder_sent",
        ),
        (
            lambda p: setattr(p.subject, "person_pseudonym", os.urandom(32)),
            "signal.subject.person_pseudonym",
        ),
    ]
    for mutate, field in cases:
        payload = arrears_signal_pb()
        mutate(payload)
        error = refused(hub, "woco-a", seal(hub.keys("woco-a"), hub.sealing_key, payload))
        assert error.code() is grpc.StatusCode.INVALID_ARGUMENT, field
        assert str(error.details()).startswith(f"{field}:")
    assert stored_count(hub) == 0


def test_a_crisis_is_refused_pointing_to_112(hub: Hub) -> None:
    """URGENCY_CRISIS is INVALID_ARGUMENT with the 112 / Veilig Thuis message."""
    payload = ggd_signal_pb()
    payload.urgency = vocabulary_pb2.URGENCY_CRISIS
    error = refused(hub, "ggd-a", seal(hub.keys("ggd-a"), hub.sealing_key, payload))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert CRISIS_REFUSAL in str(error.details())
    assert stored_count(hub) == 0


def _resealed(
    hub: Hub, statement: envelope_pb2.Statement, signature: bytes
) -> envelope_pb2.SealedEnvelope:
    signed = envelope_pb2.SignedStatement(
        statement=statement.SerializeToString(), signature=signature
    )
    sealed = SealedBox(hub.sealing_key.public_key).encrypt(signed.SerializeToString())
    return envelope_pb2.SealedEnvelope(
        hub_key_id=key_id(bytes(hub.sealing_key.public_key)), sealed=sealed
    )


def _bad_signature(hub: Hub) -> envelope_pb2.SealedEnvelope:
    keys = hub.keys("ggd-a")
    statement = envelope_pb2.Statement(
        id=new_id(), sender="ggd-a", recipient="hub", signal=ggd_signal_pb()
    )
    statement.sender_key_id = key_id(bytes(keys.signing_key.verify_key))
    statement.signed_at.FromDatetime(dt.datetime.now(dt.UTC))
    other = SigningKey.generate().sign(SIGNING_CONTEXT + statement.SerializeToString()).signature
    return _resealed(hub, statement, other)


AUTH_FAILURES: dict[str, Callable[[Hub], envelope_pb2.SealedEnvelope]] = {
    "bad-signature": _bad_signature,
    "signer-is-not-tls-peer": lambda h: seal(h.keys("ggd-b"), h.sealing_key, ggd_signal_pb()),
    "sender-claims-peer-with-other-key": lambda h: seal(
        h.keys("ggd-b"), h.sealing_key, ggd_signal_pb(), sender="ggd-a"
    ),
    "unknown-key": lambda h: seal(
        partner_keys("ggd-a", h.keys("ggd-a").partner_type), h.sealing_key, ggd_signal_pb()
    ),
    "stale-timestamp": lambda h: seal(
        h.keys("ggd-a"),
        h.sealing_key,
        ggd_signal_pb(),
        signed_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
    ),
    "future-timestamp": lambda h: seal(
        h.keys("ggd-a"),
        h.sealing_key,
        ggd_signal_pb(),
        signed_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    ),
    "wrong-recipient": lambda h: seal(
        h.keys("ggd-a"), h.sealing_key, ggd_signal_pb(), hub_id="other-hub"
    ),
    "garbage-sealed-bytes": lambda h: envelope_pb2.SealedEnvelope(
        hub_key_id=key_id(bytes(h.sealing_key.public_key)), sealed=os.urandom(300)
    ),
    "unknown-hub-key": lambda h: envelope_pb2.SealedEnvelope(
        hub_key_id=b"\x00" * 8, sealed=os.urandom(300)
    ),
}


@pytest.mark.parametrize("case", list(AUTH_FAILURES))
def test_authentication_failures_are_unauthenticated_with_one_message(hub: Hub, case: str) -> None:
    """Every crypto or identity failure is UNAUTHENTICATED with one message, storing nothing."""
    error = refused(hub, "ggd-a", AUTH_FAILURES[case](hub))
    assert error.code() is grpc.StatusCode.UNAUTHENTICATED
    assert error.details() == UNAUTHENTICATED_MESSAGE
    assert stored_count(hub) == 0


def test_an_expired_key_is_unauthenticated(hub: Hub) -> None:
    """A partner whose key's validity has ended is UNAUTHENTICATED with the same message."""
    error = refused(hub, "ggd-old", seal(hub.keys("ggd-old"), hub.sealing_key, ggd_signal_pb()))
    assert error.code() is grpc.StatusCode.UNAUTHENTICATED
    assert error.details() == UNAUTHENTICATED_MESSAGE
    assert stored_count(hub) == 0


def test_an_unregistered_certificate_is_unauthenticated(hub: Hub) -> None:
    """A client certificate from the right CA but not in the registry is UNAUTHENTICATED."""
    error = refused(hub, "stranger", seal(hub.keys("stranger"), hub.sealing_key, ggd_signal_pb()))
    assert error.code() is grpc.StatusCode.UNAUTHENTICATED
    assert error.details() == UNAUTHENTICATED_MESSAGE


def test_the_log_says_which_check_failed_without_identifiers(hub: Hub) -> None:
    """hub.envelope_refused carries the detail as reason; the caller only saw the fixed message."""
    with capture_logs() as logs:
        refused(hub, "ggd-a", _bad_signature(hub))
    events = [e for e in logs if e["event"] == "hub.envelope_refused"]
    assert [(e["code"], e["reason"], e["partner"]) for e in events] == [
        ("UNAUTHENTICATED", "bad signature", "ggd-a")
    ]


def test_a_partner_type_not_allowed_is_permission_denied_naming_the_rule(hub: Hub) -> None:
    """A GGD sending rent arrears, or a population event, is PERMISSION_DENIED naming the rule."""
    error = refused(hub, "ggd-a", seal(hub.keys("ggd-a"), hub.sealing_key, arrears_signal_pb()))
    assert error.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "signal_types.HUURACHTERSTAND.senders" in str(error.details())
    error = refused(hub, "ggd-a", seal(hub.keys("ggd-a"), hub.sealing_key, residence_pb()))
    assert error.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "population_events.senders" in str(error.details())
    assert stored_count(hub) == 0


def test_a_replayed_envelope_is_already_exists_and_stored_once(hub: Hub) -> None:
    """The same envelope twice, or the id re-signed later, answers ALREADY_EXISTS; one row stays."""
    message_id = new_id()
    envelope = seal(hub.keys("ggd-a"), hub.sealing_key, ggd_signal_pb(), message_id=message_id)
    submit(hub, "ggd-a", envelope)
    assert refused(hub, "ggd-a", envelope).code() is grpc.StatusCode.ALREADY_EXISTS
    resigned = seal(hub.keys("ggd-a"), hub.sealing_key, ggd_signal_pb(), message_id=message_id)
    assert refused(hub, "ggd-a", resigned).code() is grpc.StatusCode.ALREADY_EXISTS
    assert [s.received.id for s in hub.store.list_signals()] == [message_id]


def test_over_the_rate_is_resource_exhausted(start_hub: Callable[..., Hub]) -> None:
    """Past the partner's burst the hub answers RESOURCE_EXHAUSTED and stores nothing more."""
    hub = start_hub(rate_per_partner=0.001, rate_burst=2)
    for _ in range(2):
        submit(hub, "ggd-a", seal(hub.keys("ggd-a"), hub.sealing_key, ggd_signal_pb()))
    error = refused(hub, "ggd-a", seal(hub.keys("ggd-a"), hub.sealing_key, ggd_signal_pb()))
    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert stored_count(hub) == 2


def test_another_partner_keeps_flowing_while_one_is_refused(start_hub: Callable[..., Hub]) -> None:
    """A partner flooding garbage past its rate does not disturb another partner's signals."""
    hub = start_hub(rate_per_partner=0.001, rate_burst=30)
    garbage = AUTH_FAILURES["garbage-sealed-bytes"](hub)
    codes: list[grpc.StatusCode] = []

    def flood() -> None:
        stub = hub.intake("ggd-b")
        for _ in range(60):
            try:
                stub.Submit(intake_pb2.SubmitRequest(envelope=garbage))
            except grpc.RpcError as exc:
                codes.append(exc.code())

    flooder = threading.Thread(target=flood)
    flooder.start()
    stub = hub.intake("ggd-a")
    sent = [seal(hub.keys("ggd-a"), hub.sealing_key, ggd_signal_pb()) for _ in range(20)]
    for envelope in sent:
        stub.Submit(intake_pb2.SubmitRequest(envelope=envelope))
    flooder.join()
    assert set(codes) == {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.RESOURCE_EXHAUSTED}
    assert len(hub.store.list_signals()) == 20


def test_no_pseudonym_reaches_the_json_log(hub: Hub) -> None:
    """With the real log configuration, accepted and refused envelopes leave no pseudonym behind."""
    stream = io.StringIO()
    logs.configure("hub", stream=stream, level=logging.DEBUG)
    try:
        good, bad = ggd_signal_pb(), ggd_signal_pb()
        bad.subject.address_pseudonym = bad.subject.address_pseudonym[:31]
        submit(hub, "ggd-a", seal(hub.keys("ggd-a"), hub.sealing_key, good))
        refused(hub, "ggd-a", seal(hub.keys("ggd-a"), hub.sealing_key, bad))
    finally:
        structlog.reset_defaults()
    text = stream.getvalue()
    assert '"hub.envelope_accepted"' in text and '"hub.envelope_refused"' in text
    for payload in (good, bad):
        for value in (payload.subject.person_pseudonym, payload.subject.address_pseudonym):
            assert value.hex() not in text
