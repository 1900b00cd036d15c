"""Builds the hub from its config: registry, catalogue, keys, store, servicers, gRPC server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from hub import consent_wiring, judge_process
from hub import institutions as institutions_module
from hub import registry as registry_module
from hub import staff as staff_module
from hub.config import MEMORY_URL, HubConfig
from hub.intake import Intake
from hub.judge import Judge
from hub.judgement import policy as policy_module
from hub.operator.desk import Desk
from hub.operator.servicer import OperatorServicer
from hub.rekey import KeyVersionFollower
from hub.servicer import FeedServicer, IntakeServicer
from hub.store import HubStore, open_store
from pseudonym.client import PseudonymClient
from seinhuis import catalogue as catalogue_module
from seinhuis import logs, metrics, transport
from seinhuis.atomic import write_port_file
from seinhuis.crypto.envelope import Opener
from seinhuis.crypto.keys import load_sealing_key
from seinhuis.errors import ConfigError, Unavailable
from seinhuis.ratelimit import RateLimiter
from seinhuis.v1 import (
    feed_pb2,
    feed_pb2_grpc,
    intake_pb2,
    intake_pb2_grpc,
    operator_pb2,
    operator_pb2_grpc,
)

log = logs.get_logger(__name__)

#: Worker threads besides those held by open feed subscriptions (one per partner at most).
_BASE_WORKERS = 32


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class HubService:
    """A built hub: start() binds and serves, stop() drains, wait() blocks until stopped."""

    config: HubConfig
    store: HubStore
    server: grpc.Server
    feed: FeedServicer
    follower: KeyVersionFollower | None = None
    judge: Judge | None = None
    port: int | None = field(default=None, init=False)
    #: The judge's own process, when the config asks for one (judge = "process").
    judge_process: judge_process.JudgeProcess | None = None
    #: Serves /metrics when the config sets metrics_listen.
    exporter: metrics.Exporter | None = None
    #: Consent (issue 5): receipt checks, the Watch follower, the ResidentService.
    consent: consent_wiring.ConsentParts | None = None

    def start(self) -> int:
        """Bind (mutual TLS required), serve, write the port file; returns the bound port."""
        credentials = transport.server_credentials(self.config.tls, require_client_auth=True)
        port = self.server.add_secure_port(self.config.listen, credentials)
        if port == 0:
            raise Unavailable(f"cannot listen on {self.config.listen}")
        if self.exporter is not None:
            self.exporter.start()
        self.server.start()
        if self.judge is not None:
            self.judge.start()
        if self.judge_process is not None:
            self.judge_process.start()
        if self.follower is not None:
            self.follower.start()
        if self.consent is not None:
            self.consent.start()
        self.port = port
        if self.config.port_file is not None:
            write_port_file(self.config.port_file, port)
        host = self.config.listen.rsplit(":", 1)[0]
        log.info("service.started", address=f"{host}:{port}", role="hub")
        return port

    def stop(self, grace: float = 2.0) -> None:
        """End feed subscriptions, let running calls finish within `grace`, close the store."""
        log.info("service.stopping", role="hub")
        self.feed.shutdown()
        if self.follower is not None:
            self.follower.stop()
        if self.consent is not None:
            self.consent.stop()
        self.server.stop(grace).wait()
        if self.exporter is not None:
            self.exporter.stop()
        if self.judge is not None:
            self.judge.stop()
        if self.judge_process is not None:
            self.judge_process.stop()
        self.store.close()

    def wait(self) -> None:
        self.server.wait_for_termination()


def build(
    config: HubConfig,
    *,
    clock: Callable[[], dt.datetime] = _utc_now,
    store: HubStore | None = None,
) -> HubService:
    """Everything the hub needs, from its config; nothing listens until start()."""
    registry = registry_module.load(config.registry)
    if registry.hub_id != config.id:
        raise ConfigError(
            f"{config.registry}: hub_id {registry.hub_id!r} differs from hub.id {config.id!r}"
        )
    log.info("hub.registry_loaded", partners=len(registry.partners), keys=registry.key_count)
    catalogue = (
        catalogue_module.load(config.catalogue) if config.catalogue else catalogue_module.load()
    )
    opener = Opener([load_sealing_key(path) for path in config.sealing_keys])
    store = (
        store
        if store is not None
        else open_store(config.database_url, auto_migrate=config.auto_migrate)
    )
    institutions_list = institutions_module.Watched(config.institutions)
    policies = policy_module.load(config.policies or policy_module.DEFAULT_DIR)
    staff = staff_module.load(config.staff)
    staff.check_apart_from(registry, str(config.staff))
    # The judge runs here in a thread, or in a process of its own (HubService.start).
    in_thread = config.judge == "thread" or (
        config.judge == "process" and config.database_url == MEMORY_URL
    )
    judge = (
        Judge(
            store,
            registry,
            policies,
            institutions=institutions_list.addresses,
            clock=clock,
        )
        if in_thread
        else None
    )
    process = (
        judge_process.JudgeProcess(config, store.wake)
        if config.judge == "process" and not in_thread
        else None
    )
    wake_judge = (
        judge.wake if judge is not None else process.wake if process is not None else _nobody
    )
    # Each partner may hold a feed subscription open; they must not starve the intake.
    server = transport.build_server(
        max_workers=_BASE_WORKERS + len(registry.partners),
        capture_file=config.capture_requests_file,
    )
    consent = consent_wiring.build(
        config,
        store=store,
        registry=registry,
        wake_judge=wake_judge,
        server=server,
        institutions=institutions_list.addresses,
        clock=clock,
    )
    intake = Intake(
        hub_id=config.id,
        registry=registry,
        catalogue=catalogue,
        opener=opener,
        max_clock_skew=dt.timedelta(seconds=config.max_clock_skew_s),
        clock=clock,
        consent=consent.gate,
    )
    intake_servicer = IntakeServicer(
        intake=intake,
        registry=registry,
        store=store,
        limiter=RateLimiter(config.rate_per_partner, config.rate_burst),
        max_envelopes_per_stream=config.max_envelopes_per_stream,
        clock=clock,
        wake_judge=wake_judge,
    )
    feed = FeedServicer(registry=registry, store=store)
    intake_pb2_grpc.add_IntakeServiceServicer_to_server(intake_servicer, server)
    feed_pb2_grpc.add_PartnerFeedServiceServicer_to_server(feed, server)
    operator_pb2_grpc.add_OperatorServiceServicer_to_server(
        OperatorServicer(
            desk=Desk(store, registry, policies, clock=clock), staff=staff, partners=registry
        ),
        server,
    )
    transport.add_health_and_reflection(
        server,
        [
            transport.full_service_name(intake_pb2, "IntakeService"),
            transport.full_service_name(feed_pb2, "PartnerFeedService"),
            transport.full_service_name(operator_pb2, "OperatorService"),
            *([consent_wiring.SERVICE_NAME] if consent.gate is not None else []),
        ],
    )
    follower = None
    if config.pseudonym is not None:
        ps = config.pseudonym
        follower = KeyVersionFollower(
            store,
            lambda: PseudonymClient(ps.target, config.tls, server_name=ps.server_name),
            config.institutions,
            ps.rekey_interval_s,
        )
    return HubService(
        config=config,
        store=store,
        server=server,
        feed=feed,
        follower=follower,
        judge=judge,
        judge_process=process,
        exporter=metrics.Exporter(config.metrics_listen, config.metrics_port_file),
        consent=consent,
    )


def _nobody() -> None:
    """No judge in this hub (judge = "off"): queued households wait for one."""
