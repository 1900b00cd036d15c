"""Toestemming: give and revoke consent (or object) per kind of partner and life domain.

For themselves and for the children they represent; grants for a 12 to 15-year-old made by one
of the two wait for the other (consent.representation), and the page shows them as pending.
Nothing here decides who may do what: the registry does, and its refusals come back in Dutch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask import Blueprint, flash, request
from werkzeug.wrappers import Response as BaseResponse

from consent.model import Entry, EntryState, GrantRequest
from consent.portal import forms, texts
from consent.portal.context import (
    deps,
    field_order,
    household,
    login_required,
    page,
    refusal_message,
    see_other,
)
from consent.portal.people import Household, Person
from seinhuis import logs
from seinhuis.errors import SeinhuisError

log = logs.get_logger(__name__)

bp = Blueprint("consent", __name__)

GRANT_FIELDS = ("persoon", "organisatie", "levensdomein", "doel", "keuze", "vanaf", "tot")


@dataclass(frozen=True)
class EntryRow:
    person: Person
    entry: Entry

    @property
    def awaiting_me(self) -> bool:
        return self.entry.awaiting is self.person.party

    @property
    def state_text(self) -> str:
        entry = self.entry
        if entry.awaiting is None:
            return texts.ENTRY_STATES[entry.state]
        who = "uw akkoord" if self.awaiting_me else f"akkoord van {texts.AWAITING[entry.awaiting]}"
        if entry.state is EntryState.GRANT_PENDING:
            return f"Wacht op {who}"
        return f"Intrekken wacht op {who}"


def _rows(people: Household) -> list[tuple[Person, list[EntryRow]]]:
    consent = deps().consent
    return [
        (p, [EntryRow(p, e) for e in consent.list_entries(people.actor, p.pseudonym)])
        for p in people.included
    ]


def _page(
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    general: str | None = None,
) -> tuple[str, int]:
    people = household()
    summary = field_order(errors or {}, GRANT_FIELDS)
    if general:
        summary.insert(0, ("", general))
    return page(
        "toestemming.html",
        422 if summary else 200,
        sections=_rows(people),
        errors=errors or {},
        summary=summary,
        values=values or {"persoon": people.included[0].key if people.included else ""},
        all_domains=forms.ALL_DOMAINS,
    )


@bp.get("/toestemming")
@login_required
def overview() -> tuple[str, int]:
    return _page()


@bp.post("/toestemming")
@login_required
def grant() -> tuple[str, int] | BaseResponse:
    people = household()
    parsed = forms.parse_grant(request.form, people, deps().clock())
    if isinstance(parsed, dict):
        return _page(parsed, request.form)
    try:
        entry = deps().consent.grant(people.actor, parsed.request)
    except SeinhuisError as exc:
        return _page(values=request.form, general=refusal_message(exc))
    _log_grant(entry)
    flash(_granted_message(EntryRow(parsed.person, entry)), "succes")
    return see_other("consent.overview")


def _find(people: Household) -> EntryRow | None:
    """The entry the form names, if it belongs to a person the resident manages."""
    person = people.by_key(request.form.get("persoon", ""))
    entry_id = forms.parse_entry_id(request.form)
    if person is None or entry_id is None:
        return None
    for entry in deps().consent.list_entries(people.actor, person.pseudonym):
        if entry.id == entry_id:
            return EntryRow(person, entry)
    return None


@bp.post("/toestemming/akkoord")
@login_required
def agree() -> tuple[str, int] | BaseResponse:
    """Agree to a pending grant: the same grant again, by the party it awaits."""
    people = household()
    row = _find(people)
    if row is None or row.entry.state is not EntryState.GRANT_PENDING:
        return _page(general=texts.RULE_MESSAGES["confirm.not-pending"])
    entry = row.entry
    validity = entry.validity
    request_again = GrantRequest(
        entry.cell, entry.decision, validity.valid_from, validity.valid_until
    )
    try:
        agreed = deps().consent.grant(people.actor, request_again)
    except SeinhuisError as exc:
        return _page(general=refusal_message(exc))
    _log_grant(agreed)
    flash(_granted_message(EntryRow(row.person, agreed)), "succes")
    return see_other("consent.overview")


@bp.post("/toestemming/intrekken")
@login_required
def revoke() -> tuple[str, int] | BaseResponse:
    people = household()
    row = _find(people)
    if row is None:
        return _page(general="Deze keuze bestaat niet (meer). Er is niets veranderd.")
    try:
        entry = deps().consent.revoke(people.actor, row.entry.id)
    except SeinhuisError as exc:
        return _page(general=refusal_message(exc))
    log.info("consent.revoked", caller="portal", entry=entry.id, state=entry.state.value)
    if entry.state is EntryState.REVOKED:
        flash("De keuze is ingetrokken.", "succes")
    else:
        other = texts.AWAITING[entry.awaiting] if entry.awaiting else "de ander"
        flash(
            f"Uw verzoek om in te trekken is vastgelegd. Het bezwaar blijft gelden tot {other} "
            "ook akkoord gaat.",
            "succes",
        )
    return see_other("consent.overview")


def _log_grant(entry: Entry) -> None:
    log.info(
        "consent.granted",
        caller="portal",
        entry=entry.id,
        state=entry.state.value,
        decision=entry.decision.value,
        purpose=entry.cell.purpose.value,
    )


def _granted_message(row: EntryRow) -> str:
    entry = row.entry
    if entry.state is EntryState.GRANT_PENDING and entry.awaiting is not None:
        return (
            "Uw keuze is vastgelegd en wacht nu op akkoord van "
            f"{texts.AWAITING[entry.awaiting]}. Pas daarna geldt de toestemming."
        )
    return "Uw keuze is vastgelegd."
