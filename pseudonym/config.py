"""The pseudonymisation service's typed configuration: the only place that reads its file.

```toml
[pseudonym]
listen = "127.0.0.1:0"           # host:port; port 0 binds a free port
port_file = "pseudonym.port"     # optional: the bound port is written here after start
keyring = "keyring"              # folder of versioned OPRF master keys (pseudonym.keyring)
audit_database = "audit.db"      # SQLite file: one row per query, never the values
hub_ids = ["hub"]                # certificate CNs allowed to fetch re-key factors
partners = "partners.yaml"       # this service's copy of the partner registry: the partner
                                 # nodes (by certificate CN) that may evaluate
portal_ids = ["portal"]          # optional: resident portals that may evaluate (default none)
max_batch = 10000                # elements per Evaluate request, 1..100000
rate_per_partner = 200000.0      # evaluations per second per partner (token bucket)
rate_burst = 400000              # bucket size; at least max_batch
[pseudonym.tls]
ca_cert = "../ca/ca.crt"
cert = "tls.crt"
key = "tls.key"
```
Relative paths resolve against the config file's folder.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seinhuis.errors import ConfigError
from seinhuis.metrics import parse_listen
from seinhuis.transport import TlsFiles

#: 100000 elements of 32 bytes plus framing stay well inside a 4 MiB gRPC message.
MAX_BATCH_LIMIT = 100_000
MAX_RATE = 1e9
_LISTEN = re.compile(r"^(unix:.+|\S+:\d{1,5})$")


@dataclass(frozen=True)
class PseudonymConfig:
    keyring: Path
    audit_database: Path
    tls: TlsFiles
    #: This service's copy of the partner registry (seinhuis.partner_list): who may evaluate.
    partners: Path
    listen: str = "127.0.0.1:0"
    port_file: Path | None = None
    hub_ids: frozenset[str] = frozenset({"hub"})
    #: Certificate CNs of resident portals, which evaluate for the resident who logged in.
    portal_ids: frozenset[str] = frozenset()
    max_batch: int = 10_000
    rate_per_partner: float = 200_000.0
    rate_burst: int = 400_000
    #: For audits and privacy tests: every request as received is appended here.
    capture_requests_file: Path | None = None
    #: Loopback host:port serving Prometheus metrics at /metrics; empty: off.
    metrics_listen: str = ""
    #: Where the bound metrics port is written (like port_file).
    metrics_port_file: Path | None = None


class _Section:
    """Reads one table's keys, naming the full key in every error and refusing unknown keys."""

    def __init__(self, data: Mapping[str, Any], prefix: str, base: Path, source: Path) -> None:
        self.data, self.prefix, self.base, self.source = data, prefix, base, source
        self.seen: set[str] = set()

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.source}: {self.prefix}.{key}: {message}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        self.seen.add(key)
        if key not in self.data:
            if default is ...:
                raise self.error(key, "is required")
            return default
        value = self.data[key]
        # bool is an int in Python; a flag where a number belongs is a mistake.
        if isinstance(value, bool) or not isinstance(value, kind):
            names = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            raise self.error(key, f"must be {names}, is {type(value).__name__}")
        return value

    def path(self, key: str) -> Path:
        value: str = self.get(key, str)
        if not value:
            raise self.error(key, "must not be empty")
        return self.base / value

    def optional_path(self, key: str) -> Path | None:
        value: str = self.get(key, str, "")
        return self.base / value if value else None

    def number(self, key: str, kind: type | tuple[type, ...], low: float, high: float) -> Any:
        value = self.get(key, kind, _DEFAULTS[key])
        if not low <= value <= high:
            raise self.error(key, f"must be between {low:g} and {high:g}, is {value}")
        return value

    def finish(self) -> None:
        for key in sorted(set(self.data) - self.seen):
            raise self.error(key, "unknown key")


_DEFAULTS: dict[str, Any] = {
    "max_batch": PseudonymConfig.max_batch,
    "rate_per_partner": PseudonymConfig.rate_per_partner,
    "rate_burst": PseudonymConfig.rate_burst,
}


def load(path: Path) -> PseudonymConfig:
    """Read and check a pseudonym.toml."""
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    return from_mapping(data, base=path.parent, source=path)


def from_mapping(data: Mapping[str, Any], *, base: Path, source: Path) -> PseudonymConfig:
    """Check a parsed config; relative paths resolve against `base`."""
    table = data.get("pseudonym")
    if not isinstance(table, Mapping):
        raise ConfigError(f"{source}: pseudonym: a [pseudonym] table is required")
    s = _Section(table, "pseudonym", base, source)
    tls_table = s.get("tls", dict)
    t = _Section(tls_table, "pseudonym.tls", base, source)
    tls = TlsFiles(ca_cert=t.path("ca_cert"), cert=t.path("cert"), key=t.path("key"))
    t.finish()

    listen = s.get("listen", str, PseudonymConfig.listen)
    if not _LISTEN.match(listen):
        raise s.error("listen", f"must be host:port or unix:PATH, is {listen!r}")
    hub_ids = s.get("hub_ids", list, sorted(PseudonymConfig.hub_ids))
    if not all(isinstance(h, str) and h for h in hub_ids):
        raise s.error("hub_ids", "must be a list of certificate common names")
    portal_ids = s.get("portal_ids", list, [])
    if not all(isinstance(h, str) and h for h in portal_ids):
        raise s.error("portal_ids", "must be a list of certificate common names")
    if set(portal_ids) & set(hub_ids):
        raise s.error("portal_ids", "a name cannot be both a portal and the hub")
    max_batch = s.number("max_batch", int, 1, MAX_BATCH_LIMIT)
    rate = float(s.number("rate_per_partner", (int, float), 1e-3, MAX_RATE))
    burst = s.number("rate_burst", int, max_batch, MAX_RATE * 10)
    metrics_listen = s.get("metrics_listen", str, "")
    if metrics_listen:
        try:
            parse_listen(metrics_listen)
        except ValueError as exc:
            raise s.error("metrics_listen", str(exc)) from None
    config = PseudonymConfig(
        keyring=s.path("keyring"),
        audit_database=s.path("audit_database"),
        tls=tls,
        partners=s.path("partners"),
        listen=listen,
        port_file=s.optional_path("port_file"),
        hub_ids=frozenset(hub_ids),
        portal_ids=frozenset(portal_ids),
        max_batch=max_batch,
        rate_per_partner=rate,
        rate_burst=burst,
        capture_requests_file=s.optional_path("capture_requests_file"),
        metrics_listen=metrics_listen,
        metrics_port_file=s.optional_path("metrics_port_file"),
    )
    s.finish()
    return config
