"""Hostile input: every RPC of every service, fuzzed with random and mutated messages and raw bytes.

One network of real processes (pseudonymisation service, hub, consent registry, a school's
node) serves the whole module, while another partner (a housing corporation) keeps sending
valid signals to the hub. For every example the answer must be a status from the error
catalogue (seinhuis.errors), never UNKNOWN or INTERNAL, and the service must still answer
health checks. After every test: every process is alive, the other partner's traffic kept
flowing and is stored, and the fuzzed services hold nothing beyond what they acknowledged.

Examples per test: SEINHUIS_FUZZ_EXAMPLES (default 25; raise it for a soak run).
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.message import DecodeError, Message
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from nacl.public import SealedBox

from consent import serde as consent_serde
from consent.model import Cell, CheckQuery, Decision, GrantRequest, Pseudonym, Purpose, Source
from consent.representation import Actor
from seinhuis.crypto import oprf
from seinhuis.crypto.envelope import SIGNING_CONTEXT
from seinhuis.crypto.keys import key_id, load_sealing_key, load_signing_key
from seinhuis.keys_cli import PartnerSpec
from seinhuis.network import Running
from seinhuis.serde import date_to_proto
from seinhuis.transport import TlsFiles
from seinhuis.v1 import (
    consent_pb2,
    envelope_pb2,
    feed_pb2,
    intake_pb2,
    node_pb2,
    pseudonym_pb2,
    signal_pb2,
    vocabulary_pb2,
)
from seinhuis.vocabulary import LifeDomain, PartnerType
from tests.security.launch import (
    BSNS,
    Services,
    arrears_signal,
    serving,
    start_services,
    statement,
    today,
    wait_for,
)
from tests.security.strategies import messages, mutated

#: The partner whose identity fuzzes the hub, the pseudonymisation and the consent service.
FUZZER = PartnerSpec("school-fuzz", PartnerType.SCHOOL)
#: The partner whose valid signals keep flowing meanwhile.
LEGIT = PartnerSpec("woco-legit", PartnerType.WONINGCORPORATIE)
#: The partner whose node's local API is fuzzed.
NODE = PartnerSpec("school-node", PartnerType.SCHOOL)

EXAMPLES = int(os.environ.get("SEINHUIS_FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    # The guard fixture runs once per test on purpose: it checks the whole run of examples.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
#: The other partner's first signals, which the fuzzer tries to withdraw.
LEGIT_SAMPLE = 3
#: How long a server stream is read before the test hangs up (it would stay open otherwise).
STREAM_S = 0.15

Code = grpc.StatusCode
#: What a refused request may answer: the error catalogue's statuses (seinhuis.errors).
CATALOGUE = frozenset(
    {
        Code.INVALID_ARGUMENT,
        Code.UNAUTHENTICATED,
        Code.PERMISSION_DENIED,
        Code.ALREADY_EXISTS,
        Code.NOT_FOUND,
        Code.FAILED_PRECONDITION,
        Code.RESOURCE_EXHAUSTED,
    }
)
#: Codes that mean the server broke: never acceptable, whatever the input.
BROKEN = frozenset({Code.UNKNOWN, Code.INTERNAL, Code.UNIMPLEMENTED, Code.DATA_LOSS})


# --- calling any method with any bytes ----------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """How a call ended: its status, and the raw response(s) when it succeeded."""

    code: grpc.StatusCode
    details: str = ""
    responses: tuple[bytes, ...] = ()
    #: A server stream that stayed open until the test hung up.
    open_stream: bool = False


def _method(full: str) -> Any:
    service, _, name = full.lstrip("/").rpartition("/")
    for module in (intake_pb2, feed_pb2, node_pb2, pseudonym_pb2, consent_pb2):
        found = module.DESCRIPTOR.services_by_name.get(service.rpartition(".")[2])
        if found is not None and found.full_name == service:
            return found.methods_by_name[name]
    raise KeyError(full)


def call_raw(channel: grpc.Channel, full: str, requests: list[bytes]) -> Answer:
    """Send raw request bytes (identity serializers) to any method; never raises."""
    method = _method(full)
    # No serializers: the bytes go out exactly as given (grpc's typing cannot say so).
    unary_stream: Any = channel.unary_stream(full)
    stream_unary: Any = channel.stream_unary(full)
    unary_unary: Any = channel.unary_unary(full)
    try:
        if method.server_streaming:
            stream = unary_stream(requests[0], timeout=STREAM_S)
            responses: list[bytes] = []
            try:
                responses.extend(stream)
            except grpc.RpcError as exc:
                if exc.code() is Code.DEADLINE_EXCEEDED:
                    return Answer(Code.OK, responses=tuple(responses), open_stream=True)
                raise
            return Answer(Code.OK, responses=tuple(responses))
        if method.client_streaming:
            response = stream_unary(iter(requests), timeout=10)
        else:
            response = unary_unary(requests[0], timeout=10)
        return Answer(Code.OK, responses=(response,))
    except grpc.RpcError as exc:
        return Answer(exc.code(), exc.details() or "")


def decodes(full: str, raw: bytes) -> bool:
    cls = _request_class(full)
    try:
        cls.FromString(raw)
    except DecodeError:
        return False
    return True


def _request_class(full: str) -> type[Message]:
    return message_factory.GetMessageClass(_method(full).input_type)


# --- the network under attack ------------------------------------------------------------------


class LegitTraffic(threading.Thread):
    """Another partner sending valid signals to the hub all along, and what became of them."""

    def __init__(self, net: Services) -> None:
        super().__init__(name="legit-traffic", daemon=True)
        self._channel = net.channel(net.hub, net.partner_tls(LEGIT.id), "hub")
        self._sealer = net.sealer(LEGIT.id)
        self._halt = threading.Event()
        self.accepted: list[bytes] = []
        self.failures: list[str] = []

    def run(self) -> None:
        submit = self._channel.unary_unary(
            "/seinhuis.v1.IntakeService/Submit",
            request_serializer=intake_pb2.SubmitRequest.SerializeToString,
            response_deserializer=intake_pb2.SubmitResponse.FromString,
        )
        while not self._halt.wait(0.05):
            envelope = self._sealer.seal(statement(arrears_signal()))
            try:
                answer = submit(intake_pb2.SubmitRequest(envelope=envelope), timeout=30)
                self.accepted.append(bytes(answer.id))
            except grpc.RpcError as exc:
                self.failures.append(f"{exc.code().name}: {exc.details()}")

    def stop(self) -> None:
        self._halt.set()
        self.join(30)


class Target:
    """The network, the callers, and the bookkeeping of what the fuzzing got accepted."""

    def __init__(self, net: Services, legit: LegitTraffic) -> None:
        self.net = net
        self.legit = legit
        #: (service, caller) -> channel; the node's local API has no TLS.
        self.channels: dict[tuple[str, str], grpc.Channel] = {}
        #: The valid envelope the mutations start from, stored before the fuzzing.
        self.base_envelope = envelope_pb2.SealedEnvelope()
        self.base_id = b""
        #: What fuzzed calls got accepted: the guard checks nothing else was stored.
        self.hub_acks: set[bytes] = set()
        self.node_acks: set[bytes] = set()
        self.consent_acks = 0

    def __repr__(self) -> str:  # hypothesis prints the fixture with every falsifying example
        return "Target(...)"

    def run(self, service: str) -> Running:
        if service == "node":
            return self.net.nodes[NODE.id]
        found = getattr(self.net, service)
        assert isinstance(found, Running)
        return found

    def channel(self, service: str, caller: str) -> grpc.Channel:
        key = (service, caller)
        if key not in self.channels:
            run = self.run(service)
            tls: TlsFiles | None = None
            if service != "node":
                tls = self._tls(caller)
            self.channels[key] = self.net.channel(run, tls, service)
        return self.channels[key]

    def _tls(self, caller: str) -> TlsFiles:
        root = self.net.layout.root
        if caller == "hub":
            return TlsFiles(
                root / "ca" / "ca.crt", root / "hub" / "tls.crt", root / "hub" / "tls.key"
            )
        if caller in (FUZZER.id, LEGIT.id, NODE.id):
            return self.net.partner_tls(caller)
        folder = root / "extra" / caller
        if not (folder / "tls.crt").exists():
            return self.net.issue(caller)
        return TlsFiles(root / "ca" / "ca.crt", folder / "tls.crt", folder / "tls.key")

    def healthy(self, service: str) -> None:
        run = self.run(service)
        assert run.alive(), f"{run.name} died:\n{run.log_path.read_text(errors='replace')[-3000:]}"
        assert serving(self.channel(service, "health" if service == "node" else FUZZER.id))

    # what each service holds

    def outbox_rows(self) -> int:
        path = self.net.layout.node_dir(NODE.id) / "node.db"
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        finally:
            conn.close()

    def consent_rows(self) -> int:
        path = self.net.layout.root / "consent" / "consent.db"
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM consent_entries").fetchone()[0])
        finally:
            conn.close()

    def legit_active(self) -> int:
        return sum(
            c.active for c in self.net.hub_store().count_signals() if c.partner_id == LEGIT.id
        )


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    net = start_services(
        tmp_path_factory.mktemp("hostile") / "net",
        [FUZZER, LEGIT, NODE],
        nodes=(NODE.id,),
        consent=True,
    )
    legit = LegitTraffic(net)
    t = Target(net, legit)
    try:
        # The valid envelope the mutations start from, stored first: any mutation that still
        # opens to the same statement is a retry (ALREADY_EXISTS), never a new signal.
        t.base_envelope = net.sealer(FUZZER.id).seal(statement(school_signal()))
        answer = call_raw(
            t.channel("hub", FUZZER.id),
            SUBMIT,
            [intake_pb2.SubmitRequest(envelope=t.base_envelope).SerializeToString()],
        )
        assert answer.code is Code.OK, answer
        t.base_id = bytes(intake_pb2.SubmitResponse.FromString(answer.responses[0]).id)
        legit.start()
        wait_for("the first legitimate signals", lambda: len(legit.accepted) >= LEGIT_SAMPLE)
        yield t
    finally:
        legit.stop()
        net.stop()


@pytest.fixture
def guard(target: Target) -> Iterator[Target]:
    """After the test: all alive and serving, legit traffic flowed, nothing unacknowledged held."""
    legit_before = len(target.legit.accepted)
    hub_before = target.net.hub_signal_count(FUZZER.id)
    hub_acks_before = len(target.hub_acks)
    outbox_before = target.outbox_rows()
    node_acks_before = len(target.node_acks)
    consent_before = target.consent_rows()
    consent_acks_before = target.consent_acks
    yield target
    for service in ("hub", "pseudonym", "consent", "node"):
        target.healthy(service)
    wait_for(
        "legitimate traffic after the fuzzing",
        lambda: len(target.legit.accepted) > legit_before + 2,
        timeout=30,
    )
    assert not target.legit.failures, f"legitimate signals refused: {target.legit.failures[:5]}"
    wait_for(
        "every legitimate signal stored and live",
        lambda: target.legit_active() >= len(target.legit.accepted),
        timeout=30,
    )
    assert (
        target.net.hub_signal_count(FUZZER.id) - hub_before
        == len(target.hub_acks) - hub_acks_before
    ), "the hub stored something it did not acknowledge"
    assert target.outbox_rows() - outbox_before == len(target.node_acks) - node_acks_before
    added = target.consent_rows() - consent_before
    assert added <= target.consent_acks - consent_acks_before
    if target.consent_acks == consent_acks_before:
        assert added == 0


def expect(answer: Answer, allowed: frozenset[grpc.StatusCode], what: str) -> None:
    assert answer.code not in BROKEN, f"{what}: {answer.code.name} {answer.details!r}"
    assert answer.code in allowed, f"{what}: {answer.code.name} {answer.details!r}"


# --- valid messages the mutations start from ----------------------------------------------------

SUBMIT = "/seinhuis.v1.IntakeService/Submit"
SUBMIT_STREAM = "/seinhuis.v1.IntakeService/SubmitStream"
WITHDRAW = "/seinhuis.v1.IntakeService/Withdraw"
SUBSCRIBE = "/seinhuis.v1.PartnerFeedService/Subscribe"


def school_signal() -> signal_pb2.Signal:
    """A valid SCHOOLVERZUIM payload (statute-based) from the fuzzing school."""
    day = today()
    return signal_pb2.Signal(
        signal_type=vocabulary_pb2.SIGNAL_TYPE_SCHOOLVERZUIM,
        life_domain=vocabulary_pb2.LIFE_DOMAIN_LEREN,
        urgency=vocabulary_pb2.URGENCY_NORMAAL,
        legal_basis=vocabulary_pb2.LEGAL_BASIS_JEUGDWET_VERWIJSINDEX,
        observed_on=date_to_proto(day),
        keep_until=date_to_proto(day + dt.timedelta(days=365)),
        subject=signal_pb2.Subject(
            person_pseudonym=os.urandom(32), address_pseudonym=os.urandom(32), key_version=1
        ),
    )


def _person(n: int) -> Pseudonym:
    return Pseudonym(bytes([n]) * 32, 1)


VALID: dict[str, Message] = {
    SUBSCRIBE: feed_pb2.SubscribeRequest(after_cursor=0),
    "/seinhuis.v1.NodeService/SubmitSignal": node_pb2.SubmitSignalRequest(
        signal_type=vocabulary_pb2.SIGNAL_TYPE_SCHOOLVERZUIM,
        urgency=vocabulary_pb2.URGENCY_NORMAAL,
        subject=node_pb2.LocalSubject(
            bsn=BSNS[1],
            birth_date=vocabulary_pb2.Date(year=2014, month=5, day=17),
            postcode="3512 CD",
            house_number=12,
        ),
    ),
    "/seinhuis.v1.NodeService/SubmitPopulationEvent": node_pb2.SubmitPopulationEventRequest(
        death=node_pb2.LocalDeath(
            person=node_pb2.LocalPerson(bsn=BSNS[2]),
            on=vocabulary_pb2.Date(year=2024, month=1, day=2),
        )
    ),
    "/seinhuis.v1.NodeService/WithdrawSignal": node_pb2.WithdrawSignalRequest(
        id=os.urandom(16), reason=vocabulary_pb2.WITHDRAW_REASON_UNJUSTIFIED
    ),
    "/seinhuis.v1.NodeService/GetSignalStatus": node_pb2.GetSignalStatusRequest(
        partner_reference="ref-1"
    ),
    "/seinhuis.v1.PseudonymService/Evaluate": pseudonym_pb2.EvaluateRequest(
        kind=vocabulary_pb2.IDENTIFIER_KIND_PERSON,
        blinded_elements=[oprf.blind(f"bsn:{BSNS[0]}".encode()).element],
    ),
    "/seinhuis.v1.PseudonymService/GetKeyInfo": pseudonym_pb2.GetKeyInfoRequest(),
    "/seinhuis.v1.PseudonymService/GetRekeyFactor": pseudonym_pb2.GetRekeyFactorRequest(
        kind=vocabulary_pb2.IDENTIFIER_KIND_ADDRESS, from_version=1, to_version=1
    ),
    "/seinhuis.v1.ConsentService/Check": consent_serde.check_to_proto(
        CheckQuery(_person(7), FUZZER.id, PartnerType.SCHOOL, LifeDomain.LEREN, Purpose.SIGNALERING)
    ),
    "/seinhuis.v1.ConsentService/Grant": consent_serde.grant_to_proto(
        Actor(_person(8), 40),
        GrantRequest(
            Cell(
                _person(8),
                Source.category(PartnerType.HUISARTS),
                LifeDomain.ZORGEN,
                Purpose.SIGNALERING,
            ),
            Decision.PERMIT,
        ),
    ),
    "/seinhuis.v1.ConsentService/Revoke": consent_pb2.RevokeRequest(
        actor=consent_serde.actor_to_proto(Actor(_person(8), 40)), entry_id=os.urandom(16)
    ),
    "/seinhuis.v1.ConsentService/List": consent_pb2.ListRequest(
        actor=consent_serde.actor_to_proto(Actor(_person(8), 40)),
        subject=consent_serde.person_to_proto(_person(8)),
    ),
    "/seinhuis.v1.ConsentService/Watch": consent_pb2.WatchRequest(after_cursor=0),
}


def near_valid(full: str) -> st.SearchStrategy[Message]:
    """A valid request with random fields merged over it, or a wholly random one."""
    base = VALID[full]
    random = messages(base.DESCRIPTOR)

    def merged(extra: Message) -> Message:
        out = type(base)()
        out.CopyFrom(base)
        out.MergeFrom(extra)
        return out

    return st.one_of(random.map(merged), random)


def raw_requests(full: str) -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, or the serialized valid request mutated."""
    valid = VALID[full].SerializeToString() if full in VALID else b""
    return st.one_of(st.binary(max_size=200), mutated(valid))


# --- the hub's intake ----------------------------------------------------------------------------


def _submit_bytes(envelope_bytes: bytes) -> bytes:
    """A SubmitRequest around arbitrary envelope bytes (field 1, length-delimited)."""
    return b"\x0a" + _varint(len(envelope_bytes)) + envelope_bytes


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


@FUZZ
@given(data=st.data())
def test_submit_refuses_mutated_envelopes(guard: Target, data: st.DataObject) -> None:
    """Bit flips, truncation, extension and overwrites of a stored valid envelope."""
    raw = data.draw(mutated(guard.base_envelope.SerializeToString()), label="envelope")
    answer = call_raw(guard.channel("hub", FUZZER.id), SUBMIT, [_submit_bytes(raw)])
    # Still the same statement (e.g. an unknown field appended): a retry, not a new signal.
    expect(
        answer,
        frozenset({Code.UNAUTHENTICATED, Code.INVALID_ARGUMENT, Code.ALREADY_EXISTS}),
        "mutated envelope",
    )
    guard.healthy("hub")


@st.composite
def signed_statements(draw: st.DrawFn) -> envelope_pb2.Statement:
    """Statements a registered partner really signs, with any payload and header values."""
    st_msg = envelope_pb2.Statement()
    st_msg.CopyFrom(statement(school_signal()))
    extra = draw(messages(envelope_pb2.Statement.DESCRIPTOR), label="statement fields")
    for name in ("sender", "sender_key_id", "recipient"):
        extra.ClearField(name)  # the Sealer sets these; swaps have their own test
    if not draw(st.booleans(), label="keep signed_at"):
        extra.ClearField("signed_at")
    st_msg.MergeFrom(extra)
    if draw(st.booleans(), label="16-byte id"):
        st_msg.id = draw(st.binary(min_size=16, max_size=16))
    return st_msg


@FUZZ
@given(statement_=signed_statements())
def test_submit_checks_every_field_of_a_signed_statement(
    guard: Target, statement_: envelope_pb2.Statement
) -> None:
    """Properly signed and sealed, any content: refused by the catalogue, or stored if valid."""
    envelope = guard.net.sealer(FUZZER.id).seal(statement_)
    request = intake_pb2.SubmitRequest(envelope=envelope).SerializeToString()
    answer = call_raw(guard.channel("hub", FUZZER.id), SUBMIT, [request])
    expect(answer, CATALOGUE | {Code.OK}, "signed statement")
    if answer.code is Code.OK:
        guard.hub_acks.add(bytes(intake_pb2.SubmitResponse.FromString(answer.responses[0]).id))
    guard.healthy("hub")


def _sealed(t: Target, signed: envelope_pb2.SignedStatement) -> bytes:
    sealer = t.net.sealer(FUZZER.id)
    envelope = envelope_pb2.SealedEnvelope(
        hub_key_id=sealer.hub_key_id,
        sealed=bytes(SealedBox(sealer.hub_public).encrypt(signed.SerializeToString())),
    )
    return intake_pb2.SubmitRequest(envelope=envelope).SerializeToString()


def _signed(t: Target, change: Callable[[envelope_pb2.Statement], None]) -> bytes:
    """A statement with the right header, changed, signed by the fuzzing partner, sealed."""
    sealer = t.net.sealer(FUZZER.id)
    st_msg = statement(school_signal())
    st_msg.sender, st_msg.sender_key_id, st_msg.recipient = (
        FUZZER.id,
        sealer.sender_key_id,
        "hub",
    )
    change(st_msg)
    body = st_msg.SerializeToString()
    signature = sealer.signing_key.sign(SIGNING_CONTEXT + body).signature
    return _sealed(t, envelope_pb2.SignedStatement(statement=body, signature=signature))


def _legit_key_id(t: Target) -> bytes:
    key = load_signing_key(t.net.layout.node_dir(LEGIT.id) / "signing.key")
    return key_id(bytes(key.verify_key))


def _swap_sender_recipient(s: envelope_pb2.Statement) -> None:
    s.sender, s.recipient = s.recipient, s.sender


SWAPS: dict[str, Callable[[Target], bytes]] = {
    "sender and recipient swapped": lambda t: _signed(t, _swap_sender_recipient),
    "another partner named as sender": lambda t: _signed(
        t, lambda s: setattr(s, "sender", LEGIT.id)
    ),
    "another partner's key id": lambda t: _signed(
        t, lambda s: setattr(s, "sender_key_id", _legit_key_id(t))
    ),
    "another hub as recipient": lambda t: _signed(t, lambda s: setattr(s, "recipient", "hub-2")),
    "signed an hour ago": lambda t: _signed(
        t, lambda s: s.signed_at.FromDatetime(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    ),
    "signature and statement swapped": lambda t: _swapped_signature(t),
    "signature over another statement": lambda t: _foreign_signature(t),
    "hub key id and sealed box swapped": lambda t: _swapped_envelope(t),
    "empty signature": lambda t: _sealed(
        t,
        envelope_pb2.SignedStatement(statement=statement(school_signal()).SerializeToString()),
    ),
}


def _swapped_signature(t: Target) -> bytes:
    raw = _signed(t, lambda s: None)
    signed = _open(t, raw)
    return _sealed(
        t, envelope_pb2.SignedStatement(statement=signed.signature, signature=signed.statement)
    )


def _foreign_signature(t: Target) -> bytes:
    one, other = _open(t, _signed(t, lambda s: None)), _open(t, _signed(t, lambda s: None))
    return _sealed(
        t, envelope_pb2.SignedStatement(statement=one.statement, signature=other.signature)
    )


def _swapped_envelope(t: Target) -> bytes:
    request = intake_pb2.SubmitRequest.FromString(_signed(t, lambda s: None))
    e = request.envelope
    swapped = envelope_pb2.SealedEnvelope(hub_key_id=e.sealed, sealed=e.hub_key_id)
    return intake_pb2.SubmitRequest(envelope=swapped).SerializeToString()


def _open(t: Target, submit_request: bytes) -> envelope_pb2.SignedStatement:
    key = load_sealing_key(t.net.layout.hub_dir / "sealing.key")
    sealed = intake_pb2.SubmitRequest.FromString(submit_request).envelope.sealed
    return envelope_pb2.SignedStatement.FromString(SealedBox(key).decrypt(bytes(sealed)))


@pytest.mark.parametrize("swap", sorted(SWAPS))
def test_swapped_or_forged_fields_are_unauthenticated(guard: Target, swap: str) -> None:
    answer = call_raw(guard.channel("hub", FUZZER.id), SUBMIT, [SWAPS[swap](guard)])
    assert answer.code is Code.UNAUTHENTICATED, (swap, answer)
    # One message for every failed check: the partner never learns which one failed.
    assert answer.details == "the envelope could not be authenticated"


@st.composite
def stream_messages(draw: st.DrawFn, base: bytes) -> list[bytes]:
    """One to four SubmitStream messages: random ones, mutated ones, raw bytes."""
    one = st.one_of(
        messages(intake_pb2.SubmitStreamRequest.DESCRIPTOR).map(lambda m: m.SerializeToString()),
        mutated(base),
        st.binary(max_size=120),
    )
    return draw(st.lists(one, min_size=1, max_size=4))


@FUZZ
@given(data=st.data())
def test_submit_stream_answers_every_envelope_from_the_catalogue(
    guard: Target, data: st.DataObject
) -> None:
    base = intake_pb2.SubmitStreamRequest(envelopes=[guard.base_envelope]).SerializeToString()
    requests = data.draw(stream_messages(base), label="stream")
    answer = call_raw(guard.channel("hub", FUZZER.id), SUBMIT_STREAM, requests)
    if not all(decodes(SUBMIT_STREAM, r) for r in requests):
        expect(answer, frozenset({Code.INVALID_ARGUMENT}), "undecodable stream message")
        return
    expect(answer, frozenset({Code.OK}), "stream")
    response = intake_pb2.SubmitStreamResponse.FromString(answer.responses[0])
    allowed = {c.value[0] for c in CATALOGUE}
    for result in response.results:
        assert result.code in allowed, (result.code, result.message)
    guard.healthy("hub")


@FUZZ
@given(data=st.data())
def test_withdraw_refuses_what_is_not_the_callers(guard: Target, data: st.DataObject) -> None:
    """Random requests, and the ids of another partner's stored signals."""
    request = data.draw(messages(intake_pb2.WithdrawRequest.DESCRIPTOR), label="request")
    if data.draw(st.booleans(), label="another partner's id"):
        request.id = data.draw(st.sampled_from(guard.legit.accepted[:LEGIT_SAMPLE]))
    if request.id == guard.base_id:
        request.id = b""
    answer = call_raw(guard.channel("hub", FUZZER.id), WITHDRAW, [request.SerializeToString()])
    expect(answer, frozenset({Code.INVALID_ARGUMENT, Code.NOT_FOUND}), "withdraw")
    guard.healthy("hub")


@settings(FUZZ, max_examples=max(5, EXAMPLES // 3))
@given(request=near_valid(SUBSCRIBE))
def test_subscribe_with_any_cursor_is_a_feed(guard: Target, request: Any) -> None:
    """Any cursor a feed could have gives a feed; one beyond storage's range is invalid."""
    answer = call_raw(guard.channel("hub", FUZZER.id), SUBSCRIBE, [request.SerializeToString()])
    valid = request.after_cursor < 2**63
    expect(answer, frozenset({Code.OK if valid else Code.INVALID_ARGUMENT}), "subscribe")
    for raw in answer.responses:
        feed_pb2.SubscribeResponse.FromString(raw)
    guard.healthy("hub")


# --- the other services, and raw bytes everywhere ----------------------------------------------

#: (service, method, caller) -> statuses a request may get besides the catalogue's refusals.
CASES: dict[tuple[str, str, str], frozenset[grpc.StatusCode]] = {
    ("node", "/seinhuis.v1.NodeService/SubmitSignal", "local"): frozenset({Code.OK}),
    ("node", "/seinhuis.v1.NodeService/SubmitPopulationEvent", "local"): frozenset(),
    # OK: a signal an earlier example got accepted may be withdrawn and looked up.
    ("node", "/seinhuis.v1.NodeService/WithdrawSignal", "local"): frozenset({Code.OK}),
    ("node", "/seinhuis.v1.NodeService/GetSignalStatus", "local"): frozenset({Code.OK}),
    ("pseudonym", "/seinhuis.v1.PseudonymService/Evaluate", FUZZER.id): frozenset({Code.OK}),
    ("pseudonym", "/seinhuis.v1.PseudonymService/Evaluate", "hub"): frozenset(),
    ("pseudonym", "/seinhuis.v1.PseudonymService/GetKeyInfo", FUZZER.id): frozenset({Code.OK}),
    ("pseudonym", "/seinhuis.v1.PseudonymService/GetRekeyFactor", FUZZER.id): frozenset(),
    ("pseudonym", "/seinhuis.v1.PseudonymService/GetRekeyFactor", "hub"): frozenset({Code.OK}),
    ("consent", "/seinhuis.v1.ConsentService/Check", FUZZER.id): frozenset({Code.OK}),
    ("consent", "/seinhuis.v1.ConsentService/Check", "hub"): frozenset({Code.OK}),
    ("consent", "/seinhuis.v1.ConsentService/Grant", FUZZER.id): frozenset(),
    ("consent", "/seinhuis.v1.ConsentService/Grant", "portal"): frozenset({Code.OK}),
    ("consent", "/seinhuis.v1.ConsentService/Revoke", "portal"): frozenset({Code.OK}),
    ("consent", "/seinhuis.v1.ConsentService/List", "portal"): frozenset({Code.OK}),
    ("consent", "/seinhuis.v1.ConsentService/Watch", "hub"): frozenset({Code.OK}),
    ("consent", "/seinhuis.v1.ConsentService/Watch", FUZZER.id): frozenset(),
}
#: Callers the service does not serve at all for these methods.
ONLY_DENIED = {
    ("pseudonym", "/seinhuis.v1.PseudonymService/Evaluate", "hub"),
    ("consent", "/seinhuis.v1.ConsentService/Grant", FUZZER.id),
    ("consent", "/seinhuis.v1.ConsentService/Watch", FUZZER.id),
}


def _record(t: Target, service: str, full: str, answer: Answer) -> None:
    """Book what a fuzzed call got accepted, for the guard's nothing-else-stored check."""
    if answer.code is not Code.OK:
        return
    if full == "/seinhuis.v1.NodeService/SubmitSignal":
        t.node_acks.add(bytes(node_pb2.SubmitSignalResponse.FromString(answer.responses[0]).id))
    elif full in ("/seinhuis.v1.ConsentService/Grant", "/seinhuis.v1.ConsentService/Revoke"):
        t.consent_acks += 1


def _case_id(case: tuple[str, str, str]) -> str:
    return f"{case[1].rpartition('/')[2]}-as-{case[2]}"


@pytest.mark.parametrize("case", sorted(CASES), ids=_case_id)
@FUZZ
@given(data=st.data())
def test_every_rpc_answers_random_requests_from_the_catalogue(
    guard: Target, case: tuple[str, str, str], data: st.DataObject
) -> None:
    service, full, caller = case
    request = data.draw(near_valid(full), label="request")
    answer = call_raw(guard.channel(service, caller), full, [request.SerializeToString()])
    if case in ONLY_DENIED:
        expect(answer, frozenset({Code.PERMISSION_DENIED, Code.INVALID_ARGUMENT}), full)
    else:
        expect(answer, CATALOGUE | CASES[case], full)
    _record(guard, service, full, answer)
    guard.healthy(service)


RAW_CASES = sorted(
    {(s, m, c) for s, m, c in CASES}
    | {
        ("hub", SUBMIT, FUZZER.id),
        ("hub", SUBMIT_STREAM, FUZZER.id),
        ("hub", WITHDRAW, FUZZER.id),
        ("hub", SUBSCRIBE, FUZZER.id),
    }
)


@pytest.mark.parametrize("case", RAW_CASES, ids=_case_id)
@FUZZ
@given(data=st.data())
def test_every_rpc_answers_raw_bytes_from_the_catalogue(
    guard: Target, case: tuple[str, str, str], data: st.DataObject
) -> None:
    """Bytes that are not the method's message are INVALID_ARGUMENT, never INTERNAL."""
    service, full, caller = case
    raw = data.draw(raw_requests(full), label="bytes")
    answer = call_raw(guard.channel(service, caller), full, [raw])
    if not decodes(full, raw):
        expect(answer, frozenset({Code.INVALID_ARGUMENT}), f"{full} undecodable")
    else:
        expect(answer, CATALOGUE | CASES.get(case, frozenset()) | {Code.OK}, full)
        if full == SUBMIT:
            assert answer.code is not Code.OK, "random bytes were accepted as a signal"
    _record(guard, service, full, answer)
    guard.healthy(service)


@pytest.mark.parametrize("full", [SUBMIT, SUBMIT_STREAM, WITHDRAW, SUBSCRIBE])
def test_an_unregistered_certificate_gets_nothing_from_the_hub(guard: Target, full: str) -> None:
    """A certificate from the right CA whose name is not a registered partner."""
    request = {
        SUBMIT: intake_pb2.SubmitRequest(envelope=guard.base_envelope),
        SUBMIT_STREAM: intake_pb2.SubmitStreamRequest(envelope=guard.base_envelope),
        WITHDRAW: intake_pb2.WithdrawRequest(id=guard.base_id),
        SUBSCRIBE: feed_pb2.SubscribeRequest(),
    }[full].SerializeToString()
    answer = call_raw(guard.channel("hub", "stranger"), full, [request])
    assert answer.code is Code.UNAUTHENTICATED, answer


def test_the_fuzzing_left_the_network_whole(target: Target) -> None:
    """The last word: nothing crashed, and every legitimate signal is at the hub."""
    for service in ("hub", "pseudonym", "consent", "node"):
        target.healthy(service)
    assert len(target.legit.accepted) > 0 and not target.legit.failures
    store = target.net.hub_store()
    for signal_id in target.legit.accepted[-20:]:
        stored = store.get_signal(signal_id)
        assert stored is not None and stored.received.partner_id == LEGIT.id
    assert store.get_signal(target.base_id) is not None
