"""What every page handler shares: collaborators, the logged-in member of staff, rendering."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from flask import current_app, redirect, render_template, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from hub.dashboard import texts
from hub.dashboard.desk import DashboardDesk
from hub.staff import StaffMember, StaffRegistry

_STAFF = "staff_id"

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class DashboardDeps:
    """Everything the pages use; hub.dashboard.wiring builds it from hub.toml."""

    desk: DashboardDesk
    staff: StaffRegistry
    #: The ID token claim holding the member's id in the staff registry.
    staff_claim: str
    clock: Callable[[], dt.datetime]
    idle: dt.timedelta
    #: "https://host[:port]" staff use, or "" for the address they reached.
    public_url: str = ""


def deps() -> DashboardDeps:
    found: DashboardDeps = current_app.extensions["seinhuis_dashboard"]
    return found


def log_in(member: StaffMember) -> None:
    """Start a fresh session (new id, new CSRF token) for this member."""
    session.clear()
    session.regenerate()  # type: ignore[attr-defined]
    session[_STAFF] = member.id


def member() -> StaffMember | None:
    """The logged-in member, as the staff registry lists them now."""
    staff_id = session.get(_STAFF)
    return deps().staff.members.get(staff_id) if isinstance(staff_id, str) else None


def current() -> StaffMember:
    """The logged-in member; only inside a login_required handler."""
    found = member()
    assert found is not None
    return found


def login_required(view: Callable[P, R]) -> Callable[P, R | BaseResponse]:
    @functools.wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R | BaseResponse:
        if member() is None:
            return redirect(url_for("auth.start"), code=303)
        return view(*args, **kwargs)

    return wrapped


def page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """A page with what the layout needs (the member when logged in)."""
    context.setdefault("member", member())
    return render_template(template, texts=texts, **context), status


def see_other(endpoint: str, **values: Any) -> BaseResponse:
    """POST-redirect-GET."""
    return redirect(url_for(endpoint, **values), code=303)
