"""Real service processes for the metrics, security and interop tests, and what they share.

Starts the pseudonymisation service, the hub, the consent registry and nodes with
seinhuis.network's Layout and Launcher (loopback, port 0, mutual TLS, metrics on), and offers
the helpers those tests need: a synthetic signal, sealing as a partner, health checks, waiting.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from consent import receipts
from hub import config as hub_config
from hub.store import HubStore, open_store
from seinhuis import transport
from seinhuis.crypto.envelope import Sealer
from seinhuis.crypto.keys import load_sealing_public, load_signing_key
from seinhuis.crypto.pki import DevCA
from seinhuis.keys_cli import PartnerSpec, copy_partner_list
from seinhuis.network import METRICS_SETTINGS, Launcher, Layout, Running
from seinhuis.serde import date_to_proto
from seinhuis.transport import TlsFiles
from seinhuis.v1 import envelope_pb2, node_pb2, signal_pb2, vocabulary_pb2

#: Synthetic citizen numbers (999 range, elfproef holds).
BSNS = ("999990019", "999990020", "999990032")

CONSENT_TOML = """\
[consent]
listen = "127.0.0.1:0"
port_file = "consent.port"
database_url = "sqlite:///consent.db"
signing_key = "keys/receipt-signing.key"
portal_ids = ["portal"]
hub_ids = ["hub"]
partners = "partners.yaml"
watch_poll_s = 0.2
{metrics}[consent.tls]
ca_cert = "../ca/ca.crt"
cert = "tls.crt"
key = "tls.key"
"""


def wait_for(what: str, condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def serving(channel: grpc.Channel, timeout: float = 10.0) -> bool:
    """Does the server behind the channel answer a health check with SERVING?"""
    stub: Any = health_pb2_grpc.HealthStub(channel)  # the health stubs are untyped
    answer = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
    return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)


@dataclass
class Services:
    """Running service processes of one test network."""

    layout: Layout
    launcher: Launcher
    pseudonym: Running
    hub: Running
    consent: Running | None = None
    nodes: dict[str, Running] = field(default_factory=dict)
    _channels: list[grpc.Channel] = field(default_factory=list)
    _store: HubStore | None = None

    @property
    def ca(self) -> DevCA:
        return DevCA.load(self.layout.root / "ca")

    def partner_tls(self, partner_id: str) -> TlsFiles:
        folder = self.layout.node_dir(partner_id)
        return TlsFiles(self.layout.root / "ca" / "ca.crt", folder / "tls.crt", folder / "tls.key")

    def issue(self, common_name: str) -> TlsFiles:
        """A client certificate from the network's CA for any name (registered or not)."""
        return self.ca.issue(self.layout.root / "extra" / common_name, common_name)

    def channel(self, run: Running, tls: TlsFiles | None, server_name: str) -> grpc.Channel:
        """mTLS to a service as `tls`; a plain channel for a node's local API (tls None)."""
        if tls is None:
            ch = grpc.insecure_channel(run.address)
        else:
            ch = transport.secure_channel(run.address, tls, server_name=server_name)
        self._channels.append(ch)
        return ch

    def sealer(self, partner_id: str) -> Sealer:
        folder = self.layout.node_dir(partner_id)
        return Sealer(
            partner_id=partner_id,
            signing_key=load_signing_key(folder / "signing.key"),
            hub_id="hub",
            hub_public=load_sealing_public(folder / "hub-sealing.pub"),
        )

    def hub_store(self) -> HubStore:
        """A read view of the hub's database, closed with the services."""
        if self._store is None:
            config = hub_config.load(self.layout.hub_dir / "hub.toml")
            self._store = open_store(config.database_url)
        return self._store

    def hub_signal_count(self, partner_id: str) -> int:
        """Signals (live or withdrawn) and population facts the hub holds from a partner."""
        store = self.hub_store()
        signals = sum(
            c.active + c.withdrawn for c in store.count_signals() if c.partner_id == partner_id
        )
        return signals + sum(1 for f in store.list_population_facts() if f.partner_id == partner_id)

    def stop(self) -> None:
        if self._store is not None:
            self._store.close()
        for ch in self._channels:
            ch.close()
        self.launcher.stop_all()


def write_consent_config(layout: Layout) -> Path:
    """Certificate (CN consent), receipt keys, partner list and consent.toml (metrics on)."""
    folder = layout.root / "consent"
    DevCA.load(layout.root / "ca").issue(folder, "consent", server=True)
    receipts.generate_keys(folder / "keys")
    copy_partner_list(layout.root, folder)
    path = folder / "consent.toml"
    path.write_text(CONSENT_TOML.format(metrics=METRICS_SETTINGS))
    return path


def start_services(
    root: Path,
    partners: list[PartnerSpec],
    *,
    nodes: tuple[str, ...] = (),
    consent: bool = False,
    hub_settings: tuple[str, ...] = (),
) -> Services:
    """Keys for everyone, then the services as processes; stop() ends them."""
    layout = Layout(root)
    layout.create(partners)
    for line in hub_settings:
        layout.add_hub_setting(line)
    launcher = Launcher(layout)
    try:
        pseudonym = launcher.start(
            "pseudonym", "pseudonym", layout.pseudonym_dir / "pseudonym.toml"
        )
        layout.connect_hub_to_pseudonym(pseudonym.port)
        hub = launcher.start("hub", "hub", layout.hub_dir / "hub.toml")
        services = Services(layout, launcher, pseudonym, hub)
        if consent:
            services.consent = launcher.start("consent", "consent", write_consent_config(layout))
        by_id = {p.id: p for p in partners}
        for partner_id in nodes:
            config = layout.write_node_config(
                by_id[partner_id], hub_port=hub.port, pseudonym_port=pseudonym.port
            )
            services.nodes[partner_id] = launcher.start(partner_id, "node", config)
    except BaseException:
        launcher.stop_all()
        raise
    return services


# --- messages ---------------------------------------------------------------------------------


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def local_school_signal(
    bsn: str, *, postcode: str = "3511 AB", house: int = 7
) -> node_pb2.SubmitSignalRequest:
    """A SCHOOLVERZUIM signal (statute-based: no consent involved) as a school's system gives it
    to its node."""
    return node_pb2.SubmitSignalRequest(
        signal_type=vocabulary_pb2.SIGNAL_TYPE_SCHOOLVERZUIM,
        urgency=vocabulary_pb2.URGENCY_NORMAAL,
        subject=node_pb2.LocalSubject(
            bsn=bsn,
            birth_date=vocabulary_pb2.Date(year=2014, month=5, day=17),
            postcode=postcode,
            house_number=house,
        ),
    )


def arrears_signal() -> signal_pb2.Signal:
    """A valid HUURACHTERSTAND payload from a housing corporation (random address pseudonym)."""
    day = today()
    return signal_pb2.Signal(
        signal_type=vocabulary_pb2.SIGNAL_TYPE_HUURACHTERSTAND,
        life_domain=vocabulary_pb2.LIFE_DOMAIN_RONDKOMEN,
        urgency=vocabulary_pb2.URGENCY_NORMAAL,
        legal_basis=vocabulary_pb2.LEGAL_BASIS_WGS_VROEGSIGNALERING,
        observed_on=date_to_proto(day),
        keep_until=date_to_proto(day + dt.timedelta(days=90)),
        subject=signal_pb2.Subject(address_pseudonym=os.urandom(32), key_version=1),
        arrears=signal_pb2.Arrears(
            amount_cents=80_000,
            months_in_arrears=2,
            contact_attempted=True,
            written_reminder_sent=True,
        ),
    )


def statement(
    payload: signal_pb2.Signal, message_id: bytes | None = None
) -> envelope_pb2.Statement:
    st = envelope_pb2.Statement(id=message_id or os.urandom(16))
    st.signed_at.FromDatetime(dt.datetime.now(dt.UTC))
    st.signal.CopyFrom(payload)
    return st
