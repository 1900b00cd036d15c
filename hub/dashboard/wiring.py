"""Builds the dashboard from hub.toml: the hub's store, registries and the [hub.dashboard]
table's secrets, identity provider and HTTPS server.

It runs as a process of its own (`seinhuis hub dashboard --config hub.toml`) beside the hub,
reading the hub's database: the figures are the hub's data, never a copy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask

from hub import registry as registry_module
from hub import staff as staff_module
from hub.config import HubConfig
from hub.dashboard.app import create_app
from hub.dashboard.config import DashboardConfig
from hub.dashboard.context import DashboardDeps
from hub.dashboard.desk import DashboardDesk
from hub.store import HubStore, open_store
from seinhuis import logs
from seinhuis.atomic import write_port_file
from seinhuis.errors import ConfigError
from seinhuis.web.oidc import OidcSettings
from seinhuis.web.secrets import read_secret
from seinhuis.web.server import HttpsServer
from seinhuis.web.sessions import MemorySessionStore

log = logs.get_logger(__name__)

ROLE = "dashboard"
SESSION_SECRET_FILE = "dashboard-session.key"  # noqa: S105 (a file name)
CLIENT_SECRET_FILE = "dashboard-oidc-client.secret"  # noqa: S105


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class DashboardService:
    """A built, not yet started, dashboard; start() binds and returns the port."""

    config: DashboardConfig
    app: Flask
    store: HubStore
    server: HttpsServer
    port: int = 0

    def start(self) -> int:
        self.port = self.server.start()
        if self.config.port_file is not None:
            write_port_file(self.config.port_file, self.port)
        host = self.config.listen.rpartition(":")[0]
        log.info("service.started", address=f"https://{host}:{self.port}", role=ROLE)
        return self.port

    def stop(self, grace: float = 0.0) -> None:
        log.info("service.stopping", role=ROLE)
        self.server.stop()
        self.store.close()


def build(
    config: HubConfig,
    *,
    clock: Callable[[], dt.datetime] = _utc_now,
    store: HubStore | None = None,
    sessions: MemorySessionStore | None = None,
) -> DashboardService:
    """The dashboard on the hub's database; nothing listens until start()."""
    d = config.dashboard
    if d is None:
        raise ConfigError("hub.dashboard: missing table (the dashboard's address, TLS and login)")
    registry = registry_module.load(config.registry)
    staff = staff_module.load(config.staff)
    staff.check_apart_from(registry, str(config.staff))
    oidc = OidcSettings(
        d.oidc, read_secret(d.oidc.client_secret_file, "hub.dashboard.oidc.client_secret_file")
    )
    session_secret = read_secret(d.session_secret_file, "hub.dashboard.session_secret_file")
    store = (
        store
        if store is not None
        else open_store(config.database_url, auto_migrate=config.auto_migrate)
    )
    deps = DashboardDeps(
        desk=DashboardDesk(store, registry, clock=clock, weeks=d.weeks, months=d.months),
        staff=staff,
        staff_claim=d.oidc.staff_claim,
        clock=clock,
        idle=dt.timedelta(minutes=d.session_idle_minutes),
        public_url=d.public_url,
    )
    app = create_app(deps, oidc, session_secret.encode(), sessions)
    server = HttpsServer(app, d.listen, d.cert, d.key, name="hub.dashboard")
    return DashboardService(d, app, store, server)
