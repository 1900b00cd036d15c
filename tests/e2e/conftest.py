"""A whole Seinhuis network in separate processes on loopback, for end-to-end tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest

from hub import config as hub_config
from hub.store import HubStore, open_store
from seinhuis.keys_cli import PartnerSpec
from seinhuis.network import Launcher, Layout, Running
from seinhuis.v1 import node_pb2, node_pb2_grpc
from seinhuis.vocabulary import PartnerType

DEFAULT_PARTNERS = [
    PartnerSpec("ggd-test", PartnerType.GGD),
    PartnerSpec("woco-test", PartnerType.WONINGCORPORATIE),
    PartnerSpec("school-test", PartnerType.SCHOOL),
    PartnerSpec("huisarts-test", PartnerType.HUISARTS),
    PartnerSpec("brp-test", PartnerType.BRP),
]


@dataclass
class Network:
    """Running services and helpers to talk to them."""

    layout: Layout
    launcher: Launcher
    pseudonym: Running
    hub: Running
    nodes: dict[str, Running] = field(default_factory=dict)

    def node_stub(self, partner_id: str) -> node_pb2_grpc.NodeServiceStub:
        return node_pb2_grpc.NodeServiceStub(grpc.insecure_channel(self.nodes[partner_id].address))

    def start_node(self, partner: PartnerSpec, *, batch_size: int = 500) -> Running:
        config = self.layout.write_node_config(
            partner,
            hub_port=self.hub.port,
            pseudonym_port=self.pseudonym.port,
            batch_size=batch_size,
        )
        run = self.launcher.start(partner.id, "node", config)
        self.nodes[partner.id] = run
        return run

    def restart(self, run: Running) -> Running:
        new = self.launcher.restart(run)
        if run is self.hub:
            self.hub = new
        elif run is self.pseudonym:
            self.pseudonym = new
        else:
            self.nodes[run.name] = new
        return new

    def hub_store(self) -> HubStore:
        """A read view of the hub's database (SQLite in WAL mode allows concurrent readers)."""
        return open_store(hub_config.load(self.layout.hub_dir / "hub.toml").database_url)

    def wait_until_delivered(self, partner_id: str, ids: list[bytes], timeout: float = 60) -> None:
        stub = self.node_stub(partner_id)
        pending = set(ids)
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for i in list(pending):
                status = stub.GetSignalStatus(node_pb2.GetSignalStatusRequest(id=i), timeout=10)
                if status.state != node_pb2.DELIVERY_STATE_PENDING:
                    pending.discard(i)
            if pending:
                time.sleep(0.1)
        assert not pending, f"{len(pending)} messages still pending after {timeout} s"

    def all_written_files(self, *services: str) -> list[Path]:
        """Every file the named services wrote (their folders and their logs)."""
        files: list[Path] = []
        for name in services:
            folder = {"hub": self.layout.hub_dir, "pseudonym": self.layout.pseudonym_dir}[name]
            files += [p for p in folder.rglob("*") if p.is_file()]
            files += list(self.layout.log_dir.glob(f"{name}.log"))
        return files


@pytest.fixture
def network_factory(tmp_path: Path) -> Iterator[Callable[..., Network]]:
    """network_factory(partners=DEFAULT_PARTNERS, start_nodes=True) -> a running Network."""
    launchers: list[Launcher] = []

    def make(
        partners: list[PartnerSpec] | None = None,
        *,
        start_nodes: bool = True,
        batch_size: int = 500,
        before_hub: Callable[[Layout, Running], None] | None = None,
        capture_requests: bool = False,
        rekey_interval_s: float = 30.0,
    ) -> Network:
        partners = DEFAULT_PARTNERS if partners is None else partners
        layout = Layout(tmp_path / "net")
        layout.create(partners, capture_requests=capture_requests)
        launcher = Launcher(layout)
        launchers.append(launcher)
        pseudonym = launcher.start(
            "pseudonym", "pseudonym", layout.pseudonym_dir / "pseudonym.toml"
        )
        layout.connect_hub_to_pseudonym(pseudonym.port, rekey_interval_s=rekey_interval_s)
        if before_hub is not None:
            before_hub(layout, pseudonym)
        hub = launcher.start("hub", "hub", layout.hub_dir / "hub.toml")
        net = Network(layout, launcher, pseudonym, hub)
        if start_nodes:
            for p in partners:
                net.start_node(p, batch_size=batch_size)
        return net

    yield make
    for launcher in launchers:
        launcher.stop_all()
