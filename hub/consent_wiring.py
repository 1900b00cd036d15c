"""The hub's consent parts from `[hub.consent]` (issue 5): receipt checking at intake, the
Watch follower, and the ResidentService for the portal. hub.wiring calls `build`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import grpc

from consent.client import ConsentClient
from consent.receipts import ReceiptVerifier
from hub.config import HubConfig
from hub.consent_check import ConsentGate, Narrowings
from hub.consent_follower import ConsentFollower
from hub.domain import Touched
from hub.registry import Registry
from hub.resident_servicer import ResidentServicer
from hub.store import HubStore
from seinhuis import logs, transport
from seinhuis.errors import ConfigError, Unavailable
from seinhuis.v1 import resident_pb2, resident_pb2_grpc

log = logs.get_logger(__name__)

SERVICE_NAME = transport.full_service_name(resident_pb2, "ResidentService")


@dataclass
class ConsentParts:
    """What `[hub.consent]` adds to a hub; start() and stop() run the follower, if any."""

    gate: ConsentGate | None
    follower: ConsentFollower | None = None

    def start(self) -> None:
        if self.follower is not None:
            self.follower.start()

    def stop(self) -> None:
        if self.follower is not None:
            self.follower.stop()


def build(
    config: HubConfig,
    *,
    store: HubStore,
    registry: Registry,
    wake_judge: Callable[[], None],
    server: grpc.Server,
    institutions: Callable[[], frozenset[bytes]],
    clock: Callable[[], dt.datetime],
) -> ConsentParts:
    """The consent parts, with the ResidentService added to `server`; without `[hub.consent]`
    nothing is checked (logged once as hub.consent_unchecked)."""
    c = config.consent
    if c is None:
        log.warning("hub.consent_unchecked")
        return ConsentParts(gate=None)
    partner_names = {p.certificate_cn for p in registry.partners.values()}
    if c.client_ids & partner_names:
        name = sorted(c.client_ids & partner_names)[0]
        raise ConfigError(
            f"hub.consent.client_ids: {name!r} is a partner's certificate name; a partner may "
            "never read residents' data"
        )
    try:
        verifier = ReceiptVerifier.from_files(c.receipt_keys)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"hub.consent.receipt_keys: cannot read ({exc})") from exc
    max_age = dt.timedelta(days=c.max_receipt_age_days)
    gate = ConsentGate(verifier, Narrowings(), max_age)
    resident_pb2_grpc.add_ResidentServiceServicer_to_server(
        ResidentServicer(
            store=store,
            registry=registry,
            client_ids=c.client_ids,
            institutions=institutions,
            clock=clock,
        ),
        server,
    )
    follower = None
    if c.target is not None or c.target_port_file is not None:
        server_name, port_file, fixed = c.server_name, c.target_port_file, c.target

        def target() -> str:
            if fixed is not None:
                return fixed
            assert port_file is not None
            try:
                port = port_file.read_text().strip()
            except OSError:
                port = ""
            if not port.isdigit():
                raise Unavailable("the consent registry has not written its port yet")
            return f"127.0.0.1:{port}"

        def submit(touched: Sequence[Touched]) -> None:
            store.queue_judgement(touched)
            wake_judge()  # in this process or its own

        follower = ConsentFollower(
            store,
            lambda: ConsentClient(target(), config.tls, server_name=server_name),
            gate.narrowings,
            submit=submit,
            clock=clock,
            max_age=max_age,
            sweep_interval_s=c.sweep_interval_s,
        )
    return ConsentParts(gate=gate, follower=follower)
