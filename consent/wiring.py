"""Builds the consent registry from its config: receipt key, store, domain, servicer, server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import grpc
from grpc_health.v1 import health

from consent import receipts
from consent.access import Access
from consent.config import ConsentConfig
from consent.registry import ConsentRegistry
from consent.servicer import ConsentServicer
from consent.store.base import ConsentStore
from consent.store.sql import SqlConsentStore
from seinhuis import logs, metrics, partner_list, transport
from seinhuis.atomic import write_port_file
from seinhuis.errors import ConfigError
from seinhuis.v1 import consent_pb2, consent_pb2_grpc

if TYPE_CHECKING:  # the portal's stack is imported only when the config has a portal
    from consent.portal.household import HouseholdInfoSource
    from consent.portal.identity import Pseudonymizer
    from consent.portal.wiring import PortalService

log = logs.get_logger(__name__)

ROLE = "consent"
SERVICE_NAME = transport.full_service_name(consent_pb2, "ConsentService")
#: Worker threads; each open Watch holds one (the hub opens one per hub process).
_WORKERS = 32


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Service:
    """A built, not yet started, registry; start() binds and returns the port."""

    config: ConsentConfig
    registry: ConsentRegistry
    store: ConsentStore
    servicer: ConsentServicer
    server: grpc.Server
    health: health.HealthServicer
    #: The resident portal, when the config has one.
    portal: PortalService | None = None
    port: int = 0
    #: Serves /metrics when the config sets metrics_listen.
    exporter: metrics.Exporter | None = None

    def start(self) -> int:
        try:
            port = self.server.add_secure_port(
                self.config.listen, transport.server_credentials(self.config.tls)
            )
        except RuntimeError as exc:  # grpc raises this when it cannot bind
            raise ConfigError(f"consent.listen: cannot bind {self.config.listen}") from exc
        except OSError as exc:
            raise ConfigError(f"consent.tls: cannot read ({exc.strerror})") from exc
        if port == 0 and not self.config.listen.startswith("unix:"):
            raise ConfigError(f"consent.listen: cannot bind {self.config.listen}")
        if self.exporter is not None:
            self.exporter.start()
        self.server.start()
        self.port = port
        if self.config.port_file is not None:
            write_port_file(self.config.port_file, port)
        listen = self.config.listen
        address = listen if listen.startswith("unix:") else f"{listen.rpartition(':')[0]}:{port}"
        log.info("service.started", address=address, role=ROLE)
        if self.portal is not None and self.config.portal is not None:
            try:
                portal_port = self.portal.start()
            except Exception:
                self.server.stop(0)
                raise
            if self.config.portal.port_file is not None:
                write_port_file(self.config.portal.port_file, portal_port)
        return port

    def stop(self, grace: float = 2.0) -> None:
        if self.portal is not None:
            self.portal.stop()
        log.info("service.stopping", role=ROLE)
        self.health.enter_graceful_shutdown()
        self.servicer.shutdown()
        self.server.stop(grace).wait()
        if self.exporter is not None:
            self.exporter.stop()
        self.store.close()

    def wait(self) -> None:
        self.server.wait_for_termination()


def build(
    config: ConsentConfig,
    *,
    clock: Callable[[], dt.datetime] = _utc_now,
    store: ConsentStore | None = None,
    household: HouseholdInfoSource | None = None,
    pseudonymizer: Pseudonymizer | None = None,
) -> Service:
    """Everything the registry (and its portal) need, from the config; nothing listens yet.

    household: what the portal's Overzicht shows (default: none yet, see consent.portal.household);
    pseudonymizer: instead of a client of the configured pseudonymisation service (tests).
    """
    partners = partner_list.load(config.partners)
    if clash := (config.portal_ids | config.hub_ids) & set(partners):
        raise ConfigError(
            f"{config.partners}: {', '.join(sorted(clash))} cannot be both a partner and"
            " a portal or the hub"
        )
    signer = receipts.Ed25519ReceiptSigner(receipts.load_signing_key(config.signing_key))
    store = (
        store
        if store is not None
        else SqlConsentStore(config.database_url, auto_migrate=config.auto_migrate)
    )
    registry = ConsentRegistry(store, signer, clock=clock)
    access = Access(config.portal_ids, config.hub_ids, partners)
    servicer = ConsentServicer(registry, access, poll_s=config.watch_poll_s)
    server = transport.build_server(max_workers=_WORKERS)
    consent_pb2_grpc.add_ConsentServiceServicer_to_server(servicer, server)
    health_servicer = transport.add_health_and_reflection(server, [SERVICE_NAME])
    portal = None
    if config.portal is not None:
        from consent.portal import wiring as portal_wiring  # Flask and friends only when used

        portal = portal_wiring.build(
            config.portal,
            consent=registry,
            database_url=config.database_url,
            portal_ids=config.portal_ids,
            clock=clock,
            household=household,
            pseudonymizer=pseudonymizer,
            hub_tls=config.tls,
        )
    exporter = metrics.Exporter(config.metrics_listen, config.metrics_port_file)
    return Service(
        config, registry, store, servicer, server, health_servicer, portal, exporter=exporter
    )
