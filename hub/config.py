"""The hub's typed configuration, loaded from hub.toml (the only place that reads it)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from seinhuis.errors import ConfigError
from seinhuis.transport import TlsFiles

ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")
#: The database URL that selects the in-memory store (tests and experiments only).
MEMORY_URL = "memory://"

_HUB_KEYS = {
    "id",
    "listen",
    "port_file",
    "database_url",
    "registry",
    "catalogue",
    "sealing_keys",
    "max_clock_skew_s",
    "max_envelopes_per_stream",
    "rate_per_partner",
    "rate_burst",
    "institutions",
    "capture_requests_file",
    "tls",
    "pseudonym",
}
_TLS_KEYS = {"ca_cert", "cert", "key"}
_PSEUDONYM_KEYS = {"target", "server_name", "rekey_interval_s"}


@dataclass(frozen=True)
class PseudonymServiceConfig:
    """Where the pseudonymisation service is; the hub only fetches re-key factors there."""

    target: str
    server_name: str
    #: How often the hub checks for a new key version and re-keys what it holds.
    rekey_interval_s: float = 30.0


@dataclass(frozen=True)
class HubConfig:
    """Everything the hub needs; paths are absolute, bounds are checked."""

    id: str
    listen: str
    port_file: Path | None
    database_url: str
    registry: Path
    #: None: the packaged catalogue.
    catalogue: Path | None
    #: The first opens and identifies current envelopes; the rest still open older ones.
    sealing_keys: tuple[Path, ...]
    max_clock_skew_s: int
    max_envelopes_per_stream: int
    rate_per_partner: float
    rate_burst: int
    tls: TlsFiles
    #: Institution addresses (care homes, shelters) as address pseudonyms; None: none listed.
    institutions: Path | None = None
    #: None: this hub cannot re-key after a rotation until it is configured.
    pseudonym: PseudonymServiceConfig | None = None
    #: For audits and privacy tests: every request as received is appended here.
    capture_requests_file: Path | None = None


def load(path: Path) -> HubConfig:
    """Read hub.toml; ConfigError names the file and the key that is wrong."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from exc
    return from_dict(data, base=path.resolve().parent, source=str(path))


def from_dict(data: dict[str, Any], *, base: Path, source: str = "hub.toml") -> HubConfig:
    """Build the config from parsed TOML; relative paths resolve against `base`."""
    hub = _table(data, "hub", source)
    _no_unknown(data, {"hub"}, "", source)
    _no_unknown(hub, _HUB_KEYS, "hub.", source)
    tls = _table(hub, "tls", source, prefix="hub.")
    _no_unknown(tls, _TLS_KEYS, "hub.tls.", source)
    r = _Reader(hub, base, source, "hub.")
    hub_id = r.text("id")
    if not ID_PATTERN.fullmatch(hub_id):
        raise ConfigError(f"{source}: hub.id: must match {ID_PATTERN.pattern}")
    port_file = r.text("port_file", default="")
    catalogue = r.text("catalogue", default="")
    sealing = r.get("sealing_keys", list, "a list")
    if not sealing or not all(isinstance(k, str) and k for k in sealing):
        raise ConfigError(f"{source}: hub.sealing_keys: a non-empty list of key file paths")
    t = _Reader(tls, base, source, "hub.tls.")
    institutions = r.text("institutions", default="")
    capture = r.text("capture_requests_file", default="")
    pseudonym = None
    if "pseudonym" in hub:
        ps = _table(hub, "pseudonym", source, prefix="hub.")
        _no_unknown(ps, _PSEUDONYM_KEYS, "hub.pseudonym.", source)
        p = _Reader(ps, base, source, "hub.pseudonym.")
        pseudonym = PseudonymServiceConfig(
            target=p.text("target"),
            server_name=p.text("server_name", default="pseudonym"),
            rekey_interval_s=p.number("rekey_interval_s", 1.0, 86_400.0, default=30.0),
        )
    return HubConfig(
        id=hub_id,
        listen=r.text("listen"),
        port_file=base / port_file if port_file else None,
        database_url=_database_url(r.text("database_url"), base, source),
        registry=r.path("registry"),
        catalogue=base / catalogue if catalogue else None,
        sealing_keys=tuple(base / k for k in sealing),
        max_clock_skew_s=r.integer("max_clock_skew_s", 1, 3600, default=300),
        max_envelopes_per_stream=r.integer(
            "max_envelopes_per_stream", 1, 1_000_000, default=10_000
        ),
        rate_per_partner=r.number("rate_per_partner", 0.001, 10_000_000.0, default=5000.0),
        rate_burst=r.integer("rate_burst", 1, 100_000_000, default=20_000),
        tls=TlsFiles(ca_cert=t.path("ca_cert"), cert=t.path("cert"), key=t.path("key")),
        institutions=base / institutions if institutions else None,
        pseudonym=pseudonym,
        capture_requests_file=base / capture if capture else None,
    )


def _database_url(url: str, base: Path, source: str) -> str:
    """Resolve a relative SQLite file path against the config folder; leave others alone."""
    if url == MEMORY_URL:
        return url
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"{source}: hub.database_url: not a database URL") from exc
    if parsed.get_backend_name() != "sqlite":
        return url
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:") or Path(database).is_absolute():
        return url
    return parsed.set(database=str(base / database)).render_as_string(hide_password=False)


def _table(data: dict[str, Any], key: str, source: str, *, prefix: str = "") -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: [{prefix}{key}]: missing table")
    return value


def _no_unknown(data: dict[str, Any], known: set[str], prefix: str, source: str) -> None:
    # A misspelt key would otherwise silently fall back to its default.
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{source}: {prefix}{unknown[0]}: unknown key")


@dataclass(frozen=True)
class _Reader:
    data: dict[str, Any]
    base: Path
    source: str
    prefix: str

    def _fail(self, key: str, why: str) -> ConfigError:
        return ConfigError(f"{self.source}: {self.prefix}{key}: {why}")

    def get(self, key: str, kind: type | tuple[type, ...], what: str, default: Any = None) -> Any:
        if key not in self.data:
            if default is None:
                raise self._fail(key, "required")
            return default
        value = self.data[key]
        # TOML booleans are ints to Python; never accept one where a number is meant.
        if isinstance(value, bool) or not isinstance(value, kind):
            raise self._fail(key, f"must be {what}")
        return value

    def text(self, key: str, default: str | None = None) -> str:
        value: str = self.get(key, str, "a string", default)
        if default is None and not value:
            raise self._fail(key, "must not be empty")
        return value

    def path(self, key: str) -> Path:
        return self.base / self.text(key)

    def integer(self, key: str, low: int, high: int, *, default: int) -> int:
        value: int = self.get(key, int, "an integer", default)
        if not low <= value <= high:
            raise self._fail(key, f"must be between {low} and {high}")
        return value

    def number(self, key: str, low: float, high: float, *, default: float) -> float:
        value = self.get(key, (int, float), "a number", default)
        if not low <= float(value) <= high:
            raise self._fail(key, f"must be between {low} and {high}")
        return float(value)
