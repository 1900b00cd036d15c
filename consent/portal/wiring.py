"""Builds the portal from its config: secrets, store, pseudonym client, Flask app, HTTPS server.

consent.wiring calls this when the consent config has a [consent.portal] table, so the portal
runs inside the consent service and reaches the registry in process.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from consent.config import PortalConfig
from consent.portal.app import create_app
from consent.portal.context import ConsentApi, PortalDeps
from consent.portal.household import HouseholdInfoSource, NoHouseholdSource
from consent.portal.hub_client import HubResidentClient
from consent.portal.identity import Pseudonymizer
from consent.portal.notices import NoticeFollower
from consent.portal.oidc import OidcSettings
from consent.portal.server import HttpsServer
from consent.portal.store import PortalStore
from pseudonym.client import PseudonymClient
from seinhuis import logs
from seinhuis.errors import ConfigError
from seinhuis.transport import TlsFiles
from seinhuis.web import secrets
from seinhuis.web.secrets import SECRET_BYTES, read_secret, write_secret

log = logs.get_logger(__name__)

# Secrets in files come from seinhuis.web.secrets (shared with the dashboard).
__all__ = [
    "SECRET_BYTES",
    "PortalService",
    "build",
    "certificate_name",
    "read_secret",
    "write_secret",
]

ROLE = "portal"
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
    #: The hub's ResidentService and the statute-notice poller, when [consent.portal.hub] is set.
    hub_client: HubResidentClient | None = None
    notices: NoticeFollower | None = None

    def start(self) -> int:
        self.port = self.server.start()
        if self.notices is not None:
            self.notices.start()
        host = self.config.listen.rpartition(":")[0]
        log.info("service.started", address=f"https://{host}:{self.port}", role=ROLE)
        return self.port

    def stop(self) -> None:
        log.info("service.stopping", role=ROLE)
        self.server.stop()
        if self.notices is not None:
            self.notices.stop()
        if self.hub_client is not None:
            self.hub_client.close()
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
    hub_tls: TlsFiles | None = None,
) -> PortalService:
    """The portal with its own tables in the consent database; nothing listens until start().

    hub_tls: the consent service's own certificate, with which the portal calls the hub's
    ResidentService when [consent.portal.hub] is set (and `household` is not given).
    """
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
    hub_client = notices = None
    if household is None and config.hub is not None:
        if hub_tls is None:
            raise ConfigError("consent.portal.hub: the consent service's certificate is needed")
        hub_client = HubResidentClient(
            config.hub.target, hub_tls, server_name=config.hub.server_name
        )
        household = hub_client
        notices = NoticeFollower(hub_client, store, clock=clock, poll_s=config.hub.notice_poll_s)
    deps = PortalDeps(
        consent=consent,
        store=store,
        household=household if household is not None else NoHouseholdSource(),
        pseudonymizer=pseudonymizer,
        clock=clock,
        idle=dt.timedelta(minutes=config.session_idle_minutes),
        public_url=config.public_url,
        hub=hub_client,
    )
    app = create_app(deps, oidc, session_secret)
    server = HttpsServer(app, config.listen, config.tls.cert, config.tls.key, name="consent.portal")
    return PortalService(config, app, store, server, client, hub_client=hub_client, notices=notices)


def certificate_name(path: Path) -> str:
    """The subject common name of a PEM certificate."""
    return secrets.certificate_name(path, "consent.portal.tls.cert")
