"""Overzicht, Voorkeur regiehouder, Bezwaar and Berichten."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from flask import Blueprint, flash, request
from werkzeug.wrappers import Response as BaseResponse

from consent.portal import forms
from consent.portal.context import (
    deps,
    field_order,
    household,
    login_required,
    now,
    page,
    see_other,
)
from consent.portal.household import HeldSignal, HouseholdInfo
from consent.portal.people import Household, Person
from consent.portal.records import Objection, ObjectionState, RegiehouderPreference
from seinhuis import logs
from seinhuis.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound

log = logs.get_logger(__name__)

bp = Blueprint("pages", __name__)

Page = BaseResponse | tuple[str, int]


@dataclass(frozen=True)
class SignalRow:
    """A held signal with the person it concerns, as the resident knows them."""

    person: Person
    signal: HeldSignal


def _info(people: Household) -> tuple[HouseholdInfo, list[SignalRow]]:
    """What the source holds, narrowed to the people this resident may see."""
    info = deps().household.household_info([p.pseudonym for p in people.included])
    rows = []
    for signal in info.signals:
        person = people.by_pseudonym(signal.subject)
        if person is not None:
            rows.append(SignalRow(person, signal))
    rows.sort(key=lambda r: r.signal.registered_on, reverse=True)
    return info, rows


@bp.get("/overzicht")
@login_required
def overview() -> Page:
    people = household()
    info, rows = _info(people)
    return page(
        "overzicht.html",
        info=info,
        rows=rows,
        access=sorted(info.access_log, key=lambda a: a.at, reverse=True),
        preference=deps().store.preference(people.me.pseudonym),
    )


# --- voorkeur regiehouder -----------------------------------------------------------------------

REGIEHOUDER_FIELDS = ("voorkeur", "organisatie")


def _regiehouder_page(
    errors: Mapping[str, str] | None = None, values: Mapping[str, str] | None = None
) -> tuple[str, int]:
    people = household()
    return page(
        "regiehouder.html",
        422 if errors else 200,
        errors=errors or {},
        summary=field_order(errors or {}, REGIEHOUDER_FIELDS),
        values=values or {},
        preference=deps().store.preference(people.me.pseudonym),
    )


@bp.get("/regiehouder")
@login_required
def regiehouder() -> Page:
    return _regiehouder_page()


@bp.post("/regiehouder")
@login_required
def state_preference() -> Page:
    parsed = forms.parse_preference(request.form)
    if isinstance(parsed, dict):
        return _regiehouder_page(parsed, request.form)
    people = household()
    preference = RegiehouderPreference(
        people.me.pseudonym, parsed.choice, now(), parsed.partner_type
    )
    hub = deps().hub
    if hub is not None:
        # The hub first: the judgement follows it there; if the hub is away, nothing changes.
        hub.state_preference(preference)
    deps().store.set_preference(preference)
    log.info("portal.preference_stated", choice=parsed.choice.value)
    flash("Uw voorkeur voor een regiehouder is opgeslagen.", "succes")
    return see_other("pages.regiehouder")


@bp.post("/regiehouder/wissen")
@login_required
def clear_preference() -> Page:
    hub = deps().hub
    if hub is not None:
        hub.clear_preference(household().me.pseudonym)
    if deps().store.clear_preference(household().me.pseudonym):
        log.info("portal.preference_cleared")
        flash("Uw voorkeur is verwijderd.", "succes")
    return see_other("pages.regiehouder")


# --- bezwaar -----------------------------------------------------------------------------------

OBJECTION_FIELDS = ("signaal", "reden")


def _objection_page(
    errors: Mapping[str, str] | None = None, values: Mapping[str, str] | None = None
) -> tuple[str, int]:
    people = household()
    _, rows = _info(people)
    objections = deps().store.objections_for(p.pseudonym for p in people.included)
    under_review = {o.signal_reference for o in objections if o.state is ObjectionState.OPEN}
    return page(
        "bezwaar.html",
        422 if errors else 200,
        errors=errors or {},
        summary=field_order(errors or {}, OBJECTION_FIELDS),
        values=values or {},
        open_rows=[
            r for r in rows if r.signal.statute_based and r.signal.reference not in under_review
        ],
        objections=[(people.by_pseudonym(o.subject), o) for o in reversed(objections)],
    )


@bp.get("/bezwaar")
@login_required
def objections() -> Page:
    return _objection_page()


@bp.post("/bezwaar")
@login_required
def object_to_signal() -> Page:
    people = household()
    _, rows = _info(people)
    by_reference = {r.signal.reference: r for r in rows}
    statute = {ref for ref, r in by_reference.items() if r.signal.statute_based}
    parsed = forms.parse_objection(request.form, statute)
    if isinstance(parsed, dict):
        if request.form.get("signaal") in by_reference:
            parsed["signaal"] = (
                "Voor dit signaal is uw toestemming gebruikt. Wilt u dat niet meer? Trek uw "
                "toestemming in op de pagina Toestemming."
            )
        return _objection_page(parsed, request.form)
    row = by_reference[parsed.reference]
    signal = row.signal
    objection = Objection(
        id=os.urandom(16),
        signal_reference=signal.reference,
        subject=signal.subject,
        made_by=row.person.party,
        reason=parsed.reason,
        signal_type=signal.signal_type,
        partner_type=signal.partner_type,
        legal_basis=signal.legal_basis,
        created_at=now(),
    )
    already = {"signaal": "U heeft al bezwaar gemaakt tegen dit signaal."}
    hub = deps().hub
    if hub is not None:
        # The hub keeps the operators' review list: recorded there first, or not at all.
        try:
            hub.record_objection(objection)
        except AlreadyExists:
            return _objection_page(already)
        except (NotFound, FailedPrecondition, InvalidArgument):
            return _objection_page({"signaal": "Tegen dit signaal kunt u hier geen bezwaar maken."})
    try:
        deps().store.add_objection(objection)
    except AlreadyExists:
        return _objection_page(already)
    log.info("portal.objection_recorded", objection=objection.id, reason=parsed.reason.value)
    flash(
        "Uw bezwaar is ontvangen. Een medewerker van de gemeente bekijkt het en laat u de "
        "uitkomst weten.",
        "succes",
    )
    return see_other("pages.objections")


# --- berichten ---------------------------------------------------------------------------------


@bp.get("/berichten")
@login_required
def messages() -> Page:
    people = household()
    found = deps().store.messages_for(p.pseudonym for p in people.included)
    return page("berichten.html", messages=[(people.by_pseudonym(m.subject), m) for m in found])
