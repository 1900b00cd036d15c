"""A local development setup of the consent service with its portal and the development provider.

`seinhuis consent init-dev DIR --ca CA_DIR` writes, from a development CA (seinhuis keys init):

    DIR/consent/consent.toml          the registry and [consent.portal]
    DIR/consent/tls.crt, tls.key      CN=consent (gRPC)
    DIR/consent/portal/tls.crt, .key  CN=portal (HTTPS, and client of the pseudonym service)
    DIR/consent/portal-session.key    the session secret
    DIR/consent/portal-oidc-client.secret
    DIR/consent/keys/                 the receipt signing key
    DIR/consent/partners.yaml         a copy of DIR/hub/partners.yaml: the nodes that may Check
    DIR/dev-oidc/dev-oidc.toml        the development provider
    DIR/dev-oidc/tls.crt, tls.key     CN=dev-oidc (HTTPS)
The tests use the same functions with port 0 for everything.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from consent import receipts
from consent.portal.wiring import CLIENT_SECRET_FILE, SESSION_SECRET_FILE, write_secret
from seinhuis.crypto.pki import DevCA
from seinhuis.keys_cli import copy_partner_list

PORTAL_CN = "portal"
CLIENT_ID = "seinhuis-portaal"
CALLBACK_PATH = "/inloggen/terug"


def _q(value: str | Path) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class DevSetup:
    root: Path

    @property
    def consent_dir(self) -> Path:
        return self.root / "consent"

    @property
    def oidc_dir(self) -> Path:
        return self.root / "dev-oidc"

    @property
    def consent_config(self) -> Path:
        return self.consent_dir / "consent.toml"

    @property
    def oidc_config(self) -> Path:
        return self.oidc_dir / "dev-oidc.toml"

    @property
    def client_secret(self) -> Path:
        return self.consent_dir / CLIENT_SECRET_FILE

    def create_keys(self, ca: DevCA) -> None:
        """Certificates, secrets and the receipt key; existing files are replaced."""
        ca.issue(self.consent_dir, "consent", server=True)
        ca.issue(self.consent_dir / "portal", PORTAL_CN, server=True)
        ca.issue(self.oidc_dir, "dev-oidc", server=True)
        shutil.copyfile(ca.cert_path, self.consent_dir / "ca.crt")
        shutil.copyfile(ca.cert_path, self.oidc_dir / "ca.crt")
        write_secret(self.consent_dir / SESSION_SECRET_FILE)
        write_secret(self.client_secret)
        receipts.generate_keys(self.consent_dir / "keys")
        # The registry's own copy of the partner registry: which nodes may Check.
        copy_partner_list(self.root, self.consent_dir)

    def write_oidc_config(self, listen: str = "127.0.0.1:8444") -> None:
        uris = [f"https://{h}{CALLBACK_PATH}" for h in ("127.0.0.1", "localhost")]
        self.oidc_config.write_text(
            "[dev_oidc]\n"
            f"listen = {_q(listen)}\n"
            'port_file = "dev-oidc.port"\n'
            "[dev_oidc.tls]\n"
            'cert = "tls.crt"\nkey = "tls.key"\n'
            "[[dev_oidc.clients]]\n"
            f"client_id = {_q(CLIENT_ID)}\n"
            f"client_secret_file = {_q(os.path.relpath(self.client_secret, self.oidc_dir))}\n"
            f"redirect_uris = [{', '.join(_q(u) for u in uris)}]\n"
        )

    def write_consent_config(
        self,
        *,
        issuer: str,
        pseudonym_target: str,
        portal_listen: str = "127.0.0.1:8443",
        consent_listen: str = "127.0.0.1:0",
        idle_minutes: int = 15,
        database_url: str = "sqlite:///consent.db",
        path: Path | None = None,
        hub_target: str = "",
        notice_poll_s: float = 2.0,
    ) -> Path:
        """Write consent.toml (or `path`, in the same folder) and return its path.

        hub_target: the hub's ResidentService; empty: no hub (the Overzicht has no data)."""
        path = path or self.consent_config
        path.write_text(
            "[consent]\n"
            f"listen = {_q(consent_listen)}\n"
            'port_file = "consent.port"\n'
            f"database_url = {_q(database_url)}\n"
            f'signing_key = "keys/{receipts.SIGNING_KEY_FILE}"\n'
            f"portal_ids = [{_q(PORTAL_CN)}]\n"
            'hub_ids = ["hub"]\n'
            'partners = "partners.yaml"\n'
            "[consent.tls]\n"
            'ca_cert = "ca.crt"\ncert = "tls.crt"\nkey = "tls.key"\n'
            "[consent.portal]\n"
            f"listen = {_q(portal_listen)}\n"
            'port_file = "portal.port"\n'
            f"session_secret_file = {_q(SESSION_SECRET_FILE)}\n"
            f"session_idle_minutes = {idle_minutes}\n"
            "[consent.portal.tls]\n"
            'ca_cert = "ca.crt"\ncert = "portal/tls.crt"\nkey = "portal/tls.key"\n'
            "[consent.portal.oidc]\n"
            f"issuer = {_q(issuer)}\n"
            f"client_id = {_q(CLIENT_ID)}\n"
            f"client_secret_file = {_q(CLIENT_SECRET_FILE)}\n"
            'ca_cert = "ca.crt"\n'
            "[consent.portal.pseudonym]\n"
            f"target = {_q(pseudonym_target)}\n"
            'server_name = "pseudonym"\n'
            + (
                "[consent.portal.hub]\n"
                f"target = {_q(hub_target)}\n"
                'server_name = "hub"\n'
                f"notice_poll_s = {notice_poll_s}\n"
                if hub_target
                else ""
            )
        )
        return path
