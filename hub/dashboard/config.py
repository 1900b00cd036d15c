"""The dashboard's typed configuration: the `[hub.dashboard]` table of hub.toml.

hub.config reads the file and hands this table over; the dashboard also uses the hub's
database, partner registry and staff registry from `[hub]`.

```toml
[hub.dashboard]
listen = "127.0.0.1:8445"          # host:port; port 0 binds a free port
port_file = "dashboard.port"       # optional: the bound port is written here after start
public_url = ""                    # "https://host[:port]" staff use; empty: the address reached
session_secret_file = "dashboard-session.key"
session_idle_minutes = 15          # 1 to 120
weeks = 13                         # how many weeks the weekly figures cover (4 to 53)
months = 12                        # how many months the monthly figures cover (2 to 36)
[hub.dashboard.tls]                # its HTTPS certificate
cert = "dashboard/tls.crt"
key = "dashboard/tls.key"
[hub.dashboard.oidc]               # the municipality's identity provider for staff
issuer = "https://127.0.0.1:8444"
client_id = "seinhuis-dashboard"
client_secret_file = "dashboard-oidc-client.secret"
ca_cert = "../ca/ca.crt"           # optional: trust anchor for the provider's HTTPS
staff_claim = "preferred_username" # the ID token claim holding the member's id in staff.yaml
```
Relative paths resolve against the config file's folder.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consent.config import Section

_LISTEN = re.compile(r"^\S+:\d{1,5}$")
_PUBLIC_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:\d{1,5})?$")
_CLAIM = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")


@dataclass(frozen=True)
class DashboardOidcConfig:
    """Where staff log in: an OpenID Connect provider, our client there, and the claim that
    names the member of staff (matched against the ids in the hub's staff registry)."""

    issuer: str
    client_id: str
    client_secret_file: Path
    ca_cert: Path | None = None
    staff_claim: str = "preferred_username"


@dataclass(frozen=True)
class DashboardConfig:
    cert: Path
    key: Path
    session_secret_file: Path
    oidc: DashboardOidcConfig
    listen: str = "127.0.0.1:8445"
    port_file: Path | None = None
    public_url: str = ""
    session_idle_minutes: int = 15
    weeks: int = 13
    months: int = 12


def from_table(table: Mapping[str, Any], *, base: Path, source: Path) -> DashboardConfig:
    """Check the [hub.dashboard] table; ConfigError names the file and the key."""
    s = Section(table, "hub.dashboard", base, source)
    listen = s.get("listen", str, DashboardConfig.listen)
    if not _LISTEN.match(listen):
        raise s.error("listen", f"must be host:port, is {listen!r}")
    public_url = s.get("public_url", str, "").rstrip("/")
    if public_url and not _PUBLIC_URL.match(public_url):
        raise s.error("public_url", "must be https://host[:port] without a path, or empty")
    idle = s.get("session_idle_minutes", int, DashboardConfig.session_idle_minutes)
    if not 1 <= idle <= 120:
        raise s.error("session_idle_minutes", f"must be between 1 and 120, is {idle}")
    weeks = s.get("weeks", int, DashboardConfig.weeks)
    if not 4 <= weeks <= 53:
        raise s.error("weeks", f"must be between 4 and 53, is {weeks}")
    months = s.get("months", int, DashboardConfig.months)
    if not 2 <= months <= 36:
        raise s.error("months", f"must be between 2 and 36, is {months}")
    t = s.table("tls")
    cert, key = t.path("cert"), t.path("key")
    t.finish()
    config = DashboardConfig(
        cert=cert,
        key=key,
        session_secret_file=s.path("session_secret_file"),
        oidc=_oidc(s.table("oidc")),
        listen=listen,
        port_file=s.optional_path("port_file"),
        public_url=public_url,
        session_idle_minutes=idle,
        weeks=weeks,
        months=months,
    )
    s.finish()
    return config


def _oidc(o: Section) -> DashboardOidcConfig:
    issuer = o.get("issuer", str).rstrip("/")
    if not issuer.startswith("https://"):
        raise o.error("issuer", "must be an https:// URL")
    client_id = o.get("client_id", str)
    if not client_id:
        raise o.error("client_id", "must not be empty")
    claim = o.get("staff_claim", str, DashboardOidcConfig.staff_claim)
    if not _CLAIM.match(claim):
        raise o.error("staff_claim", "must be a claim name")
    config = DashboardOidcConfig(
        issuer=issuer,
        client_id=client_id,
        client_secret_file=o.path("client_secret_file"),
        ca_cert=o.optional_path("ca_cert"),
        staff_claim=claim,
    )
    o.finish()
    return config
