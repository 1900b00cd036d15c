"""The start page, logging staff in through the identity provider, and logging out."""

from __future__ import annotations

from flask import Blueprint, current_app, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from hub.dashboard import context
from hub.dashboard.context import deps, page, see_other
from hub.dashboard.identity import member_from_claims
from hub.staff import StaffMember, StaffRole
from seinhuis import logs
from seinhuis.errors import SeinhuisError, Unavailable
from seinhuis.web.oidc import LoginCancelled, LoginRefused, OidcLogin

log = logs.get_logger(__name__)

bp = Blueprint("auth", __name__)

_NOT_LISTED = (
    "U bent ingelogd bij de inlogdienst, maar u staat niet in het register van medewerkers "
    "van deze gemeente. Vraag de beheerder van Seinhuis u toe te voegen."
)
_FAILED = "Inloggen is niet gelukt. Probeer het opnieuw."


def _oidc() -> OidcLogin:
    found: OidcLogin = current_app.extensions["seinhuis_dashboard_oidc"]
    return found


def landing(member: StaffMember) -> str:
    """Where a member starts: a procesregisseur or bestuurder at their escalated cases."""
    return "pages.figures" if member.role is StaffRole.OPERATOR else "pages.escalated"


@bp.get("/")
def start() -> BaseResponse | tuple[str, int]:
    found = context.member()
    if found is not None:
        return see_other(landing(found))
    notice = None
    if request.args.get("uitgelogd"):
        notice = "U bent uitgelogd."
    elif request.args.get("verlopen"):
        minutes = int(deps().idle.total_seconds() // 60)
        notice = (
            f"U was langer dan {minutes} minuten niet actief. Voor de veiligheid bent u "
            "uitgelogd. Log opnieuw in om verder te gaan."
        )
    return page("start.html", notice=notice)


@bp.get("/inloggen")
def login() -> BaseResponse | tuple[str, int]:
    found = context.member()
    if found is not None:
        return see_other(landing(found))
    public_url = deps().public_url
    callback = (
        public_url + url_for("auth.callback")
        if public_url
        else url_for("auth.callback", _external=True)
    )
    log.info("dashboard.login_started")
    return _oidc().redirect(callback)


@bp.get("/inloggen/terug")
def callback() -> BaseResponse | tuple[str, int]:
    try:
        claims = _oidc().finish()
        member = member_from_claims(claims, deps().staff, deps().staff_claim)
    except LoginCancelled:
        log.info("dashboard.login_failed", reason="cancelled")
        return page("start.html", notice="U heeft het inloggen afgebroken.")
    except LoginRefused as exc:
        log.info("dashboard.login_failed", reason=exc.reason)
        if exc.reason == "staff.unknown":
            return page("start.html", 403, error=_NOT_LISTED)
        return page("start.html", 400, error=_FAILED)
    except Unavailable:
        log.warning("dashboard.login_failed", reason="unavailable")
        raise
    except SeinhuisError as exc:
        log.warning("dashboard.login_failed", reason=type(exc).__name__)
        return page("start.html", 400, error=_FAILED)
    context.log_in(member)
    log.info("dashboard.logged_in", staff=member.id, role=member.role.value)
    return see_other(landing(member))


@bp.post("/uitloggen")
def logout() -> BaseResponse:
    found = context.member()
    session.clear()
    log.info("dashboard.logged_out", reason="staff", staff=found.id if found else None)
    return see_other("auth.start", uitgelogd=1)
