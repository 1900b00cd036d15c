"""The hub's typed configuration, loaded from hub.toml (the only place that reads it)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from hub.dashboard.config import DashboardConfig
from hub.dashboard.config import from_table as dashboard_from_table
from seinhuis.errors import ConfigError
from seinhuis.metrics import parse_listen
from seinhuis.transport import TlsFiles

ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")
#: The database URL that selects the in-memory store (tests and experiments only).
MEMORY_URL = "memory://"

_HUB_KEYS = {
    "id",
    "listen",
    "port_file",
    "database_url",
    "auto_migrate",
    "judge",
    "judge_niceness",
    "registry",
    "catalogue",
    "policies",
    "sealing_keys",
    "max_clock_skew_s",
    "max_envelopes_per_stream",
    "rate_per_partner",
    "rate_burst",
    "institutions",
    "capture_requests_file",
    "staff",
    "metrics_listen",
    "metrics_port_file",
    "tls",
    "pseudonym",
    "consent",
    "dashboard",
}
_TLS_KEYS = {"ca_cert", "cert", "key"}
_PSEUDONYM_KEYS = {"target", "server_name", "rekey_interval_s"}
_CONSENT_KEYS = {
    "receipt_keys",
    "client_ids",
    "target",
    "target_port_file",
    "server_name",
    "max_receipt_age_days",
    "sweep_interval_s",
}


@dataclass(frozen=True)
class PseudonymServiceConfig:
    """Where the pseudonymisation service is; the hub only fetches re-key factors there."""

    target: str
    server_name: str
    #: How often the hub checks for a new key version and re-keys what it holds.
    rekey_interval_s: float = 30.0


@dataclass(frozen=True)
class HubConsentConfig:
    """The consent registry as the hub knows it (issue 5).

    ```toml
    [hub.consent]
    receipt_keys = ["consent-receipt.pub"]  # the registry's receipt verify keys (first: current)
    client_ids = ["consent"]    # certificate names that may call the ResidentService
    target = "127.0.0.1:50053"  # optional: follow the registry's Watch stream from here
    target_port_file = ""       # or: 127.0.0.1 and the port the registry wrote here (local
                                # networks whose registry starts after the hub, on port 0)
    server_name = "consent"
    max_receipt_age_days = 30   # older receipts are refused: the node checks consent again
    sweep_interval_s = 5.0      # how often receipts that ran out are looked for
    ```
    """

    receipt_keys: tuple[Path, ...]
    client_ids: frozenset[str] = frozenset({"consent"})
    #: None (and no target_port_file): the hub verifies receipts but does not follow revocations.
    target: str | None = None
    #: Read at each connection attempt: 127.0.0.1 on the port written there.
    target_port_file: Path | None = None
    server_name: str = "consent"
    max_receipt_age_days: int = 30
    sweep_interval_s: float = 5.0


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
    #: The folder of matching, regie, deadline and retention rules; None: the shipped policies/.
    policies: Path | None = None
    #: None: this hub cannot re-key after a rotation until it is configured.
    pseudonym: PseudonymServiceConfig | None = None
    #: None: consent-based signals are not checked (development only; see hub.consent_check).
    consent: HubConsentConfig | None = None
    #: For audits and privacy tests: every request as received is appended here.
    capture_requests_file: Path | None = None
    #: Bring the database schema to the newest migration at start; false: refuse to start
    #: until an operator ran `seinhuis hub migrate` (several hubs, one PostgreSQL).
    auto_migrate: bool = True
    #: The staff registry (staff.yaml) for the operator interface; None: no staff admitted.
    staff: Path | None = None
    #: Loopback host:port serving Prometheus metrics at /metrics; empty: off.
    metrics_listen: str = ""
    #: Where the bound metrics port is written (like port_file).
    metrics_port_file: Path | None = None
    #: Where the judge runs: "thread" (in the hub process), "process" (a child process of its
    #: own, so judging never competes with the intake for the interpreter), or "off" (another
    #: hub process sharing the database judges).
    judge: str = "thread"
    #: With judge = "process": the judge process's scheduling niceness, 0 (as the intake) to 19.
    #: Higher lets partners' acknowledgements go first when both want the CPU, and judging
    #: lags a burst by more; lower keeps judgement prompt under load, at some intake rate.
    judge_niceness: int = 10
    #: The staff dashboard (`seinhuis hub dashboard`); None: not configured.
    dashboard: DashboardConfig | None = None


JUDGE_MODES = ("thread", "process", "off")


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
    policies = r.text("policies", default="")
    sealing = r.get("sealing_keys", list, "a list")
    if not sealing or not all(isinstance(k, str) and k for k in sealing):
        raise ConfigError(f"{source}: hub.sealing_keys: a non-empty list of key file paths")
    t = _Reader(tls, base, source, "hub.tls.")
    institutions = r.text("institutions", default="")
    capture = r.text("capture_requests_file", default="")
    staff = r.text("staff", default="")
    metrics_listen = r.text("metrics_listen", default="")
    if metrics_listen:
        try:
            parse_listen(metrics_listen)
        except ValueError as exc:
            raise ConfigError(f"{source}: hub.metrics_listen: {exc}") from None
    metrics_port_file = r.text("metrics_port_file", default="")
    judge = r.text("judge", default="thread")
    if judge not in JUDGE_MODES:
        raise ConfigError(f"{source}: hub.judge: must be one of {', '.join(JUDGE_MODES)}")
    judge_niceness = r.integer("judge_niceness", 0, 19, default=10)
    auto_migrate = hub.get("auto_migrate", True)
    if not isinstance(auto_migrate, bool):
        raise ConfigError(f"{source}: hub.auto_migrate: must be true or false")
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
        policies=base / policies if policies else None,
        pseudonym=pseudonym,
        consent=_consent(hub, base, source),
        capture_requests_file=base / capture if capture else None,
        auto_migrate=auto_migrate,
        staff=base / staff if staff else None,
        metrics_listen=metrics_listen,
        metrics_port_file=base / metrics_port_file if metrics_port_file else None,
        judge=judge,
        judge_niceness=judge_niceness,
        dashboard=(
            dashboard_from_table(
                _table(hub, "dashboard", source, prefix="hub."), base=base, source=Path(source)
            )
            if "dashboard" in hub
            else None
        ),
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


def _consent(hub: dict[str, Any], base: Path, source: str) -> HubConsentConfig | None:
    if "consent" not in hub:
        return None
    table = _table(hub, "consent", source, prefix="hub.")
    _no_unknown(table, _CONSENT_KEYS, "hub.consent.", source)
    c = _Reader(table, base, source, "hub.consent.")
    keys = c.get("receipt_keys", list, "a list")
    if not keys or not all(isinstance(k, str) and k for k in keys):
        raise ConfigError(f"{source}: hub.consent.receipt_keys: a non-empty list of key files")
    clients = c.get("client_ids", list, "a list", default=["consent"])
    if not all(isinstance(n, str) and n for n in clients):
        raise ConfigError(f"{source}: hub.consent.client_ids: a list of certificate names")
    target = c.text("target", default="")
    port_file = c.text("target_port_file", default="")
    if target and port_file:
        raise ConfigError(f"{source}: hub.consent.target_port_file: give a target or a port file")
    return HubConsentConfig(
        receipt_keys=tuple(base / k for k in keys),
        client_ids=frozenset(clients),
        target=target or None,
        target_port_file=base / port_file if port_file else None,
        server_name=c.text("server_name", default="consent"),
        max_receipt_age_days=c.integer("max_receipt_age_days", 1, 3650, default=30),
        sweep_interval_s=c.number("sweep_interval_s", 0.05, 3600.0, default=5.0),
    )
