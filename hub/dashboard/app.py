"""The dashboard's Flask application: pages, sessions, CSRF, security headers and error pages.

Flask with Jinja2 (autoescaped templates), served by cheroot over HTTPS (seinhuis.web.server),
the same building blocks as the resident portal. No JavaScript anywhere: the charts are SVG
drawn on the server, so every page works with scripts off.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, redirect, request, session, url_for
from werkzeug.exceptions import HTTPException, SecurityError
from werkzeug.wrappers import Response as BaseResponse

from hub.dashboard import auth, pages, texts
from hub.dashboard.context import DashboardDeps, page
from seinhuis import logs
from seinhuis.errors import Unavailable
from seinhuis.web.oidc import OidcLogin, OidcSettings
from seinhuis.web.security import CSRF_FIELD, add_headers, csrf_ok, csrf_token
from seinhuis.web.sessions import MemorySessionStore, ServerSideSessions, WebSession

log = logs.get_logger(__name__)

HERE = Path(__file__).resolve().parent
#: A cookie of its own: the portal may run on the same host (cookies ignore the port).
COOKIE_NAME = "__Host-dashboard-sessie"
_SALT = "seinhuis.hub.dashboard.session"
LOOPBACK_HOSTS = ["127.0.0.1", "localhost"]
MAX_REQUEST_BYTES = 16 * 1024

_ERRORS = {
    400: ("Dit verzoek is niet geldig", "Er is niets veranderd."),
    403: ("Geen toegang", "U heeft geen toegang tot deze pagina."),
    404: ("Pagina niet gevonden", "Deze pagina bestaat niet. Controleer het adres."),
    405: ("Dit kan hier niet", "Deze pagina kan niet op deze manier worden gebruikt."),
    413: ("Te veel gegevens", "Het verzoek bevat te veel gegevens."),
    500: ("Er ging iets mis", "Er ging iets mis aan onze kant. Probeer het later opnieuw."),
}
_UNAVAILABLE = (
    "Even niet bereikbaar",
    "Een onderdeel dat het dashboard nodig heeft, is nu niet bereikbaar. Probeer het later "
    "opnieuw.",
)
_CSRF = (
    "Dit formulier is verlopen",
    "Het formulier is niet meer geldig. Ga terug, laad de pagina opnieuw en probeer het nog eens.",
)


def create_app(
    dashboard: DashboardDeps,
    oidc: OidcSettings,
    session_secret: bytes,
    sessions: MemorySessionStore | None = None,
) -> Flask:
    app = Flask(
        "hub.dashboard",
        root_path=str(HERE),
        template_folder="templates",
        static_folder="static",
    )
    app.config.update(
        SECRET_KEY=session_secret,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        PREFERRED_URL_SCHEME="https",
        TRUSTED_HOSTS=_trusted_hosts(dashboard.public_url),
    )
    app.jinja_env.autoescape = True
    app.jinja_env.globals.update(csrf_token=csrf_token, csrf_field=CSRF_FIELD, texts=texts)
    app.session_interface = ServerSideSessions(
        sessions or MemorySessionStore(),
        dashboard.idle,
        dashboard.clock,
        cookie_name=COOKIE_NAME,
        salt=_SALT,
    )
    app.extensions["seinhuis_dashboard"] = dashboard
    app.extensions["seinhuis_dashboard_oidc"] = OidcLogin(app, oidc, name="medewerker")
    for blueprint in (auth.bp, pages.bp):
        app.register_blueprint(blueprint)

    app.before_request(_guard)
    app.after_request(add_headers)
    app.register_error_handler(SecurityError, _untrusted_host)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Unavailable, _unavailable)
    app.register_error_handler(Exception, _internal_error)
    return app


def _trusted_hosts(public_url: str) -> list[str]:
    if public_url:
        return [public_url.removeprefix("https://").split(":")[0]]
    return LOOPBACK_HOSTS


def _guard() -> BaseResponse | tuple[str, int] | None:
    """Before every request: an idle session has ended; a change needs this session's token."""
    assert isinstance(session, WebSession)
    if session.expired and request.endpoint not in ("auth.start", "static"):
        log.info("dashboard.logged_out", reason="idle")
        return redirect(url_for("auth.start", verlopen=1), code=303)
    if not csrf_ok():
        log.info("dashboard.request_refused", reason="csrf", path=request.endpoint or "")
        return page("fout.html", 400, title=_CSRF[0], message=_CSRF[1])
    return None


def _untrusted_host(_exc: SecurityError) -> tuple[str, int, dict[str, str]]:
    """A Host header the dashboard does not answer to: no page (nothing to build links from)."""
    return "Onbekend adres.\n", 400, {"Content-Type": "text/plain; charset=utf-8"}


def _http_error(exc: HTTPException) -> tuple[str, int]:
    code = exc.code or 500
    title, message = _ERRORS.get(code, _ERRORS[400 if code < 500 else 500])
    return page("fout.html", code, title=title, message=message)


def _unavailable(_exc: Unavailable) -> tuple[str, int]:
    return page("fout.html", 503, title=_UNAVAILABLE[0], message=_UNAVAILABLE[1])


def _internal_error(exc: Exception) -> tuple[str, int]:
    log.error("dashboard.internal_error", error_type=type(exc).__name__)
    title, message = _ERRORS[500]
    return page("fout.html", 500, title=title, message=message)
