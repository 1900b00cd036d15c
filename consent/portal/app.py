"""The portal's Flask application: pages, sessions, CSRF, security headers and error pages.

Flask with Jinja2 (autoescaped templates), served by cheroot over HTTPS (consent.portal.server).
Every page is plain HTML with forms: no JavaScript anywhere, so it works with scripts off.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, redirect, request, session, url_for
from werkzeug.exceptions import HTTPException, SecurityError
from werkzeug.wrappers import Response as BaseResponse

from consent.portal import auth, consent_page, pages, texts
from consent.portal.context import PortalDeps, page
from consent.portal.oidc import OidcLogin, OidcSettings
from consent.portal.security import CSRF_FIELD, add_headers, csrf_ok, csrf_token
from consent.portal.sessions import MemorySessionStore, PortalSession, ServerSideSessions
from seinhuis import logs
from seinhuis.errors import Unavailable

log = logs.get_logger(__name__)

HERE = Path(__file__).resolve().parent
#: Loopback names the portal answers to when no public_url is configured.
LOOPBACK_HOSTS = ["127.0.0.1", "localhost"]
#: Forms are small; anything bigger is not ours.
MAX_REQUEST_BYTES = 64 * 1024

_ERRORS = {
    400: ("Dit verzoek is niet geldig", "Er is niets veranderd."),
    403: ("Geen toegang", "U heeft geen toegang tot deze pagina."),
    404: ("Pagina niet gevonden", "Deze pagina bestaat niet. Controleer het adres."),
    405: ("Dit kan hier niet", "Deze pagina kan niet op deze manier worden gebruikt."),
    413: ("Te veel gegevens", "Het formulier bevat te veel gegevens. Er is niets veranderd."),
    500: ("Er ging iets mis", "Er ging iets mis aan onze kant. Er is niets veranderd."),
}
_UNAVAILABLE = (
    "Even niet bereikbaar",
    "Een onderdeel dat het portaal nodig heeft, is nu niet bereikbaar. Probeer het later opnieuw.",
)
_CSRF = (
    "Dit formulier is verlopen",
    "Het formulier is niet meer geldig. Ga terug, laad de pagina opnieuw en probeer het nog "
    "eens. Er is niets veranderd.",
)


def create_app(
    portal: PortalDeps,
    oidc: OidcSettings,
    session_secret: bytes,
    sessions: MemorySessionStore | None = None,
) -> Flask:
    app = Flask(
        "consent.portal",
        root_path=str(HERE),
        template_folder="templates",
        static_folder="static",
    )
    app.config.update(
        SECRET_KEY=session_secret,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        PREFERRED_URL_SCHEME="https",
        TRUSTED_HOSTS=_trusted_hosts(portal.public_url),
    )
    app.jinja_env.autoescape = True
    app.jinja_env.globals.update(csrf_token=csrf_token, csrf_field=CSRF_FIELD, texts=texts)
    app.session_interface = ServerSideSessions(
        sessions or MemorySessionStore(), portal.idle, portal.clock
    )
    app.extensions["seinhuis_portal"] = portal
    app.extensions["seinhuis_portal_oidc"] = OidcLogin(app, oidc)
    for blueprint in (auth.bp, pages.bp, consent_page.bp):
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
    assert isinstance(session, PortalSession)
    if session.expired and request.endpoint not in ("auth.start", "static"):
        log.info("portal.logged_out", reason="idle")
        return redirect(url_for("auth.start", verlopen=1), code=303)
    if not csrf_ok():
        log.info("portal.request_refused", reason="csrf", path=request.endpoint or "")
        return page("fout.html", 400, title=_CSRF[0], message=_CSRF[1])
    return None


def _untrusted_host(_exc: SecurityError) -> tuple[str, int, dict[str, str]]:
    """A Host header the portal does not answer to: no page (nothing to build links from)."""
    return "Onbekend adres.\n", 400, {"Content-Type": "text/plain; charset=utf-8"}


def _http_error(exc: HTTPException) -> tuple[str, int]:
    code = exc.code or 500
    title, message = _ERRORS.get(code, _ERRORS[400 if code < 500 else 500])
    return page("fout.html", code, title=title, message=message)


def _unavailable(_exc: Unavailable) -> tuple[str, int]:
    return page("fout.html", 503, title=_UNAVAILABLE[0], message=_UNAVAILABLE[1])


def _internal_error(exc: Exception) -> tuple[str, int]:
    log.error("portal.internal_error", error_type=type(exc).__name__)
    title, message = _ERRORS[500]
    return page("fout.html", 500, title=title, message=message)
