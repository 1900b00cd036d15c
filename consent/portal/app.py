"""The portal's Flask application: its pages, its session cookie and its Dutch texts.

Flask with Jinja2 (autoescaped templates), served by cheroot over HTTPS (consent.portal.server);
the set-up, request guard and error pages are shared with the staff dashboard
(seinhuis.web.app). Every page is plain HTML with forms: no JavaScript anywhere, so it works
with scripts off.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from consent.portal import auth, consent_page, pages, texts
from consent.portal.context import PortalDeps, page
from consent.portal.oidc import OidcLogin, OidcSettings
from consent.portal.sessions import MemorySessionStore, ServerSideSessions
from seinhuis.web.app import COMMON_ERRORS, ErrorTexts, create_flask, install_guards

HERE = Path(__file__).resolve().parent
#: Forms are small; anything bigger is not ours.
MAX_REQUEST_BYTES = 64 * 1024

ERROR_TEXTS = ErrorTexts(
    by_status={
        **COMMON_ERRORS,
        413: ("Te veel gegevens", "Het formulier bevat te veel gegevens. Er is niets veranderd."),
        500: ("Er ging iets mis", "Er ging iets mis aan onze kant. Er is niets veranderd."),
    },
    unavailable=(
        "Even niet bereikbaar",
        "Een onderdeel dat het portaal nodig heeft, is nu niet bereikbaar. Probeer het later "
        "opnieuw.",
    ),
    csrf=(
        "Dit formulier is verlopen",
        "Het formulier is niet meer geldig. Ga terug, laad de pagina opnieuw en probeer het nog "
        "eens. Er is niets veranderd.",
    ),
)


def create_app(
    portal: PortalDeps,
    oidc: OidcSettings,
    session_secret: bytes,
    sessions: MemorySessionStore | None = None,
) -> Flask:
    app = create_flask(
        "consent.portal",
        HERE,
        secret=session_secret,
        max_request_bytes=MAX_REQUEST_BYTES,
        public_url=portal.public_url,
        texts=texts,
        sessions=ServerSideSessions(sessions or MemorySessionStore(), portal.idle, portal.clock),
    )
    app.extensions["seinhuis_portal"] = portal
    app.extensions["seinhuis_portal_oidc"] = OidcLogin(app, oidc)
    for blueprint in (auth.bp, pages.bp, consent_page.bp):
        app.register_blueprint(blueprint)
    install_guards(app, service="portal", page=page, texts=ERROR_TEXTS)
    return app
