"""The consent registry's typed configuration: the only place that reads its file.

```toml
[consent]
listen = "127.0.0.1:0"             # host:port; port 0 binds a free port
port_file = "consent.port"         # optional: the bound port is written here after start
database_url = "sqlite:///consent.db"  # relative SQLite paths resolve like files
auto_migrate = true                # false: refuse to start until `seinhuis consent migrate` ran
signing_key = "receipt-signing.key"    # `seinhuis consent init-keys DIR` makes it
portal_ids = ["portal"]            # certificate CNs that may Grant, Revoke and List
hub_ids = ["hub"]                  # certificate CNs that may Watch
partners = "partners.yaml"         # this registry's copy of the partner registry: the nodes
                                   # (by certificate CN) that may Check, for themselves only
watch_poll_s = 1.0                 # how often a Watch looks for writes by other processes
[consent.tls]
ca_cert = "../ca/ca.crt"
cert = "tls.crt"
key = "tls.key"
```
To serve the resident portal (consent.portal) from the same process, add:
```toml
[consent.portal]
listen = "127.0.0.1:8443"          # host:port; port 0 binds a free port
port_file = "portal.port"          # optional: the bound port is written here after start
public_url = ""                    # optional: https://host[:port] residents use; empty: the
                                   # address they reached, on loopback names only
session_secret_file = "portal-session.key"  # `seinhuis consent init-dev` makes it
session_idle_minutes = 15          # logged out after this long without a request, 1..120
[consent.portal.tls]               # HTTPS certificate and, towards the pseudonymisation
ca_cert = "../ca/ca.crt"           # service, the client certificate; its common name must
cert = "portal/tls.crt"            # be one of consent.portal_ids
key = "portal/tls.key"
[consent.portal.oidc]              # the OpenID Connect provider (a DigiD broker)
issuer = "https://127.0.0.1:8444"  # exactly as the provider's ID tokens name it
client_id = "seinhuis-portaal"
client_secret_file = "portal-oidc-client.secret"
ca_cert = "../ca/ca.crt"           # trust for the provider's HTTPS; empty: the system's
[consent.portal.pseudonym]
target = "127.0.0.1:50052"
server_name = "pseudonym"
[consent.portal.hub]               # optional: the hub's ResidentService (what the Overzicht
target = "127.0.0.1:50051"         # shows, objections, preferences, statute notices); the
server_name = "hub"                # portal calls it with [consent.tls], the consent
notice_poll_s = 2.0                # service's own certificate; without it: no data yet
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

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from seinhuis.errors import ConfigError
from seinhuis.metrics import parse_listen
from seinhuis.transport import TlsFiles

_LISTEN = re.compile(r"^(unix:.+|\S+:\d{1,5})$")
_MEMORY_URLS = ("sqlite://", "sqlite:///:memory:")
_PUBLIC_URL = re.compile(r"^https://[^/\s:]+(:\d{1,5})?$")


@dataclass(frozen=True)
class OidcConfig:
    """Where the portal logs residents in: an OpenID Connect provider and our client there."""

    issuer: str
    client_id: str
    client_secret_file: Path
    #: Trust anchor for the provider's HTTPS; None: the system's trust store.
    ca_cert: Path | None = None


@dataclass(frozen=True)
class PortalHubConfig:
    """Where the hub's ResidentService is (issue 5)."""

    target: str
    server_name: str = "hub"
    #: How often the portal asks the hub for new statute-based signals to tell residents of.
    notice_poll_s: float = 2.0


@dataclass(frozen=True)
class PortalConfig:
    """The resident portal that the consent service serves over HTTPS."""

    tls: TlsFiles
    session_secret_file: Path
    oidc: OidcConfig
    pseudonym_target: str
    pseudonym_server_name: str = "pseudonym"
    listen: str = "127.0.0.1:8443"
    port_file: Path | None = None
    #: "https://host[:port]" residents use; "" trusts loopback host names only.
    public_url: str = ""
    session_idle_minutes: int = 15
    #: None: no hub connected; the Overzicht says there is nothing to show yet.
    hub: PortalHubConfig | None = None


@dataclass(frozen=True)
class ConsentConfig:
    signing_key: Path
    tls: TlsFiles
    #: This registry's copy of the partner registry (seinhuis.partner_list): who is a node.
    partners: Path
    database_url: str = "sqlite:///consent.db"
    listen: str = "127.0.0.1:0"
    port_file: Path | None = None
    portal_ids: frozenset[str] = frozenset({"portal"})
    hub_ids: frozenset[str] = frozenset({"hub"})
    watch_poll_s: float = 1.0
    #: None: no portal.
    portal: PortalConfig | None = None
    #: Bring the database schema to the newest migration at start; false: refuse to start
    #: until an operator ran `seinhuis consent migrate`.
    auto_migrate: bool = True
    #: Loopback host:port serving Prometheus metrics at /metrics; empty: off.
    metrics_listen: str = ""
    #: Where the bound metrics port is written (like port_file).
    metrics_port_file: Path | None = None


class Section:
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

    def tls(self, key: str = "tls") -> TlsFiles:
        t = self.table(key)
        tls = TlsFiles(ca_cert=t.path("ca_cert"), cert=t.path("cert"), key=t.path("key"))
        t.finish()
        return tls

    def table(self, key: str) -> Section:
        """A required nested table, as a Section of its own."""
        return Section(self.get(key, dict), f"{self.prefix}.{key}", self.base, self.source)

    def names(self, key: str, default: frozenset[str]) -> frozenset[str]:
        value = self.get(key, list, sorted(default))
        if not all(isinstance(v, str) and v for v in value):
            raise self.error(key, "must be a list of certificate common names")
        return frozenset(value)

    def finish(self) -> None:
        for key in sorted(set(self.data) - self.seen):
            raise self.error(key, "unknown key")


def load(path: Path) -> ConsentConfig:
    """Read and check a consent.toml."""
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    return from_mapping(data, base=path.parent, source=path)


def from_mapping(data: Mapping[str, Any], *, base: Path, source: Path) -> ConsentConfig:
    """Check a parsed config; relative paths resolve against `base`."""
    table = data.get("consent")
    if not isinstance(table, Mapping):
        raise ConfigError(f"{source}: consent: a [consent] table is required")
    s = Section(table, "consent", base, source)
    tls = s.tls()

    listen = s.get("listen", str, ConsentConfig.listen)
    if not _LISTEN.match(listen):
        raise s.error("listen", f"must be host:port or unix:PATH, is {listen!r}")
    portal_ids = s.names("portal_ids", ConsentConfig.portal_ids)
    hub_ids = s.names("hub_ids", ConsentConfig.hub_ids)
    if portal_ids & hub_ids:
        raise s.error("hub_ids", "a name cannot be both a portal and the hub")
    poll = float(s.get("watch_poll_s", (int, float), ConsentConfig.watch_poll_s))
    if not 0.01 <= poll <= 60:
        raise s.error("watch_poll_s", f"must be between 0.01 and 60, is {poll:g}")
    metrics_listen = s.get("metrics_listen", str, "")
    if metrics_listen:
        try:
            parse_listen(metrics_listen)
        except ValueError as exc:
            raise s.error("metrics_listen", str(exc)) from None
    s.seen.add("auto_migrate")
    auto_migrate = table.get("auto_migrate", True)
    if not isinstance(auto_migrate, bool):
        raise s.error("auto_migrate", "must be true or false")
    config = ConsentConfig(
        signing_key=s.path("signing_key"),
        tls=tls,
        partners=s.path("partners"),
        database_url=_database_url(s.get("database_url", str, ConsentConfig.database_url), base, s),
        listen=listen,
        port_file=s.optional_path("port_file"),
        portal_ids=portal_ids,
        hub_ids=hub_ids,
        watch_poll_s=poll,
        portal=_portal(s.table("portal")) if "portal" in table else None,
        auto_migrate=auto_migrate,
        metrics_listen=metrics_listen,
        metrics_port_file=s.optional_path("metrics_port_file"),
    )
    s.finish()
    return config


def _portal(p: Section) -> PortalConfig:
    listen = p.get("listen", str, PortalConfig.listen)
    if not _LISTEN.match(listen) or listen.startswith("unix:"):
        raise p.error("listen", f"must be host:port, is {listen!r}")
    public_url = p.get("public_url", str, "").rstrip("/")
    if public_url and not _PUBLIC_URL.match(public_url):
        raise p.error("public_url", "must be https://host[:port] without a path, or empty")
    idle = p.get("session_idle_minutes", int, PortalConfig.session_idle_minutes)
    if not 1 <= idle <= 120:
        raise p.error("session_idle_minutes", f"must be between 1 and 120, is {idle}")
    o = p.table("oidc")
    issuer = o.get("issuer", str).rstrip("/")
    if not issuer.startswith("https://"):
        raise o.error("issuer", "must be an https:// URL")
    client_id = o.get("client_id", str)
    if not client_id:
        raise o.error("client_id", "must not be empty")
    oidc = OidcConfig(
        issuer=issuer,
        client_id=client_id,
        client_secret_file=o.path("client_secret_file"),
        ca_cert=o.optional_path("ca_cert"),
    )
    o.finish()
    ps = p.table("pseudonym")
    target = ps.get("target", str)
    if not _LISTEN.match(target):
        raise ps.error("target", f"must be host:port or unix:PATH, is {target!r}")
    server_name = ps.get("server_name", str, PortalConfig.pseudonym_server_name)
    ps.finish()
    hub = _portal_hub(p.table("hub")) if "hub" in p.data else None
    config = PortalConfig(
        tls=p.tls(),
        session_secret_file=p.path("session_secret_file"),
        oidc=oidc,
        pseudonym_target=target,
        pseudonym_server_name=server_name,
        listen=listen,
        port_file=p.optional_path("port_file"),
        public_url=public_url,
        session_idle_minutes=idle,
        hub=hub,
    )
    p.finish()
    return config


def _portal_hub(h: Section) -> PortalHubConfig:
    target = h.get("target", str)
    if not _LISTEN.match(target):
        raise h.error("target", f"must be host:port or unix:PATH, is {target!r}")
    poll = float(h.get("notice_poll_s", (int, float), PortalHubConfig.notice_poll_s))
    if not 0.05 <= poll <= 3600:
        raise h.error("notice_poll_s", f"must be between 0.05 and 3600, is {poll:g}")
    config = PortalHubConfig(
        target=target,
        server_name=h.get("server_name", str, PortalHubConfig.server_name),
        notice_poll_s=poll,
    )
    h.finish()
    return config


def _database_url(url: str, base: Path, s: Section) -> str:
    """Resolve a relative SQLite file path against the config folder; leave others alone."""
    if url in _MEMORY_URLS:
        return url
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise s.error("database_url", "not a database URL") from None
    if parsed.get_backend_name() != "sqlite":
        return url
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:") or Path(database).is_absolute():
        return url
    return parsed.set(database=str(base / database)).render_as_string(hide_password=False)
