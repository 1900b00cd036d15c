"""The start page, logging in through the identity provider, and logging out."""

from __future__ import annotations

from flask import Blueprint, current_app, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from consent.portal import context
from consent.portal.context import deps, page, see_other
from consent.portal.identity import LoginRefused, actor_from_claims
from consent.portal.oidc import LoginCancelled, OidcLogin
from seinhuis import logs
from seinhuis.errors import SeinhuisError, Unavailable

log = logs.get_logger(__name__)

bp = Blueprint("auth", __name__)


def _oidc() -> OidcLogin:
    found: OidcLogin = current_app.extensions["seinhuis_portal_oidc"]
    return found


@bp.get("/")
def start() -> BaseResponse | tuple[str, int]:
    if context.logged_in():
        return see_other("pages.overview")
    notice = None
    if request.args.get("uitgelogd"):
        notice = "U bent uitgelogd."
    elif request.args.get("verlopen"):
        minutes = int(deps().idle.total_seconds() // 60)
        notice = (
            f"U was langer dan {minutes} minuten niet actief. Voor uw veiligheid bent u "
            "uitgelogd. Log opnieuw in om verder te gaan."
        )
    return page("start.html", notice=notice)


@bp.get("/inloggen")
def login() -> BaseResponse | tuple[str, int]:
    if context.logged_in():
        return see_other("pages.overview")
    public_url = deps().public_url
    callback = (
        public_url + url_for("auth.callback")
        if public_url
        else url_for("auth.callback", _external=True)
    )
    log.info("portal.login_started")
    return _oidc().redirect(callback)


@bp.get("/inloggen/terug")
def callback() -> BaseResponse | tuple[str, int]:
    try:
        claims = _oidc().finish()
        # The citizen numbers are in `claims` for this request only; they are not kept.
        actor = actor_from_claims(claims, deps().pseudonymizer)
    except LoginCancelled:
        log.info("portal.login_failed", reason="cancelled")
        return page("start.html", notice="U heeft het inloggen afgebroken.")
    except LoginRefused as exc:
        log.info("portal.login_failed", reason=exc.reason)
        return page("start.html", 400, error="Inloggen is niet gelukt. Probeer het opnieuw.")
    except Unavailable:
        log.warning("portal.login_failed", reason="unavailable")
        raise
    except SeinhuisError as exc:
        log.warning("portal.login_failed", reason=type(exc).__name__)
        return page("start.html", 400, error="Inloggen is niet gelukt. Probeer het opnieuw.")
    context.log_in(actor)
    log.info("portal.logged_in", children=len(actor.children))
    return see_other("pages.overview")


@bp.post("/uitloggen")
def logout() -> BaseResponse:
    session.clear()
    log.info("portal.logged_out", reason="resident")
    return see_other("auth.start", uitgelogd=1)
