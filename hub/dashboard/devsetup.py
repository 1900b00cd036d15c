"""A local development setup of the dashboard: its certificate and secrets, and a development
login provider of its own whose staff are the hub's (hub/staff.yaml).

    DIR/tls.crt, tls.key                  CN=dashboard (HTTPS), from the development CA
    DIR/dashboard-session.key             the session secret
    DIR/dashboard-oidc-client.secret      the client secret at the provider
    DIR/dev-oidc/dev-oidc.toml            the provider ("Ontwikkel-inlogdienst"), port 0
    DIR/dev-oidc/tls.crt, tls.key         CN=dev-oidc (HTTPS)

`hub_section` gives the [hub.dashboard] table for hub.toml once the provider's address is known.
seinhuis.network.Layout uses these for the tests and `make demo`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hub.dashboard.wiring import CLIENT_SECRET_FILE, SESSION_SECRET_FILE
from hub.staff import StaffMember
from seinhuis.crypto.pki import DevCA
from seinhuis.web.secrets import write_secret

DASHBOARD_CN = "dashboard"
CLIENT_ID = "seinhuis-dashboard"
CALLBACK_PATH = "/inloggen/terug"
#: The dashboard's listen line carries this comment: seinhuis.network's Launcher.restart
#: rewrites a bare `listen = "127.0.0.1:0"` line (the hub's own) to the port it had.
LISTEN_NOTE = "# the dashboard's own HTTPS port"
ISSUER_NOTE = "# the development login provider"


def _q(value: str | Path) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class DashboardDevSetup:
    root: Path

    @property
    def oidc_dir(self) -> Path:
        return self.root / "dev-oidc"

    @property
    def oidc_config(self) -> Path:
        return self.oidc_dir / "dev-oidc.toml"

    def create(self, ca: DevCA, staff: Iterable[StaffMember]) -> None:
        """Certificates, secrets and the provider's config (listening on a free port)."""
        ca.issue(self.root, DASHBOARD_CN, server=True)
        ca.issue(self.oidc_dir, "dev-oidc", server=True)
        write_secret(self.root / SESSION_SECRET_FILE)
        write_secret(self.root / CLIENT_SECRET_FILE)
        uris = [f"https://{h}{CALLBACK_PATH}" for h in ("127.0.0.1", "localhost")]
        secret = os.path.relpath(self.root / CLIENT_SECRET_FILE, self.oidc_dir)
        self.oidc_config.write_text(
            "[dev_oidc]\n"
            'listen = "127.0.0.1:0"\n'
            'port_file = "dev-oidc.port"\n'
            "[dev_oidc.tls]\n"
            'cert = "tls.crt"\nkey = "tls.key"\n'
            "[[dev_oidc.clients]]\n"
            f"client_id = {_q(CLIENT_ID)}\n"
            f"client_secret_file = {_q(secret)}\n"
            f"redirect_uris = [{', '.join(_q(u) for u in uris)}]\n"
            'accounts = "staff"\n'
            + "".join(
                f"[[dev_oidc.staff]]\nid = {_q(m.id)}\nrole = {_q(m.role.value.lower())}\n"
                for m in staff
            )
        )

    def hub_section(self, *, hub_dir: Path, issuer: str, ca_cert: Path) -> str:
        """The [hub.dashboard] table for the hub.toml in `hub_dir` (paths relative to it)."""

        def rel(path: Path) -> str:
            return _q(os.path.relpath(path, hub_dir))

        return (
            "[hub.dashboard]\n"
            f'listen = "127.0.0.1:0"  {LISTEN_NOTE}\n'
            'port_file = "dashboard.port"\n'
            f"session_secret_file = {rel(self.root / SESSION_SECRET_FILE)}\n"
            "[hub.dashboard.tls]\n"
            f"cert = {rel(self.root / 'tls.crt')}\n"
            f"key = {rel(self.root / 'tls.key')}\n"
            "[hub.dashboard.oidc]\n"
            f"issuer = {_q(issuer)}  {ISSUER_NOTE}\n"
            f"client_id = {_q(CLIENT_ID)}\n"
            f"client_secret_file = {rel(self.root / CLIENT_SECRET_FILE)}\n"
            f"ca_cert = {rel(ca_cert)}\n"
        )


def dashboard_lines(port: int, staff: Iterable[StaffMember]) -> list[str]:
    """What the demo prints about the dashboard: its address and how to log in."""
    names = ", ".join(f"'{m.id}' ({m.role.value.lower()})" for m in staff)
    return [
        f"Staff dashboard (Dutch): https://127.0.0.1:{port}/",
        "  Log in with the development login provider (Ontwikkel-inlogdienst, no real DigiD):",
        f"  choose {names}. An operator sees the figures, a procesregisseur the escalated cases.",
        "  Your browser does not know the development CA: trust ca/ca.crt in the demo folder.",
    ]
