"""Builds a partner node from its config: database, pseudonyms, outbox, threads, local API."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health

from node.config import NodeConfig
from node.delivery import Backoff, FeedFollower, HubClient, Sender
from node.inbox import Inbox
from node.outbox import Outbox
from node.pseudonyms import Pseudonymizer, PseudonymSource
from node.service import Node
from node.servicer import BearerTokenInterceptor, NodeServicer
from pseudonym.client import PseudonymClient
from seinhuis import catalogue as catalogue_mod
from seinhuis import logs, transport
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
    hub_channel = transport.secure_channel(
        config.hub.target, config.tls, server_name=config.hub.server_name
    )
    hub = HubClient(hub_channel, timeout_s=config.hub.timeout_s)
    node = Node(
        partner_type=config.partner_type,
        catalogue=catalogue,
        pseudonymizer=pseudonyms,
        outbox=outbox,
        hub=hub,
    )
    return LocalNode(config, node, outbox, inbox, pseudonyms, hub, [hub_channel], closers)


@dataclass
class NodeService:
    """A built, not yet started, node; start() binds and returns the port."""

    local: LocalNode
    server: grpc.Server
    health: health.HealthServicer
    sender: Sender
    feed: FeedFollower
    port: int = 0
    _stopped: bool = False
    _stop_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def config(self) -> NodeConfig:
        return self.local.config

    def start(self) -> int:
        """Bind the local API, start delivery and the feed; the bound port (0 for a socket)."""
        listen = self.config.listen
        try:
            port = self.server.add_insecure_port(listen)
        except RuntimeError as exc:  # grpc raises this when it cannot bind
            raise ConfigError(f"node.listen: cannot bind {listen}") from exc
        if port == 0 and not listen.startswith("unix"):
            raise ConfigError(f"node.listen: cannot bind {listen}")
        self.server.start()
        self.sender.start()
        self.feed.start()
        self.port = port
        if self.config.port_file is not None:
            _write_atomically(self.config.port_file, f"{port}\n")
        log.info("service.started", address=listen, role=ROLE)
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
        self.local.close()

    def wait(self) -> None:
        self.server.wait_for_termination()


def build(config: NodeConfig, *, source: PseudonymSource | None = None) -> NodeService:
    """Everything a node needs, from its config; nothing is bound or started yet."""
    interceptors: list[grpc.ServerInterceptor] = []
    token = _read_token(config)
    if token is not None:
        interceptors.append(BearerTokenInterceptor(token))
    elif not config.listen_is_local:
        raise ConfigError(
            f"node.listen: {config.listen} is reachable from other machines; "
            "set node.local_token_file to require a bearer token"
        )
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
    feed_channel = transport.secure_channel(
        config.hub.target, config.tls, server_name=config.hub.server_name
    )
    local.channels.append(feed_channel)
    feed = FeedFollower(local.inbox, feed_channel, backoff=backoff)
    server = transport.build_server(interceptors=interceptors)
    node_pb2_grpc.add_NodeServiceServicer_to_server(NodeServicer(local.node), server)
    health_servicer = transport.add_health_and_reflection(server, [SERVICE_NAME])
    return NodeService(local, server, health_servicer, sender, feed)


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


def _write_atomically(path: Path, text: str) -> None:
    """Write a temp file beside the target and rename it, so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
