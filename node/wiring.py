"""Builds a partner node from its config: database, pseudonyms, outbox, threads, local API."""

from __future__ import annotations

import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health

from node import consent as node_consent
from node import local_tls
from node.config import NodeConfig
from node.delivery import Backoff, FeedFollower, HubClient, Sender
from node.inbox import Inbox
from node.outbox import Outbox
from node.pseudonyms import Pseudonymizer, PseudonymSource
from node.service import Node
from node.servicer import BearerTokenInterceptor, NodeServicer
from pseudonym.client import PseudonymClient
from seinhuis import catalogue as catalogue_mod
from seinhuis import logs, metrics, transport
from seinhuis.atomic import write_port_file
from seinhuis.crypto import keys
from seinhuis.crypto.envelope import Sealer
from seinhuis.errors import ConfigError
from seinhuis.v1 import node_pb2, node_pb2_grpc

log = logs.get_logger(__name__)

ROLE = "node"
SERVICE_NAME = transport.full_service_name(node_pb2, "NodeService")
MIN_TOKEN_CHARS = 16


@dataclass
class LocalNode:
    """The node's domain with its storage and outgoing connections, without server or threads.

    What `seinhuis node import --config` uses to write straight into the outbox.
    """

    config: NodeConfig
    node: Node
    outbox: Outbox
    inbox: Inbox
    pseudonyms: Pseudonymizer
    hub: HubClient
    channels: list[grpc.Channel] = field(default_factory=list)
    closers: list[PseudonymClient] = field(default_factory=list)

    def close(self) -> None:
        stats = self.pseudonyms.stats()
        log.info("node.pseudonym_cache", hits=stats.hits, misses=stats.misses, size=stats.size)
        for client in self.closers:
            client.close()
        for channel in self.channels:
            channel.close()
        self.pseudonyms.close()
        self.inbox.close()
        self.outbox.close()


def open_local(config: NodeConfig, *, source: PseudonymSource | None = None) -> LocalNode:
    """Open the node database and connections; `source` replaces the pseudonym client (tests)."""
    catalogue = catalogue_mod.load(config.catalogue or catalogue_mod.DEFAULT_PATH)
    cache_key = keys.read_key(config.cache_key, "cache-key", 32)
    closers: list[PseudonymClient] = []
    current_version = None
    if source is None:
        client = PseudonymClient(
            config.pseudonym.target,
            config.tls,
            server_name=config.pseudonym.server_name,
            max_batch=config.pseudonym.max_batch,
            timeout_s=config.pseudonym.timeout_s,
        )
        closers.append(client)
        source = client

        def current_version() -> int:
            return client.key_info().current_version

    pseudonyms = Pseudonymizer(
        source,
        config.database,
        cache_key,
        max_entries=config.cache.max_entries,
        max_batch=config.pseudonym.max_batch,
        current_version=current_version if config.cache.version_check_interval_s else None,
        version_check_interval_s=config.cache.version_check_interval_s,
    )
    outbox = Outbox(config.database)
    inbox = Inbox(config.database)
    hub_channel = open_hub_channel(config)
    hub = HubClient(hub_channel, timeout_s=config.hub.timeout_s)
    channels = [hub_channel]
    consent = node_consent.open_gate(config)
    if consent is not None:
        channels.append(consent[1])
    node = Node(
        partner_type=config.partner_type,
        catalogue=catalogue,
        pseudonymizer=pseudonyms,
        outbox=outbox,
        hub=hub,
        consent=consent[0] if consent is not None else None,
    )
    return LocalNode(config, node, outbox, inbox, pseudonyms, hub, channels, closers)


@dataclass
class NodeService:
    """A built, not yet started, node; start() binds and returns the port."""

    local: LocalNode
    server: grpc.Server
    health: health.HealthServicer
    sender: Sender
    feed: FeedFollower
    port: int = 0
    #: Serves /metrics when the config sets metrics_listen.
    exporter: metrics.Exporter | None = None
    #: The local API's TLS ([node.local_tls]); None: plaintext (loopback or unix socket only).
    credentials: grpc.ServerCredentials | None = None
    _stopped: bool = False
    _stop_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def config(self) -> NodeConfig:
        return self.local.config

    def start(self) -> int:
        """Bind the local API, start delivery and the feed; the bound port (0 for a socket)."""
        listen = self.config.listen
        try:
            if self.credentials is None:
                port = self.server.add_insecure_port(listen)
            else:
                port = self.server.add_secure_port(listen, self.credentials)
        except RuntimeError as exc:  # grpc raises this when it cannot bind
            raise ConfigError(f"node.listen: cannot bind {listen}") from exc
        if port == 0 and not listen.startswith("unix"):
            raise ConfigError(f"node.listen: cannot bind {listen}")
        if self.exporter is not None:
            metrics.NODE_OUTBOX.bind(self._outbox_depth)
            self.exporter.start()
        self.server.start()
        self.sender.start()
        self.feed.start()
        self.port = port
        if self.config.port_file is not None:
            write_port_file(self.config.port_file, port)
        log.info("service.started", address=listen, role=ROLE)
        tls = self.config.local_tls
        log.info(
            "node.local_api",
            exposed=not self.config.listen_is_local,
            tls=tls is not None,
            client_certificates=tls is not None and tls.client_ca is not None,
            token=self.config.local_token_file is not None,
        )
        return port

    def stop(self, grace: float = 2.0) -> None:
        """Stop taking calls, let calls in progress finish, stop the threads, close storage."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        log.info("service.stopping", role=ROLE)
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()
        self.sender.stop()
        self.feed.stop()
        if self.exporter is not None:
            self.exporter.stop()
            metrics.NODE_OUTBOX.unbind(self._outbox_depth)
        self.local.close()

    def _outbox_depth(self) -> dict[str, float]:
        # Read from the database at scrape time: an import may fill it from another process.
        return {s.value.lower(): n for s, n in self.local.outbox.counts().items()}

    def wait(self) -> None:
        self.server.wait_for_termination()


def build(config: NodeConfig, *, source: PseudonymSource | None = None) -> NodeService:
    """Everything a node needs, from its config; nothing is bound or started yet."""
    local_tls.check_exposure(config)
    interceptors: list[grpc.ServerInterceptor] = []
    token = _read_token(config)
    if token is not None:
        interceptors.append(BearerTokenInterceptor(token))
    credentials = None
    if config.local_tls is not None:
        credentials = local_tls.server_credentials(config.local_tls, network_ca=config.tls.ca_cert)
    local = open_local(config, source=source)
    signing_key = keys.load_signing_key(config.signing_key)
    sealer = Sealer(
        partner_id=config.partner_id,
        signing_key=signing_key,
        hub_id=config.hub.id,
        hub_public=keys.load_sealing_public(config.hub.sealing_public),
    )
    delivery = config.delivery
    backoff = Backoff(delivery.backoff_initial_s, delivery.backoff_max_s)
    sender = Sender(
        local.outbox,
        local.hub,
        sealer,
        batch_size=delivery.batch_size,
        backoff=backoff,
        idle_poll_s=delivery.idle_poll_s,
    )
    feed_channel = open_hub_channel(config)
    local.channels.append(feed_channel)
    feed = FeedFollower(local.inbox, feed_channel, backoff=backoff)
    server = transport.build_server(interceptors=interceptors)
    node_pb2_grpc.add_NodeServiceServicer_to_server(NodeServicer(local.node), server)
    health_servicer = transport.add_health_and_reflection(server, [SERVICE_NAME])
    exporter = metrics.Exporter(config.metrics_listen, config.metrics_port_file)
    return NodeService(
        local, server, health_servicer, sender, feed, exporter=exporter, credentials=credentials
    )


def open_hub_channel(config: NodeConfig) -> grpc.Channel:
    """A channel to the hub over mutual TLS; with several hub addresses, one channel that
    spreads calls over all of them (round robin) and skips those that are down. Every hub
    must present a certificate for `node.hub.server_name`."""
    target, options = hub_channel_target(config.hub.addresses or (config.hub.target,))
    return transport.secure_channel(
        target, config.tls, server_name=config.hub.server_name, options=options
    )


def hub_channel_target(addresses: Sequence[str]) -> tuple[str, list[tuple[str, str]]]:
    """gRPC's target and channel options for one or several hub addresses.

    Several: the `ipv4:`/`ipv6:` resolver over the addresses (host names are resolved once,
    here) with the round_robin load balancing policy.
    """
    if len(addresses) == 1:
        return addresses[0], []
    resolved = [_resolve(a) for a in addresses]
    families = {family for family, _ in resolved}
    if len(families) != 1:
        raise ConfigError("node.hub.target: list IPv4 or IPv6 hub addresses, not both")
    scheme = "ipv4" if families == {socket.AF_INET} else "ipv6"
    target = f"{scheme}:" + ",".join(endpoint for _, endpoint in resolved)
    return target, [("grpc.lb_policy_name", "round_robin")]


def _resolve(address: str) -> tuple[int, str]:
    """(address family, "ip:port" or "[ip]:port") for a host:port."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    try:
        infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"node.hub.target: cannot resolve {address}") from exc
    family, _, _, _, sockaddr = infos[0]
    ip = str(sockaddr[0])
    return family, f"[{ip}]:{port}" if family == socket.AF_INET6 else f"{ip}:{port}"


def _read_token(config: NodeConfig) -> str | None:
    if config.local_token_file is None:
        return None
    try:
        token = config.local_token_file.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"node.local_token_file: cannot read ({exc.strerror})") from exc
    if len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(f"node.local_token_file: the token must be {MIN_TOKEN_CHARS}+ characters")
    return token
