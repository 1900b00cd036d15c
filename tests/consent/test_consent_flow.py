"""Consent through node, registry and hub, in this process over real mTLS (issue 5).

The pseudonymisation service, the consent registry, the hub and a GP's and a school's node are
built from the configs seinhuis.network lays out (one development CA), each on port 0. What is
checked: the node refuses a consent-based signal without consent and stores nothing; with
consent the signal carries the registry's receipt, which the hub verifies; a forged, missing or
mismatching receipt is refused at the hub; a revocation makes the hub stop counting the signal
and void older receipts; the ResidentService answers only the consent service and shows a
resident what is held; statute-based signals become portal messages.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from consent import config as consent_config
from consent import wiring as consent_wiring
from consent.client import ConsentClient
from consent.model import Cell, Decision, GrantRequest, Party, Pseudonym, Purpose, Source
from consent.portal.household import SignalState
from consent.portal.hub_client import HubResidentClient
from consent.portal.notices import NoticeFollower
from consent.portal.records import (
    Objection,
    ObjectionReason,
    RegiehouderChoice,
    RegiehouderPreference,
)
from consent.portal.store import PortalStore
from consent.representation import Actor, RepresentedChild
from hub import config as hub_config
from hub import wiring as hub_wiring
from hub.store import HubStore
from node import config as node_config
from node import wiring as node_wiring
from node.identifiers import Bsn
from pseudonym import config as pseudonym_config
from pseudonym import wiring as pseudonym_wiring
from pseudonym.client import PseudonymClient
from seinhuis.crypto import keys
from seinhuis.errors import FailedPrecondition, NotFound, PermissionDenied
from seinhuis.keys_cli import PartnerSpec
from seinhuis.network import Layout
from seinhuis.serde import date_to_proto
from seinhuis.transport import TlsFiles, secure_channel
from seinhuis.v1 import (
    intake_pb2,
    intake_pb2_grpc,
    node_pb2,
    node_pb2_grpc,
    signal_pb2,
    vocabulary_pb2,
)
from seinhuis.vocabulary import IdentifierKind, LifeDomain, PartnerType
from tests.hub.builders import PartnerKeys, seal

PARTNERS = [
    PartnerSpec("huisarts-a", PartnerType.HUISARTS),
    PartnerSpec("school-a", PartnerType.SCHOOL),
    PartnerSpec("woco-a", PartnerType.WONINGCORPORATIE),
]
CHILD, PARENT = "999000020", "999000019"
CHILD_BORN = dt.date(2017, 6, 3)
POSTCODE, HOUSE = "3511AB", 17

CONSENT_TOML = """\
[consent]
listen = "127.0.0.1:0"
database_url = "sqlite:///consent.db"
signing_key = "keys/receipt-signing.key"
portal_ids = ["portal"]
hub_ids = ["hub"]
partners = "partners.yaml"
watch_poll_s = 0.2
[consent.tls]
ca_cert = "ca.crt"
cert = "tls.crt"
key = "tls.key"
"""


def _until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(0.05)


@dataclass
class Net:
    layout: Layout
    hub: hub_wiring.HubService
    registry: consent_wiring.Service
    nodes: dict[str, node_wiring.NodeService]
    pseudonym_port: int

    @property
    def store(self) -> HubStore:
        return self.hub.store

    def tls(self, folder: Path) -> TlsFiles:
        return TlsFiles(self.layout.root / "ca" / "ca.crt", folder / "tls.crt", folder / "tls.key")

    def node(self, partner_id: str) -> node_pb2_grpc.NodeServiceStub:
        port = self.nodes[partner_id].port
        return node_pb2_grpc.NodeServiceStub(grpc.insecure_channel(f"127.0.0.1:{port}"))

    def portal_client(self) -> ConsentClient:
        """The registry as the portal reaches it (its certificate may grant and revoke)."""
        return ConsentClient(
            f"127.0.0.1:{self.registry.port}", self.tls(self.layout.consent_dir / "portal")
        )

    def resident_client(self, folder: Path | None = None) -> HubResidentClient:
        """The hub's ResidentService, by default with the consent service's certificate."""
        return HubResidentClient(
            f"127.0.0.1:{self.hub.port}", self.tls(folder or self.layout.consent_dir)
        )

    def person(self, bsn: str) -> Pseudonym:
        with PseudonymClient(
            f"127.0.0.1:{self.pseudonym_port}", self.tls(self.layout.consent_dir / "portal")
        ) as client:
            version, [value] = client.pseudonymize(IdentifierKind.PERSON, [Bsn(bsn).oprf_input])
        return Pseudonym(value, version)


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    layout = Layout(tmp_path / "net")
    layout.create(PARTNERS)
    layout.create_consent(sweep_interval_s=0.2)
    stop: list[Callable[[], None]] = []
    try:
        pseudonym = pseudonym_wiring.build(
            pseudonym_config.load(layout.pseudonym_dir / "pseudonym.toml")
        )
        pseudonym_port = pseudonym.start()
        stop.append(lambda: pseudonym.stop(0))
        (layout.consent_dir / "registry.toml").write_text(CONSENT_TOML)
        registry = consent_wiring.build(consent_config.load(layout.consent_dir / "registry.toml"))
        registry.start()
        stop.append(lambda: registry.stop(0))
        layout.connect_hub_to_consent(registry.port)
        hub_toml = layout.hub_dir / "hub.toml"
        # In this process: the judge as a thread.
        hub_toml.write_text(hub_toml.read_text().replace('judge = "process"', 'judge = "thread"'))
        hub = hub_wiring.build(hub_config.load(hub_toml))
        hub_port = hub.start()
        stop.append(lambda: hub.stop(0.5))
        nodes = {}
        for p in PARTNERS:
            path = layout.write_node_config(
                p, hub_port=hub_port, pseudonym_port=pseudonym_port, consent_port=registry.port
            )
            node = node_wiring.build(node_config.load(path))
            node.start()
            stop.append(lambda node=node: node.stop(0.5))  # type: ignore[misc]
            nodes[p.id] = node
        yield Net(layout, hub, registry, nodes, pseudonym_port)
    finally:
        for s in reversed(stop):
            s()


def _date(d: dt.date) -> vocabulary_pb2.Date:
    return vocabulary_pb2.Date(year=d.year, month=d.month, day=d.day)


def _request(reference: str, signal_type: int, *, bsn: str = CHILD) -> node_pb2.SubmitSignalRequest:
    return node_pb2.SubmitSignalRequest(
        partner_reference=reference,
        signal_type=signal_type,
        urgency=vocabulary_pb2.URGENCY_NORMAAL,
        observed_on=_date(dt.date.today()),
        subject=node_pb2.LocalSubject(
            bsn=bsn, birth_date=_date(CHILD_BORN), postcode=POSTCODE, house_number=HOUSE
        ),
    )


GP = vocabulary_pb2.SIGNAL_TYPE_ZORGSIGNAAL_HUISARTS
SCHOOL = vocabulary_pb2.SIGNAL_TYPE_SCHOOLVERZUIM


def _delivered(net: Net, partner: str, signal_id: bytes) -> None:
    stub = net.node(partner)

    def done() -> bool:
        status = stub.GetSignalStatus(node_pb2.GetSignalStatusRequest(id=signal_id), timeout=5)
        assert status.state != node_pb2.DELIVERY_STATE_REFUSED, status.refusal_message
        return bool(status.state == node_pb2.DELIVERY_STATE_DELIVERED)

    _until(done, 30, "delivered")


def _parent(parent: Pseudonym, child: Pseudonym) -> Actor:
    """The logged-in parent of a child of 9 (under 12: the parents decide)."""
    return Actor(parent, 38, (RepresentedChild(child, 9),))


def _consent_for_child(net: Net, child: Pseudonym, parent: Pseudonym) -> bytes:
    """The parent gives GPs consent about the child, as the portal would; the entry id."""
    cell = Cell(
        child, Source.category(PartnerType.HUISARTS), LifeDomain.ZORGEN, Purpose.SIGNALERING
    )
    with net.portal_client() as client:
        entry = client.grant(_parent(parent, child), GrantRequest(cell, Decision.PERMIT))
    return entry.id


def test_no_consent_no_signal_and_nothing_stored(net: Net) -> None:
    gp = net.node("huisarts-a")
    with pytest.raises(grpc.RpcError) as refused:
        gp.SubmitSignal(_request("HA-1", GP), timeout=10)
    assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "consent is missing" in (refused.value.details() or "")
    with pytest.raises(grpc.RpcError) as unknown:
        gp.GetSignalStatus(node_pb2.GetSignalStatusRequest(partner_reference="HA-1"), timeout=5)
    assert unknown.value.code() is grpc.StatusCode.NOT_FOUND
    # A landlord may not process citizen numbers: its nuisance signal (consent-based in the
    # catalogue) names an address only, so there is nobody's consent to check. Refused too.
    nuisance = _request("OVL-1", vocabulary_pb2.SIGNAL_TYPE_WOONOVERLAST, bsn="")
    nuisance.subject.ClearField("birth_date")
    with pytest.raises(grpc.RpcError) as no_person:
        net.node("woco-a").SubmitSignal(nuisance, timeout=10)
    assert no_person.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "must name a person" in (no_person.value.details() or "")
    assert net.store.list_signals() == []


def test_consent_travels_as_a_receipt_until_it_is_revoked(net: Net) -> None:
    child, parent = net.person(CHILD), net.person(PARENT)
    entry_id = _consent_for_child(net, child, parent)
    gp = net.node("huisarts-a")
    signal_id = gp.SubmitSignal(_request("HA-1", GP), timeout=10).id
    # A retried call (the partner missed the answer) is the same signal, receipt or not.
    assert gp.SubmitSignal(_request("HA-1", GP), timeout=10).id == signal_id
    _delivered(net, "huisarts-a", signal_id)
    stored = net.store.get_signal(signal_id)
    assert stored is not None and stored.received.consent_receipt_id is not None
    assert stored.consent_lost_at is None

    # The hub refuses envelopes whose receipt is missing, forged or for someone else.
    node_dir = net.layout.node_dir("huisarts-a")
    partner = PartnerKeys(
        "huisarts-a",
        PartnerType.HUISARTS,
        keys.load_signing_key(node_dir / "signing.key"),
        dt.datetime.now(dt.UTC),
        dt.datetime.now(dt.UTC),
    )
    hub_key = keys.load_sealing_key(net.layout.hub_dir / "sealing.key")
    # The receipt the GP's node gets for this child now.
    with ConsentClient(f"127.0.0.1:{net.registry.port}", net.tls(node_dir)) as as_node:
        genuine = as_node.check(
            child, "huisarts-a", PartnerType.HUISARTS, LifeDomain.ZORGEN, Purpose.SIGNALERING
        )
    assert genuine.permitted
    channel = secure_channel(f"127.0.0.1:{net.hub.port}", net.tls(node_dir), server_name="hub")
    intake = intake_pb2_grpc.IntakeServiceStub(channel)

    def submit(mutate: Callable[[signal_pb2.Signal], object]) -> grpc.StatusCode:
        today = dt.date.today()
        msg = signal_pb2.Signal(
            signal_type=GP,
            life_domain=vocabulary_pb2.LIFE_DOMAIN_ZORGEN,
            urgency=vocabulary_pb2.URGENCY_NORMAAL,
            legal_basis=vocabulary_pb2.LEGAL_BASIS_TOESTEMMING,
            observed_on=date_to_proto(today),
            keep_until=date_to_proto(today + dt.timedelta(days=300)),
            subject=signal_pb2.Subject(
                person_pseudonym=child.value,
                address_pseudonym=os.urandom(32),
                key_version=child.key_version,
            ),
        )
        msg.consent_receipt.receipt = genuine.receipt
        msg.consent_receipt.signature = genuine.signature
        mutate(msg)
        try:
            intake.Submit(intake_pb2.SubmitRequest(envelope=seal(partner, hub_key, msg)))
        except grpc.RpcError as exc:
            return exc.code()  # type: ignore[no-any-return]
        return grpc.StatusCode.OK

    before = len(net.store.list_signals())
    assert submit(lambda m: m.ClearField("consent_receipt")) is grpc.StatusCode.FAILED_PRECONDITION
    assert (
        submit(lambda m: setattr(m.consent_receipt, "signature", bytes(64)))
        is grpc.StatusCode.UNAUTHENTICATED
    )
    assert (
        submit(lambda m: setattr(m.subject, "person_pseudonym", os.urandom(32)))
        is grpc.StatusCode.FAILED_PRECONDITION
    )
    assert len(net.store.list_signals()) == before  # nothing of them stored
    assert submit(lambda m: None) is grpc.StatusCode.OK

    # The parent revokes: the hub stops counting both signals, keeps them, and voids the
    # receipt issued before the revocation.
    with net.portal_client() as client:
        client.revoke(_parent(parent, child), entry_id)

    def lost() -> bool:
        consent_based = [s for s in net.store.list_signals() if s.received.consent_receipt_id]
        return len(consent_based) == 2 and all(s.consent_lost_at for s in consent_based)

    _until(lost, 5, "the revocation at the hub")
    assert submit(lambda m: None) is grpc.StatusCode.FAILED_PRECONDITION
    channel.close()


def test_the_resident_service_shows_what_is_held_and_records_what_residents_say(
    net: Net, tmp_path: Path
) -> None:
    child, parent = net.person(CHILD), net.person(PARENT)
    _consent_for_child(net, child, parent)
    gp_id = net.node("huisarts-a").SubmitSignal(_request("HA-1", GP), timeout=10).id
    school_id = net.node("school-a").SubmitSignal(_request("SV-1", SCHOOL), timeout=10).id
    _delivered(net, "huisarts-a", gp_id)
    _delivered(net, "school-a", school_id)

    # A partner's certificate may not ask about residents.
    with (
        net.resident_client(net.layout.node_dir("school-a")) as stranger,
        pytest.raises(PermissionDenied),
    ):
        stranger.household_info([parent, child])

    with net.resident_client() as hub:
        info = hub.household_info([parent, child])
        by_ref = {s.reference: s for s in info.signals}
        assert set(by_ref) == {gp_id.hex(), school_id.hex()}
        assert all(s.subject == child for s in info.signals)
        assert {s.partner_type for s in info.signals} == {PartnerType.HUISARTS, PartnerType.SCHOOL}
        assert by_ref[gp_id.hex()].state is SignalState.COUNTS
        _until(lambda: hub.household_info([parent, child]).case is not None, 10, "the case")

        def objection(ref: str) -> Objection:
            held = by_ref[ref]
            return Objection(
                id=os.urandom(16),
                signal_reference=ref,
                subject=child,
                made_by=Party.PARENT,
                reason=ObjectionReason.INCORRECT,
                signal_type=held.signal_type,
                partner_type=held.partner_type,
                legal_basis=held.legal_basis,
                created_at=dt.datetime.now(dt.UTC),
            )

        hub.record_objection(objection(school_id.hex()))
        [listed] = net.store.open_objections()
        assert listed.signal_id == school_id and listed.reason.value == "INCORRECT"
        # Consent-based: revoke the consent instead; an unknown signal: not theirs to object to.
        gp_objection = dataclasses.replace(objection(school_id.hex()), signal_reference=gp_id.hex())
        with pytest.raises(FailedPrecondition):
            hub.record_objection(gp_objection)
        with pytest.raises(NotFound):
            hub.record_objection(
                dataclasses.replace(gp_objection, signal_reference=os.urandom(16).hex())
            )

        hub.state_preference(
            RegiehouderPreference(parent, RegiehouderChoice.SOCIAAL_TEAM, dt.datetime.now(dt.UTC))
        )
        [preference] = net.store.preferences_of([parent.value])
        assert preference.choice.value == "SOCIAAL_TEAM"

        # The school's signal (statute) becomes a message for the child, shown to its parent,
        # once however often the notices are read.
        store = PortalStore(f"sqlite:///{tmp_path / 'portal.db'}")
        try:
            follower = NoticeFollower(hub, store, clock=lambda: dt.datetime.now(dt.UTC))
            assert follower.poll_once() == 1
            store.set_hub_notice_cursor(0)  # as after a crash before the cursor was stored
            follower.poll_once()
            [message] = store.messages_for([child])
            assert message.signal_type.value == "SCHOOLVERZUIM"
            assert len(store.unsent_mail()) == 1
        finally:
            store.close()
