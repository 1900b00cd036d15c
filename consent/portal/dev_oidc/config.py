"""The development identity provider's typed configuration: the only place that reads its file.

```toml
[dev_oidc]
listen = "127.0.0.1:8444"          # host:port; port 0 binds a free port
port_file = "dev-oidc.port"        # optional: the bound port is written here after start
issuer = ""                        # empty: https://<listen host>:<bound port>
[dev_oidc.tls]                     # its HTTPS certificate (from the development CA)
cert = "tls.crt"
key = "tls.key"
[[dev_oidc.clients]]
client_id = "seinhuis-portaal"
client_secret_file = "../consent/portal-oidc-client.secret"
# On loopback hosts any port matches (RFC 8252 7.3), so a portal on port 0 still fits.
redirect_uris = ["https://127.0.0.1/inloggen/terug", "https://localhost/inloggen/terug"]
accounts = "residents"             # who logs in there: "residents" (default) or "staff"
[[dev_oidc.staff]]                 # the staff a "staff" client offers (ids in hub/staff.yaml)
id = "operator"
role = "operator"                  # shown in the picker only; the hub's registry decides
```
Relative paths resolve against the config file's folder.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from consent.config import Section
from seinhuis.errors import ConfigError

_LISTEN = re.compile(r"^\S+:\d{1,5}$")
#: A staff id as the hub's staff registry has it.
_STAFF_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")
#: Who logs in at a client: the synthetic residents, or the synthetic municipal staff.
ACCOUNT_KINDS = ("residents", "staff")


@dataclass(frozen=True)
class DevClient:
    client_id: str
    client_secret_file: Path
    redirect_uris: tuple[str, ...]
    accounts: str = "residents"


@dataclass(frozen=True)
class DevStaff:
    id: str
    role: str = ""


@dataclass(frozen=True)
class DevOidcConfig:
    cert: Path
    key: Path
    clients: tuple[DevClient, ...]
    listen: str = "127.0.0.1:8444"
    port_file: Path | None = None
    issuer: str = ""
    staff: tuple[DevStaff, ...] = ()


def load(path: Path) -> DevOidcConfig:
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    if not isinstance(data.get("dev_oidc"), dict):
        raise ConfigError(f"{path}: dev_oidc: a [dev_oidc] table is required")
    s = Section(data["dev_oidc"], "dev_oidc", path.parent, path)
    listen = s.get("listen", str, DevOidcConfig.listen)
    if not _LISTEN.match(listen):
        raise s.error("listen", f"must be host:port, is {listen!r}")
    issuer = s.get("issuer", str, "").rstrip("/")
    if issuer and not issuer.startswith("https://"):
        raise s.error("issuer", "must be an https:// URL, or empty")
    t = s.table("tls")
    cert, key = t.path("cert"), t.path("key")
    t.finish()
    clients = []
    for n, raw in enumerate(s.get("clients", list)):
        if not isinstance(raw, dict):
            raise s.error("clients", "must be a list of tables")
        c = Section(raw, f"dev_oidc.clients[{n}]", path.parent, path)
        uris = c.get("redirect_uris", list)
        if not uris or not all(isinstance(u, str) and u.startswith("https://") for u in uris):
            raise c.error("redirect_uris", "must be a list of https:// URLs")
        accounts = c.get("accounts", str, "residents")
        if accounts not in ACCOUNT_KINDS:
            raise c.error("accounts", f"must be one of {', '.join(ACCOUNT_KINDS)}")
        clients.append(
            DevClient(c.get("client_id", str), c.path("client_secret_file"), tuple(uris), accounts)
        )
        c.finish()
    if not clients:
        raise s.error("clients", "must name at least one client")
    staff = []
    for n, raw in enumerate(s.get("staff", list, [])):
        if not isinstance(raw, dict):
            raise s.error("staff", "must be a list of tables")
        m = Section(raw, f"dev_oidc.staff[{n}]", path.parent, path)
        staff_id = m.get("id", str)
        if not _STAFF_ID.fullmatch(staff_id):
            raise m.error("id", f"must match {_STAFF_ID.pattern}")
        staff.append(DevStaff(staff_id, m.get("role", str, "")))
        m.finish()
    config = DevOidcConfig(
        cert=cert,
        key=key,
        clients=tuple(clients),
        listen=listen,
        port_file=s.optional_path("port_file"),
        issuer=issuer,
        staff=tuple(staff),
    )
    s.finish()
    return config
