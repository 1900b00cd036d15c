"""What every Seinhuis web application shares: the Flask set-up, the guard before each request
(idle sessions, CSRF), security headers, and Dutch error pages that never show internals.

The resident portal (consent/portal/app.py) and the staff dashboard (hub/dashboard/app.py)
differ only in their blueprints, texts, session cookie and the prefix of their log events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from flask import Flask, redirect, request, session, url_for
from flask.sessions import SessionInterface
from werkzeug.exceptions import HTTPException, SecurityError
from werkzeug.wrappers import Response as BaseResponse

from seinhuis import logs
from seinhuis.errors import Unavailable
from seinhuis.web.security import CSRF_FIELD, add_headers, csrf_ok, csrf_token
from seinhuis.web.sessions import WebSession

log = logs.get_logger(__name__)

#: Names an application answers to when no public_url is configured.
LOOPBACK_HOSTS = ["127.0.0.1", "localhost"]

#: Renders a template with what the application's layout needs: (template, status, **context).
PageRenderer = Callable[..., tuple[str, int]]


#: The error pages' Dutch titles and messages that read the same in every application.
COMMON_ERRORS: Mapping[int, tuple[str, str]] = {
    400: ("Dit verzoek is niet geldig", "Er is niets veranderd."),
    403: ("Geen toegang", "U heeft geen toegang tot deze pagina."),
    404: ("Pagina niet gevonden", "Deze pagina bestaat niet. Controleer het adres."),
    405: ("Dit kan hier niet", "Deze pagina kan niet op deze manier worden gebruikt."),
}


@dataclass(frozen=True)
class ErrorTexts:
    """The Dutch title and message of each error page: by HTTP status (400 and 500 at least),
    when a needed service is unavailable, and when a form's CSRF token is not valid."""

    by_status: Mapping[int, tuple[str, str]]
    unavailable: tuple[str, str]
    csrf: tuple[str, str]


def create_flask(
    name: str,
    root: Path,
    *,
    secret: bytes,
    max_request_bytes: int,
    public_url: str,
    texts: ModuleType,
    sessions: SessionInterface,
) -> Flask:
    """A Flask app with autoescaped templates, CSRF helpers and server-side sessions, answering
    only to its public host name (or loopback)."""
    app = Flask(name, root_path=str(root), template_folder="templates", static_folder="static")
    app.config.update(
        SECRET_KEY=secret,
        MAX_CONTENT_LENGTH=max_request_bytes,
        PREFERRED_URL_SCHEME="https",
        TRUSTED_HOSTS=trusted_hosts(public_url),
    )
    app.jinja_env.autoescape = True
    app.jinja_env.globals.update(csrf_token=csrf_token, csrf_field=CSRF_FIELD, texts=texts)
    app.session_interface = sessions
    return app


def trusted_hosts(public_url: str) -> list[str]:
    if public_url:
        return [public_url.removeprefix("https://").split(":")[0]]
    return list(LOOPBACK_HOSTS)


def install_guards(app: Flask, *, service: str, page: PageRenderer, texts: ErrorTexts) -> None:
    """The guard before every request, the security headers after it, and the error pages.

    `service` prefixes the log events (`portal.logged_out`, `dashboard.internal_error`, ...)."""

    def guard() -> BaseResponse | tuple[str, int] | None:
        # An idle session has ended; a change needs this session's token.
        assert isinstance(session, WebSession)
        if session.expired and request.endpoint not in ("auth.start", "static"):
            log.info(f"{service}.logged_out", reason="idle")
            return redirect(url_for("auth.start", verlopen=1), code=303)
        if not csrf_ok():
            log.info(f"{service}.request_refused", reason="csrf", path=request.endpoint or "")
            return _error_page(page, 400, texts.csrf)
        return None

    def untrusted_host(_exc: SecurityError) -> tuple[str, int, dict[str, str]]:
        # A Host header the application does not answer to: no page (nothing to build links from).
        return "Onbekend adres.\n", 400, {"Content-Type": "text/plain; charset=utf-8"}

    def http_error(exc: HTTPException) -> tuple[str, int]:
        code = exc.code or 500
        fallback = texts.by_status[400 if code < 500 else 500]
        return _error_page(page, code, texts.by_status.get(code, fallback))

    def unavailable(_exc: Unavailable) -> tuple[str, int]:
        return _error_page(page, 503, texts.unavailable)

    def internal_error(exc: Exception) -> tuple[str, int]:
        log.error(f"{service}.internal_error", error_type=type(exc).__name__)
        return _error_page(page, 500, texts.by_status[500])

    app.before_request(guard)
    app.after_request(add_headers)
    app.register_error_handler(SecurityError, untrusted_host)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Unavailable, unavailable)
    app.register_error_handler(Exception, internal_error)


def _error_page(page: PageRenderer, status: int, text: tuple[str, str]) -> tuple[str, int]:
    title, message = text
    context: dict[str, Any] = {"title": title, "message": message}
    return page("fout.html", status, **context)
