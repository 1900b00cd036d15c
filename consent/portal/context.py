"""What every page handler shares: collaborators, the logged-in household, rendering."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ParamSpec, Protocol, TypeVar

from flask import current_app, redirect, render_template, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from consent.model import Entry, GrantRequest, Pseudonym
from consent.portal import texts
from consent.portal.household import HouseholdInfoSource, HubRecords
from consent.portal.identity import Pseudonymizer
from consent.portal.people import Household
from consent.portal.store import PortalStore
from consent.representation import Actor
from seinhuis.errors import SeinhuisError

_ACTOR = "actor"
_RULE = re.compile(r"rule ([a-z0-9.-]+)")

P = ParamSpec("P")
R = TypeVar("R")


class ConsentApi(Protocol):
    """What the portal asks of the registry (consent.registry.ConsentRegistry, in process)."""

    def grant(self, actor: Actor, request: GrantRequest) -> Entry: ...

    def revoke(self, actor: Actor, entry_id: bytes) -> Entry: ...

    def list_entries(
        self, actor: Actor, subject: Pseudonym, *, include_revoked: bool = False
    ) -> list[Entry]: ...


@dataclass(frozen=True)
class PortalDeps:
    """Everything the pages use; consent.portal.wiring builds it from the config."""

    consent: ConsentApi
    store: PortalStore
    household: HouseholdInfoSource
    pseudonymizer: Pseudonymizer
    clock: Callable[[], dt.datetime]
    idle: dt.timedelta
    #: "https://host[:port]" residents use, or "" for the address they reached.
    public_url: str = ""
    #: Where objections and preferences are recorded for the hub; None: no hub connected.
    hub: HubRecords | None = None


def deps() -> PortalDeps:
    found: PortalDeps = current_app.extensions["seinhuis_portal"]
    return found


def now() -> dt.datetime:
    return deps().clock()


def log_in(actor: Actor) -> None:
    """Start a fresh session (new id, new CSRF token) for this actor."""
    session.clear()
    session.regenerate()  # type: ignore[attr-defined]
    session[_ACTOR] = actor


def household() -> Household:
    """The logged-in resident's household; only inside a login_required handler."""
    actor = session.get(_ACTOR)
    assert isinstance(actor, Actor)
    return Household(actor)


def logged_in() -> bool:
    return isinstance(session.get(_ACTOR), Actor)


def login_required(view: Callable[P, R]) -> Callable[P, R | BaseResponse]:
    @functools.wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R | BaseResponse:
        if not logged_in():
            return redirect(url_for("auth.start"), code=303)
        return view(*args, **kwargs)

    return wrapped


def page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """A page with what the layout needs (the household when logged in)."""
    if logged_in():
        context.setdefault("people", household())
    return render_template(template, texts=texts, **context), status


def see_other(endpoint: str, **values: Any) -> BaseResponse:
    """POST-redirect-GET."""
    return redirect(url_for(endpoint, **values), code=303)


def refusal_message(exc: SeinhuisError) -> str:
    """The Dutch message for a registry refusal, by the rule it names."""
    found = _RULE.search(exc.message)
    if found is None:
        return texts.GENERIC_REFUSAL
    return texts.RULE_MESSAGES.get(found.group(1), texts.GENERIC_REFUSAL)


def field_order(errors: Mapping[str, str], fields: Sequence[str]) -> list[tuple[str, str]]:
    """Errors in the order the fields appear, for the summary at the top of the form."""
    return [(f, errors[f]) for f in fields if f in errors] + [
        (f, m) for f, m in errors.items() if f not in fields
    ]
