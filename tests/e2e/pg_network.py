"""A network whose hubs share one PostgreSQL database: several hub processes, nodes that
spread their calls over all of them (round robin), real processes on loopback with mTLS."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from hub.store import HubStore, SqlHubStore
from seinhuis import transport
from seinhuis.keys_cli import PartnerSpec
from seinhuis.network import Launcher, Layout, Running, hub_names
from seinhuis.v1 import feed_pb2, feed_pb2_grpc, node_pb2, node_pb2_grpc


@dataclass
class PgNetwork:
    layout: Layout
    launcher: Launcher
    database_url: str
    pseudonym: Running
    hubs: list[Running]
    nodes: dict[str, Running] = field(default_factory=dict)

    @property
    def hub_ports(self) -> list[int]:
        return [h.port for h in self.hubs]

    def start_node(self, partner: PartnerSpec, *, batch_size: int = 500) -> Running:
        config = self.layout.write_node_config(
            partner,
            hub_port=self.hub_ports,
            pseudonym_port=self.pseudonym.port,
            batch_size=batch_size,
        )
        run = self.launcher.start(partner.id, "node", config, timeout=120)
        self.nodes[partner.id] = run
        return run

    def node_stub(self, partner_id: str) -> node_pb2_grpc.NodeServiceStub:
        return node_pb2_grpc.NodeServiceStub(grpc.insecure_channel(self.nodes[partner_id].address))

    def hub_store(self) -> HubStore:
        """A view of the shared database, as the hubs see it."""
        return SqlHubStore(self.database_url)

    def hub_log_events(self, hub: Running, event: str) -> list[dict[str, object]]:
        """The JSON log lines of one hub process with this event name."""
        found = []
        for line in hub.log_path.read_text(errors="replace").splitlines():
            if f'"{event}"' in line and line.startswith("{"):
                record = json.loads(line)
                if record.get("event") == event:
                    found.append(record)
        return found

    def wait_until_delivered(self, partner_id: str, ids: list[bytes], timeout: float = 120) -> None:
        """Until the node reports every id delivered (or refused)."""
        pending = set(ids)
        deadline = time.monotonic() + timeout
        with grpc.insecure_channel(self.nodes[partner_id].address) as channel:
            stub = node_pb2_grpc.NodeServiceStub(channel)
            while pending and time.monotonic() < deadline:
                for i in list(pending):
                    status = stub.GetSignalStatus(node_pb2.GetSignalStatusRequest(id=i), timeout=30)
                    if status.state != node_pb2.DELIVERY_STATE_PENDING:
                        pending.discard(i)
                if pending:
                    time.sleep(0.1)
        assert not pending, f"{len(pending)} messages of {partner_id} still pending"

    def outbox(self, partner_id: str) -> dict[bytes, str]:
        """Every message in the node's outbox and its state, read from its SQLite file."""
        path = self.layout.node_dir(partner_id) / "node.db"
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            return {bytes(i): str(s) for i, s in conn.execute("SELECT id, state FROM outbox")}
        finally:
            conn.close()

    def feed_channel(self, hub: Running, partner_id: str) -> grpc.Channel:
        """A channel to one particular hub process with the partner's own certificate."""
        folder = self.layout.node_dir(partner_id)
        tls = transport.TlsFiles(
            self.layout.root / "ca" / "ca.crt", folder / "tls.crt", folder / "tls.key"
        )
        return transport.secure_channel(hub.address, tls, server_name="hub")

    def feed(self, hub: Running, partner_id: str) -> list[feed_pb2.SubscribeResponse]:
        """Everything in the partner's feed, as this hub process serves it."""
        channel = self.feed_channel(hub, partner_id)
        out: list[feed_pb2.SubscribeResponse] = []
        try:
            # Connected first: on a busy machine the handshake alone may take seconds.
            grpc.channel_ready_future(channel).result(timeout=60)
            stream = feed_pb2_grpc.PartnerFeedServiceStub(channel).Subscribe(
                feed_pb2.SubscribeRequest(after_cursor=0), timeout=3
            )
            out.extend(stream)
        except grpc.RpcError as exc:
            assert exc.code() is grpc.StatusCode.DEADLINE_EXCEEDED, exc
        finally:
            channel.close()
        return out


def start_network(
    root: Path,
    database_url: str,
    partners: list[PartnerSpec],
    *,
    hubs: int = 2,
    batch_size: int = 500,
    before_hub: Callable[[Layout], None] | None = None,
) -> PgNetwork:
    """Keys and configs under `root`, the pseudonymisation service, `hubs` hub processes on
    one database, and a node per partner pointed at all of them."""
    layout = Layout(root)
    layout.create(partners, database_url=database_url, hubs=hubs)
    if before_hub is not None:
        before_hub(layout)
    launcher = Launcher(layout)
    try:
        pseudonym = launcher.start(
            "pseudonym", "pseudonym", layout.pseudonym_dir / "pseudonym.toml"
        )
        # At once, as in a deployment: the hubs race to migrate the empty database, and
        # starting processes one by one would take most of the test's time.
        with ThreadPoolExecutor(max(hubs, len(partners))) as pool:
            started = list(
                pool.map(
                    lambda name: launcher.start(
                        name, "hub", layout.root / name / "hub.toml", timeout=120
                    ),
                    hub_names(hubs),
                )
            )
            net = PgNetwork(layout, launcher, database_url, pseudonym, started)
            list(pool.map(lambda p: net.start_node(p, batch_size=batch_size), partners))
    except BaseException:
        launcher.stop_all()
        raise
    return net


def running(net: PgNetwork) -> Iterator[PgNetwork]:
    """Yield the network; stop every process afterwards, also after a failure."""
    try:
        yield net
    finally:
        stop(net)


def stop(net: PgNetwork) -> None:
    """Stop every process, all at once (SIGTERM, then SIGKILL after a while)."""
    processes = list(net.launcher.running)
    with ThreadPoolExecutor(max(1, len(processes))) as pool:
        list(pool.map(lambda run: run.stop(), processes))
    net.launcher.stop_all()


def synthetic_bsns(n: int) -> list[str]:
    """The first n test citizen numbers: 999 followed by digits that pass the elfproef."""
    found: list[str] = []
    candidate = 0
    while len(found) < n:
        digits = f"999{candidate:05d}"
        candidate += 1
        check = sum(int(d) * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if check < 10:  # a remainder of 10 has no check digit
            found.append(digits + str(check))
    return found
