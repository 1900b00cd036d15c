"""The dashboard's Flask application: its pages, its session cookie and its Dutch texts.

Flask with Jinja2 (autoescaped templates), served by cheroot over HTTPS (seinhuis.web.server);
the set-up, request guard and error pages are the resident portal's (seinhuis.web.app). No
JavaScript anywhere: the charts are SVG drawn on the server, so every page works with scripts off.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from hub.dashboard import auth, pages, texts
from hub.dashboard.context import DashboardDeps, page
from seinhuis.web.app import COMMON_ERRORS, ErrorTexts, create_flask, install_guards
from seinhuis.web.oidc import OidcLogin, OidcSettings
from seinhuis.web.sessions import MemorySessionStore, ServerSideSessions

HERE = Path(__file__).resolve().parent
#: A cookie of its own: the portal may run on the same host (cookies ignore the port).
COOKIE_NAME = "__Host-dashboard-sessie"
_SALT = "seinhuis.hub.dashboard.session"
MAX_REQUEST_BYTES = 16 * 1024

ERROR_TEXTS = ErrorTexts(
    by_status={
        **COMMON_ERRORS,
        413: ("Te veel gegevens", "Het verzoek bevat te veel gegevens."),
        500: ("Er ging iets mis", "Er ging iets mis aan onze kant. Probeer het later opnieuw."),
    },
    unavailable=(
        "Even niet bereikbaar",
        "Een onderdeel dat het dashboard nodig heeft, is nu niet bereikbaar. Probeer het later "
        "opnieuw.",
    ),
    csrf=(
        "Dit formulier is verlopen",
        "Het formulier is niet meer geldig. Ga terug, laad de pagina opnieuw en probeer het nog "
        "eens.",
    ),
)


def create_app(
    dashboard: DashboardDeps,
    oidc: OidcSettings,
    session_secret: bytes,
    sessions: MemorySessionStore | None = None,
) -> Flask:
    app = create_flask(
        "hub.dashboard",
        HERE,
        secret=session_secret,
        max_request_bytes=MAX_REQUEST_BYTES,
        public_url=dashboard.public_url,
        texts=texts,
        sessions=ServerSideSessions(
            sessions or MemorySessionStore(),
            dashboard.idle,
            dashboard.clock,
            cookie_name=COOKIE_NAME,
            salt=_SALT,
        ),
    )
    app.extensions["seinhuis_dashboard"] = dashboard
    app.extensions["seinhuis_dashboard_oidc"] = OidcLogin(app, oidc, name="medewerker")
    for blueprint in (auth.bp, pages.bp):
        app.register_blueprint(blueprint)
    install_guards(app, service="dashboard", page=page, texts=ERROR_TEXTS)
    return app
