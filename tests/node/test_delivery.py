"""End to end: a node delivers to the real hub, pseudonyms from the real service, over mTLS."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hub import config as hub_config
from hub import wiring as hub_wiring
from node import config as node_config
from node import wiring as node_wiring
from node.model import DeliveryState, LocalDeath, LocalPerson
from pseudonym import config as pseudonym_config
from pseudonym import wiring as pseudonym_wiring
from seinhuis.keys_cli import PartnerSpec
from seinhuis.network import Layout
from seinhuis.transport import TlsFiles
from seinhuis.vocabulary import PartnerType, WithdrawReason
from tests.node.conftest import TODAY, ggd_signal, make_bsn, rent_arrears_signal, write_node_config

PARTNERS = [
    PartnerSpec("ggd-a", PartnerType.GGD),
    PartnerSpec("woco-a", PartnerType.WONINGCORPORATIE),
    PartnerSpec("brp", PartnerType.BRP),
]


@dataclass
class Network:
    layout: Layout
    hub: hub_wiring.HubService
    pseudonym: pseudonym_wiring.Service


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    """Keys for three partners, and a hub and a pseudonymisation service running in-process."""
    layout = Layout(tmp_path_factory.mktemp("network"))
    layout.create(PARTNERS)
    pseudonym = pseudonym_wiring.build(
        pseudonym_config.load(layout.pseudonym_dir / "pseudonym.toml")
    )
    pseudonym.start()
    hub = hub_wiring.build(hub_config.load(layout.hub_dir / "hub.toml"))
    hub.start()
    yield Network(layout, hub, pseudonym)
    hub.stop(0)
    pseudonym.stop(0)


StartOnNetwork = Callable[..., node_wiring.NodeService]


@pytest.fixture
def start_on_network(network: Network, tmp_path: Path) -> Iterator[StartOnNetwork]:
    """start_on_network(partner_id, partner_type=, hub_port=, **settings) -> a started node."""
    started: list[node_wiring.NodeService] = []

    def start(
        partner_id: str = "ggd-a",
        partner_type: PartnerType | None = None,
        folder: Path | None = None,
        **kwargs: object,
    ) -> node_wiring.NodeService:
        keys = network.layout.node_dir(partner_id)
        ptype = partner_type or next(p.type for p in PARTNERS if p.id == partner_id)
        settings: dict[str, object] = {
            "hub_port": network.hub.port,
            "pseudonym_port": network.pseudonym.port,
        } | kwargs
        path = write_node_config(
            folder or tmp_path / f"{partner_id}-{len(started)}",
            partner_id=partner_id,
            partner_type=ptype,
            tls=TlsFiles(network.layout.root / "ca" / "ca.crt", keys / "tls.crt", keys / "tls.key"),
            signing_key=keys / "signing.key",
            cache_key=keys / "cache.key",
            hub_sealing_pub=keys / "hub-sealing.pub",
            **settings,  # type: ignore[arg-type]
        )
        service = node_wiring.build(node_config.load(path))
        service.start()
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop(0)


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def state(service: node_wiring.NodeService, message_id: bytes) -> DeliveryState:
    return service.local.node.status(message_id=message_id).state


def test_an_accepted_signal_reaches_the_hub_once(
    network: Network, start_on_network: StartOnNetwork
) -> None:
    """Accepted, pseudonymised by the real service, signed, sealed, stored at the hub."""
    node = start_on_network()
    message_id = node.local.node.submit_signal(ggd_signal(3))
    wait_for(lambda: state(node, message_id) is DeliveryState.DELIVERED)
    stored = network.hub.store.get_signal(message_id)
    assert stored is not None and stored.received.partner_id == "ggd-a"
    person = stored.received.signal.person_pseudonym
    assert person is not None and len(person) == 32
    # The same person through another node of the same partner: the same pseudonym.
    other = start_on_network()
    second = other.local.node.submit_signal(ggd_signal(3))
    wait_for(lambda: state(other, second) is DeliveryState.DELIVERED)
    again = network.hub.store.get_signal(second)
    assert again is not None
    assert again.received.signal.person_pseudonym == stored.received.signal.person_pseudonym
    assert node.local.node.status(message_id=message_id).attempts == 1


def test_a_redelivery_the_hub_already_holds_counts_as_delivered(
    start_on_network: StartOnNetwork, tmp_path: Path
) -> None:
    """ALREADY_EXISTS acknowledges a resend (a crash between sending and recording)."""
    folder = tmp_path / "crashy"
    offline = start_on_network(folder=folder, hub_port=1)
    message_id = offline.local.node.submit_signal(ggd_signal(4))
    (payload,) = offline.local.outbox._conn.execute(
        "SELECT payload FROM outbox WHERE id = ?", (message_id,)
    ).fetchone()
    offline.stop(0)
    online = start_on_network(folder=folder)
    wait_for(lambda: state(online, message_id) is DeliveryState.DELIVERED)
    online.local.outbox._conn.execute(
        "UPDATE outbox SET state = 'PENDING', payload = ? WHERE id = ?", (payload, message_id)
    )
    online.local.outbox.wake()
    wait_for(lambda: state(online, message_id) is DeliveryState.DELIVERED)
    status = online.local.node.status(message_id=message_id)
    assert status.refusal_code == 0 and status.attempts >= 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_hub_outage_is_ridden_out_with_backoff(
    network: Network, start_on_network: StartOnNetwork
) -> None:
    """While the hub is away the signal stays pending and is retried; then it is delivered."""
    port = _free_port()
    node = start_on_network(hub_port=port)
    message_id = node.local.node.submit_signal(ggd_signal(5))
    wait_for(lambda: node.local.node.status(message_id=message_id).attempts >= 2)
    assert state(node, message_id) is DeliveryState.PENDING
    text = (network.layout.hub_dir / "hub.toml").read_text()
    late = network.layout.hub_dir / "late-hub.toml"
    late.write_text(
        text.replace('\nlisten = "127.0.0.1:0"', f'\nlisten = "127.0.0.1:{port}"')
        .replace('port_file = "hub.port"\n', "")
        .replace("sqlite:///hub.db", "sqlite:///late-hub.db")
    )
    hub = hub_wiring.build(hub_config.load(late))
    hub.start()
    try:
        wait_for(lambda: state(node, message_id) is DeliveryState.DELIVERED)
        assert hub.store.get_signal(message_id) is not None
    finally:
        hub.stop(0)


def test_a_signal_the_hub_refuses_is_marked_refused(
    start_on_network: StartOnNetwork,
) -> None:
    """A node misconfigured as GGD while registered as housing corporation: refused, not retried."""
    node = start_on_network("woco-a", partner_type=PartnerType.GGD)
    message_id = node.local.node.submit_signal(ggd_signal(6))
    wait_for(lambda: state(node, message_id) is DeliveryState.REFUSED)
    status = node.local.node.status(message_id=message_id)
    assert status.refusal_code not in (0, 6) and status.refusal_message
    assert status.attempts == 1


def test_withdrawing_a_delivered_signal_goes_through_the_hub_and_the_feed(
    network: Network, start_on_network: StartOnNetwork
) -> None:
    """The hub erases it, the node marks it withdrawn, the feed's notice lands in the inbox."""
    node = start_on_network()
    message_id = node.local.node.submit_signal(ggd_signal(7, partner_reference="to-withdraw"))
    wait_for(lambda: state(node, message_id) is DeliveryState.DELIVERED)
    node.local.node.withdraw(reference="to-withdraw", reason=WithdrawReason.UNJUSTIFIED)
    assert state(node, message_id) is DeliveryState.WITHDRAWN
    assert network.hub.store.get_signal(message_id) is None
    wait_for(lambda: any(n.id == message_id for n in node.local.inbox.list()))
    (notice,) = [n for n in node.local.inbox.list() if n.id == message_id]
    assert notice.kind == "signal_withdrawn" and notice.partner_reference == "to-withdraw"
    assert notice.reason is WithdrawReason.UNJUSTIFIED
    assert node.local.inbox.cursor() >= notice.cursor


def test_the_brp_delivers_population_events(
    network: Network, start_on_network: StartOnNetwork
) -> None:
    """A BRP node's population event reaches the hub's population facts."""
    node = start_on_network("brp")
    message_id = node.local.node.submit_population_event(
        LocalDeath(LocalPerson(make_bsn(8)), TODAY)
    )
    wait_for(lambda: state(node, message_id) is DeliveryState.DELIVERED)
    assert any(f.id == message_id for f in network.hub.store.list_population_facts())


def test_a_node_stops_promptly_while_backing_off(start_on_network: StartOnNetwork) -> None:
    """stop() cancels the sender's wait and the feed's reconnect loop."""
    node = start_on_network(hub_port=1)
    node.local.node.submit_signal(ggd_signal(9))
    time.sleep(0.3)
    started = time.monotonic()
    node.stop(0)
    assert time.monotonic() - started < 3.0


def test_a_housing_corporation_delivers_without_a_person(
    network: Network, start_on_network: StartOnNetwork
) -> None:
    """An early debt signal with an address pseudonym only is accepted by the hub."""
    node = start_on_network("woco-a")
    message_id = node.local.node.submit_signal(rent_arrears_signal(3))
    wait_for(lambda: state(node, message_id) is DeliveryState.DELIVERED)
    stored = network.hub.store.get_signal(message_id)
    assert stored is not None and not stored.received.signal.person_pseudonym
    assert stored.received.signal.arrears is not None
