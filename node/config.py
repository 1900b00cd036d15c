"""The node's typed configuration, loaded from node.toml (the only place that reads it)."""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seinhuis.errors import ConfigError
from seinhuis.metrics import parse_listen
from seinhuis.transport import TlsFiles
from seinhuis.vocabulary import PartnerType

PARTNER_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")
#: host:port, the host a name, an IPv4 address or a bracketed IPv6 address.
_ADDRESS = re.compile(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}")

_KEYS = {
    "partner_id",
    "partner_type",
    "listen",
    "port_file",
    "database",
    "signing_key",
    "cache_key",
    "local_token_file",
    "catalogue",
    "hub",
    "pseudonym",
    "tls",
    "local_tls",
    "delivery",
    "cache",
    "consent",
    "metrics_listen",
    "metrics_port_file",
}
_HUB_KEYS = {"target", "server_name", "sealing_public", "id", "timeout_s"}
_PSEUDONYM_KEYS = {"target", "server_name", "max_batch", "timeout_s"}
_TLS_KEYS = {"ca_cert", "cert", "key"}
_LOCAL_TLS_KEYS = {"cert", "key", "client_ca"}
_DELIVERY_KEYS = {"batch_size", "backoff_initial_s", "backoff_max_s", "idle_poll_s"}
_CACHE_KEYS = {"max_entries", "version_check_interval_s"}
_CONSENT_KEYS = {"target", "server_name", "timeout_s"}


@dataclass(frozen=True)
class HubTarget:
    #: The first (often only) hub address, host:port.
    target: str
    server_name: str
    sealing_public: Path
    #: The recipient name in statements; the hub's `id`, by default its TLS server name.
    id: str
    timeout_s: float
    #: Every hub process's address (`target` may be a list): the node spreads its calls over
    #: them, round robin; they share one database. Each must present `server_name`.
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class PseudonymTarget:
    target: str
    server_name: str
    max_batch: int
    timeout_s: float


@dataclass(frozen=True)
class DeliveryConfig:
    batch_size: int = 500
    backoff_initial_s: float = 0.1
    backoff_max_s: float = 10.0
    idle_poll_s: float = 1.0


@dataclass(frozen=True)
class CacheConfig:
    max_entries: int = 1_000_000
    version_check_interval_s: float = 60.0


@dataclass(frozen=True)
class ConsentTarget:
    """The consent registry the node asks before accepting a consent-based signal (issue 5)."""

    target: str
    server_name: str = "consent"
    timeout_s: float = 10.0


@dataclass(frozen=True)
class LocalTlsFiles:
    """[node.local_tls]: TLS for the local API (node/local_tls.py says when it is required)."""

    #: The local API's server certificate (the partner's own CA or the development CA).
    cert: Path
    key: Path
    #: Set: callers must present a client certificate this CA issued (mutual TLS).
    client_ca: Path | None = None


@dataclass(frozen=True)
class NodeConfig:
    """Everything a node needs; paths are absolute, bounds are checked."""

    partner_id: str
    partner_type: PartnerType
    listen: str
    port_file: Path | None
    database: Path
    signing_key: Path
    cache_key: Path
    local_token_file: Path | None
    #: None: the packaged catalogue.
    catalogue: Path | None
    hub: HubTarget
    pseudonym: PseudonymTarget
    tls: TlsFiles
    delivery: DeliveryConfig
    cache: CacheConfig
    #: None: consent-based signals are not checked here (development only; node.consent).
    consent: ConsentTarget | None = None
    #: Loopback host:port serving Prometheus metrics at /metrics; empty: off.
    metrics_listen: str = ""
    #: Where the bound metrics port is written (like port_file).
    metrics_port_file: Path | None = None
    #: None: the local API speaks plaintext gRPC (allowed on loopback and unix sockets only).
    local_tls: LocalTlsFiles | None = None

    @property
    def listen_is_local(self) -> bool:
        return is_local_address(self.listen)


def is_local_address(listen: str) -> bool:
    """True for a unix socket or a loopback host: the partner's own machine only."""
    if listen.startswith("unix:") or listen.startswith("unix-abstract:"):
        return True
    host = listen.rsplit(":", 1)[0] if ":" in listen else listen
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load(path: Path) -> NodeConfig:
    """Read node.toml; ConfigError names the file and the key that is wrong."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from exc
    return from_dict(data, base=path.resolve().parent, source=str(path))


def from_dict(data: dict[str, Any], *, base: Path, source: str = "node.toml") -> NodeConfig:
    """Build the config from parsed TOML; relative paths resolve against `base`."""
    node = _table(data, "node", source, "")
    _no_unknown(data, {"node"}, "", source)
    _no_unknown(node, _KEYS, "node.", source)
    r = _Reader(node, base, source, "node.")
    partner_id = r.text("partner_id")
    if not PARTNER_ID.fullmatch(partner_id):
        raise ConfigError(f"{source}: node.partner_id: must match {PARTNER_ID.pattern}")
    try:
        partner_type = PartnerType(r.text("partner_type"))
    except ValueError:
        choices = ", ".join(p.value for p in PartnerType)
        raise ConfigError(f"{source}: node.partner_type: must be one of {choices}") from None
    hub, pseudonym, tls = (
        _section(node, name, keys, base, source)
        for name, keys in (("hub", _HUB_KEYS), ("pseudonym", _PSEUDONYM_KEYS), ("tls", _TLS_KEYS))
    )
    delivery = _section(node, "delivery", _DELIVERY_KEYS, base, source, optional=True)
    cache = _section(node, "cache", _CACHE_KEYS, base, source, optional=True)
    server_name = hub.text("server_name")
    hub_addresses = hub.addresses("target")
    backoff_initial = delivery.number("backoff_initial_s", 0.001, 60.0, 0.1)
    return NodeConfig(
        partner_id=partner_id,
        partner_type=partner_type,
        listen=_listen(r.text("listen", "127.0.0.1:0"), base),
        port_file=r.optional_path("port_file"),
        database=r.path("database"),
        signing_key=r.path("signing_key"),
        cache_key=r.path("cache_key"),
        local_token_file=r.optional_path("local_token_file"),
        catalogue=r.optional_path("catalogue"),
        hub=HubTarget(
            target=hub_addresses[0],
            server_name=server_name,
            sealing_public=hub.path("sealing_public"),
            id=hub.text("id", server_name),
            timeout_s=hub.number("timeout_s", 0.1, 3600.0, 30.0),
            addresses=hub_addresses,
        ),
        pseudonym=PseudonymTarget(
            target=pseudonym.text("target"),
            server_name=pseudonym.text("server_name"),
            max_batch=pseudonym.integer("max_batch", 1, 1_000_000, 10_000),
            timeout_s=pseudonym.number("timeout_s", 0.1, 3600.0, 30.0),
        ),
        tls=TlsFiles(ca_cert=tls.path("ca_cert"), cert=tls.path("cert"), key=tls.path("key")),
        delivery=DeliveryConfig(
            batch_size=delivery.integer("batch_size", 1, 10_000, 500),
            backoff_initial_s=backoff_initial,
            backoff_max_s=delivery.number("backoff_max_s", backoff_initial, 3600.0, 10.0),
            idle_poll_s=delivery.number("idle_poll_s", 0.01, 60.0, 1.0),
        ),
        cache=CacheConfig(
            max_entries=cache.integer("max_entries", 1, 1_000_000_000, 1_000_000),
            version_check_interval_s=cache.number("version_check_interval_s", 0.0, 86400.0, 60.0),
        ),
        consent=_consent(node, base, source),
        metrics_listen=_metrics_listen(node, source),
        metrics_port_file=r.optional_path("metrics_port_file"),
        local_tls=_local_tls(node, base, source),
    )


def _metrics_listen(node: dict[str, Any], source: str) -> str:
    value = node.get("metrics_listen", "")
    if not isinstance(value, str):
        raise ConfigError(f"{source}: node.metrics_listen: must be a string")
    if value:
        try:
            parse_listen(value)
        except ValueError as exc:
            raise ConfigError(f"{source}: node.metrics_listen: {exc}") from None
    return value


def _consent(node: dict[str, Any], base: Path, source: str) -> ConsentTarget | None:
    """[node.consent]: target (required in the table), server_name, timeout_s."""
    if "consent" not in node:
        return None
    c = _section(node, "consent", _CONSENT_KEYS, base, source)
    return ConsentTarget(
        target=c.text("target"),
        server_name=c.text("server_name", "consent"),
        timeout_s=c.number("timeout_s", 0.1, 3600.0, 10.0),
    )


def _local_tls(node: dict[str, Any], base: Path, source: str) -> LocalTlsFiles | None:
    """[node.local_tls]: cert and key (required in the table), client_ca."""
    if "local_tls" not in node:
        return None
    t = _section(node, "local_tls", _LOCAL_TLS_KEYS, base, source)
    return LocalTlsFiles(
        cert=t.path("cert"), key=t.path("key"), client_ca=t.optional_path("client_ca")
    )


def _listen(value: str, base: Path) -> str:
    # A relative unix socket path resolves like any other path in the file.
    if value.startswith("unix:") and not value.startswith("unix://"):
        sock = Path(value[len("unix:") :])
        return f"unix:{sock if sock.is_absolute() else base / sock}"
    return value


def _table(data: dict[str, Any], key: str, source: str, prefix: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: [{prefix}{key}]: missing table")
    return value


def _no_unknown(data: dict[str, Any], known: set[str], prefix: str, source: str) -> None:
    # A misspelt key would otherwise silently fall back to its default.
    for key in sorted(set(data) - known):
        raise ConfigError(f"{source}: {prefix}{key}: unknown key")


def _section(
    node: dict[str, Any],
    name: str,
    keys: set[str],
    base: Path,
    source: str,
    *,
    optional: bool = False,
) -> _Reader:
    table = node.get(name, {}) if optional else _table(node, name, source, "node.")
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [node.{name}]: must be a table")
    _no_unknown(table, keys, f"node.{name}.", source)
    return _Reader(table, base, source, f"node.{name}.")


@dataclass(frozen=True)
class _Reader:
    data: dict[str, Any]
    base: Path
    source: str
    prefix: str

    def _fail(self, key: str, why: str) -> ConfigError:
        return ConfigError(f"{self.source}: {self.prefix}{key}: {why}")

    def text(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key, default)
        if value is None:
            raise self._fail(key, "required")
        if not isinstance(value, str) or not value:
            raise self._fail(key, "must be a non-empty string")
        return value

    def path(self, key: str) -> Path:
        return self.base / self.text(key)

    def addresses(self, key: str) -> tuple[str, ...]:
        """One host:port, or a non-empty list of them."""
        value = self.data.get(key)
        if not isinstance(value, list):
            return (self.text(key),)
        if not value or not all(isinstance(v, str) and _ADDRESS.fullmatch(v) for v in value):
            raise self._fail(key, "must be host:port or a non-empty list of host:port")
        if len(set(value)) != len(value):
            raise self._fail(key, "lists an address twice")
        return tuple(value)

    def optional_path(self, key: str) -> Path | None:
        value = self.data.get(key, "")
        if not isinstance(value, str):
            raise self._fail(key, "must be a string")
        return self.base / value if value else None

    def integer(self, key: str, low: int, high: int, default: int) -> int:
        value = self.data.get(key, default)
        # TOML booleans are ints to Python; never accept one where a number is meant.
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(key, "must be a whole number")
        if not low <= value <= high:
            raise self._fail(key, f"must be between {low} and {high}")
        return value

    def number(self, key: str, low: float, high: float, default: float) -> float:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._fail(key, "must be a number")
        if not low <= value <= high:
            raise self._fail(key, f"must be between {low} and {high}")
        return float(value)
