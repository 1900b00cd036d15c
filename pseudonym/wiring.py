"""Builds the pseudonymisation service from its config: keyring, audit store, domain, server."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from grpc_health.v1 import health

from pseudonym.config import PseudonymConfig
from pseudonym.evaluation import Evaluator
from pseudonym.keyring import KeyringWatcher
from pseudonym.servicer import PseudonymServicer
from pseudonym.store.base import AuditStore
from pseudonym.store.sql import SqlAuditStore
from seinhuis import logs, metrics, partner_list, transport
from seinhuis.atomic import write_port_file
from seinhuis.errors import ConfigError
from seinhuis.ratelimit import RateLimiter
from seinhuis.v1 import pseudonym_pb2, pseudonym_pb2_grpc

log = logs.get_logger(__name__)

ROLE = "pseudonym"
SERVICE_NAME = transport.full_service_name(pseudonym_pb2, "PseudonymService")
#: Room for a full batch of 32-byte elements with their protobuf framing.
_BYTES_PER_ELEMENT = 40


@dataclass
class Service:
    """A built, not yet started, service; start() binds and returns the port."""

    config: PseudonymConfig
    evaluator: Evaluator
    keyring: KeyringWatcher
    audit: AuditStore
    server: grpc.Server
    health: health.HealthServicer
    port: int = 0
    #: Serves /metrics when the config sets metrics_listen.
    exporter: metrics.Exporter | None = None

    def start(self) -> int:
        try:
            port = self.server.add_secure_port(
                self.config.listen, transport.server_credentials(self.config.tls)
            )
        except RuntimeError as exc:  # grpc raises this when it cannot bind
            raise ConfigError(f"pseudonym.listen: cannot bind {self.config.listen}") from exc
        except OSError as exc:
            raise ConfigError(f"pseudonym.tls: cannot read ({exc.strerror})") from exc
        if port == 0 and not self.config.listen.startswith("unix:"):
            raise ConfigError(f"pseudonym.listen: cannot bind {self.config.listen}")
        if self.exporter is not None:
            self.exporter.start()
        self.server.start()
        self.port = port
        if self.config.port_file is not None:
            write_port_file(self.config.port_file, port)
        listen = self.config.listen
        address = listen if listen.startswith("unix:") else f"{listen.rpartition(':')[0]}:{port}"
        log.info("service.started", address=address, role=ROLE)
        return port

    def stop(self, grace: float = 2.0) -> None:
        log.info("service.stopping", role=ROLE)
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()
        if self.exporter is not None:
            self.exporter.stop()
        self.audit.close()

    def wait(self) -> None:
        self.server.wait_for_termination()


def build(config: PseudonymConfig) -> Service:
    partners = frozenset(partner_list.load(config.partners))
    if partners & config.hub_ids:
        raise ConfigError(
            f"{config.partners}: lists the hub ({', '.join(sorted(partners & config.hub_ids))})"
            " as a partner; the hub may never evaluate"
        )
    keyring = KeyringWatcher(config.keyring)
    audit = SqlAuditStore(config.audit_database)
    evaluator = Evaluator(
        keyring,
        audit,
        RateLimiter(config.rate_per_partner, config.rate_burst),
        max_batch=config.max_batch,
        hub_ids=config.hub_ids,
        evaluators=partners | config.portal_ids,
    )
    log.info("pseudonym.evaluators_loaded", partners=len(partners), portals=len(config.portal_ids))
    server = transport.build_server(
        max_message_bytes=max(
            transport.DEFAULT_MAX_MESSAGE_BYTES, config.max_batch * _BYTES_PER_ELEMENT + 1024
        ),
        capture_file=config.capture_requests_file,
    )
    pseudonym_pb2_grpc.add_PseudonymServiceServicer_to_server(PseudonymServicer(evaluator), server)
    health_servicer = transport.add_health_and_reflection(server, [SERVICE_NAME])
    exporter = metrics.Exporter(config.metrics_listen, config.metrics_port_file)
    return Service(config, evaluator, keyring, audit, server, health_servicer, exporter=exporter)
