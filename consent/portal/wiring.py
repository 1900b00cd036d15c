"""Builds the portal from its config: secrets, store, pseudonym client, Flask app, HTTPS server.

consent.wiring calls this when the consent config has a [consent.portal] table, so the portal
runs inside the consent service and reaches the registry in process.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID
from flask import Flask

from consent.config import PortalConfig
from consent.portal.app import create_app
from consent.portal.context import ConsentApi, PortalDeps
from consent.portal.household import HouseholdInfoSource, NoHouseholdSource
from consent.portal.identity import Pseudonymizer
from consent.portal.oidc import OidcSettings
from consent.portal.server import HttpsServer
from consent.portal.store import PortalStore
from pseudonym.client import PseudonymClient
from seinhuis import logs
from seinhuis.errors import ConfigError

log = logs.get_logger(__name__)

ROLE = "portal"
#: Bytes of randomness in a made session secret; a secret read from a file must be this long.
SECRET_BYTES = 32
SESSION_SECRET_FILE = "portal-session.key"  # noqa: S105 (a file name)
CLIENT_SECRET_FILE = "portal-oidc-client.secret"  # noqa: S105


@dataclass
class PortalService:
    """A built, not yet started, portal; start() binds and returns the port."""

    config: PortalConfig
    app: Flask
    store: PortalStore
    server: HttpsServer
    pseudonym_client: PseudonymClient | None
    port: int = 0

    def start(self) -> int:
        self.port = self.server.start()
        host = self.config.listen.rpartition(":")[0]
        log.info("service.started", address=f"https://{host}:{self.port}", role=ROLE)
        return self.port

    def stop(self) -> None:
        log.info("service.stopping", role=ROLE)
        self.server.stop()
        if self.pseudonym_client is not None:
            self.pseudonym_client.close()
        self.store.close()


def build(
    config: PortalConfig,
    *,
    consent: ConsentApi,
    database_url: str,
    portal_ids: frozenset[str],
    clock: Callable[[], dt.datetime],
    household: HouseholdInfoSource | None = None,
    pseudonymizer: Pseudonymizer | None = None,
) -> PortalService:
    """The portal with its own tables in the consent database; nothing listens until start()."""
    name = certificate_name(config.tls.cert)
    if name not in portal_ids:
        raise ConfigError(
            f"consent.portal.tls.cert: its common name {name!r} is not in consent.portal_ids"
        )
    oidc = OidcSettings(
        config.oidc,
        read_secret(config.oidc.client_secret_file, "consent.portal.oidc.client_secret_file"),
    )
    session_secret = read_secret(
        config.session_secret_file, "consent.portal.session_secret_file"
    ).encode()
    client = None
    if pseudonymizer is None:
        client = PseudonymClient(
            config.pseudonym_target, config.tls, server_name=config.pseudonym_server_name
        )
        pseudonymizer = client
    store = PortalStore(database_url)
    deps = PortalDeps(
        consent=consent,
        store=store,
        household=household if household is not None else NoHouseholdSource(),
        pseudonymizer=pseudonymizer,
        clock=clock,
        idle=dt.timedelta(minutes=config.session_idle_minutes),
        public_url=config.public_url,
    )
    app = create_app(deps, oidc, session_secret)
    server = HttpsServer(app, config.listen, config.tls.cert, config.tls.key, name="consent.portal")
    return PortalService(config, app, store, server, client)


def certificate_name(path: Path) -> str:
    """The subject common name of a PEM certificate."""
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"consent.portal.tls.cert: cannot read {path}") from exc
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def read_secret(path: Path, key: str) -> str:
    """A secret from a file (one line); at least SECRET_BYTES characters."""
    try:
        value = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"{key}: cannot read {path} ({exc.strerror})") from exc
    if len(value) < SECRET_BYTES:
        raise ConfigError(f"{key}: {path} holds a secret that is too short")
    return value


def write_secret(path: Path) -> None:
    """A new random secret in a file only its owner can read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(SECRET_BYTES) + "\n")
