"""Hub test fixtures: partner identities, and a real hub over mutual TLS on port 0."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from nacl.public import PrivateKey

from hub import config as config_module
from hub.store import HubStore
from hub.wiring import HubService, build
from seinhuis import transport
from seinhuis.crypto.keys import generate_sealing_key, load_sealing_key
from seinhuis.transport import TlsFiles
from seinhuis.v1 import feed_pb2_grpc, intake_pb2_grpc
from seinhuis.vocabulary import PartnerType
from tests.hub.builders import PartnerKeys, partner_keys

_NOW = dt.datetime.now(dt.UTC)
#: id -> (type, valid_from, valid_until) of the partners every test hub knows.
PARTNERS: dict[str, tuple[PartnerType, dt.datetime | None, dt.datetime | None]] = {
    "ggd-a": (PartnerType.GGD, None, None),
    "ggd-b": (PartnerType.GGD, None, None),
    "woco-a": (PartnerType.WONINGCORPORATIE, None, None),
    "brp": (PartnerType.BRP, None, None),
    # A partner whose only key expired yesterday.
    "ggd-old": (
        PartnerType.GGD,
        _NOW - dt.timedelta(days=700),
        _NOW - dt.timedelta(days=1),
    ),
}


@dataclass(frozen=True)
class Identity:
    """What a test node holds: its signing key and its TLS client certificate."""

    keys: PartnerKeys
    tls: TlsFiles


@pytest.fixture(scope="session")
def identities(issue_tls: Callable[..., TlsFiles]) -> dict[str, Identity]:
    """Signing keys and client certificates for every partner, plus an unregistered one."""
    found = {
        pid: Identity(partner_keys(pid, ptype, valid_from=vf, valid_until=vu), issue_tls(pid))
        for pid, (ptype, vf, vu) in PARTNERS.items()
    }
    found["stranger"] = Identity(partner_keys("stranger", PartnerType.GGD), issue_tls("stranger"))
    return found


@pytest.fixture(scope="session")
def hub_tls(issue_tls: Callable[..., TlsFiles]) -> TlsFiles:
    return issue_tls("hub", server=True)


@dataclass
class Hub:
    """A running hub and what tests need to talk to it."""

    service: HubService
    port: int
    sealing_key: PrivateKey
    identities: dict[str, Identity]
    config: config_module.HubConfig
    config_path: Path
    _channels: list[grpc.Channel] = field(default_factory=list)

    @property
    def store(self) -> HubStore:
        return self.service.store

    def channel(self, partner_id: str) -> grpc.Channel:
        tls = self.identities[partner_id].tls
        ch = transport.secure_channel(f"127.0.0.1:{self.port}", tls, server_name="hub")
        self._channels.append(ch)
        return ch

    def intake(self, partner_id: str) -> intake_pb2_grpc.IntakeServiceStub:
        return intake_pb2_grpc.IntakeServiceStub(self.channel(partner_id))

    def feed(self, partner_id: str) -> feed_pb2_grpc.PartnerFeedServiceStub:
        return feed_pb2_grpc.PartnerFeedServiceStub(self.channel(partner_id))

    def keys(self, partner_id: str) -> PartnerKeys:
        return self.identities[partner_id].keys

    def close(self) -> None:
        for ch in self._channels:
            ch.close()


def write_hub_files(
    folder: Path, hub_tls: TlsFiles, identities: dict[str, Identity], **overrides: Any
) -> Path:
    """partners.yaml, a sealing key and hub.toml in `folder`; returns the hub.toml path."""
    generate_sealing_key(folder / "sealing.key", folder / "sealing.pub")
    registry = {
        "hub_id": "hub",
        "partners": [identities[pid].keys.registry_entry() for pid in PARTNERS],
    }
    (folder / "partners.yaml").write_text(yaml.safe_dump(registry))
    settings: dict[str, Any] = {
        "id": '"hub"',
        "listen": '"127.0.0.1:0"',
        "port_file": '"hub.port"',
        "database_url": '"sqlite:///hub.db"',
        "registry": '"partners.yaml"',
        "sealing_keys": '["sealing.key"]',
        "max_clock_skew_s": "300",
        "max_envelopes_per_stream": "10000",
        "rate_per_partner": "100000.0",
        "rate_burst": "100000",
    } | {k: str(v) for k, v in overrides.items()}
    lines = ["[hub]", *(f"{k} = {v}" for k, v in settings.items()), "[hub.tls]"]
    lines += [
        f'ca_cert = "{hub_tls.ca_cert}"',
        f'cert = "{hub_tls.cert}"',
        f'key = "{hub_tls.key}"',
    ]
    path = folder / "hub.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def start_hub(
    tmp_path: Path, hub_tls: TlsFiles, identities: dict[str, Identity]
) -> Iterator[Callable[..., Hub]]:
    """start_hub(**hub_toml_overrides) -> a started Hub, stopped after the test."""
    started: list[Hub] = []

    def start(**overrides: Any) -> Hub:
        folder = tmp_path / f"hub{len(started)}"
        folder.mkdir()
        config_path = write_hub_files(folder, hub_tls, identities, **overrides)
        config = config_module.load(config_path)
        service = build(config)
        port = service.start()
        hub = Hub(
            service=service,
            port=port,
            sealing_key=load_sealing_key(folder / "sealing.key"),
            identities=identities,
            config=config,
            config_path=config_path,
        )
        started.append(hub)
        return hub

    yield start
    for hub in started:
        hub.close()
        hub.service.stop(grace=0.5)


@pytest.fixture
def hub(start_hub: Callable[..., Hub]) -> Hub:
    """A hub with generous limits and an SQLite store."""
    return start_hub()


@pytest.fixture
def make_stub() -> Iterator[Callable[[int, TlsFiles], intake_pb2_grpc.IntakeServiceStub]]:
    """make_stub(port, tls) -> an intake stub on 127.0.0.1:port; channels closed afterwards."""
    channels: list[grpc.Channel] = []

    def make(port: int, tls: TlsFiles) -> intake_pb2_grpc.IntakeServiceStub:
        channel = transport.secure_channel(f"127.0.0.1:{port}", tls, server_name="hub")
        channels.append(channel)
        return intake_pb2_grpc.IntakeServiceStub(channel)

    yield make
    for channel in channels:
        channel.close()
