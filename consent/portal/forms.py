"""Reading the portal's forms: each field checked, each problem a Dutch message for that field.

A form either yields a complete request or a dict of field -> message, and then nothing is done.
Dates are whole days in Dutch time: "vanaf" starts at the beginning of that day (today: now),
"tot en met" ends at the end of that day.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from consent.model import Cell, Decision, GrantRequest, Purpose, Source
from consent.portal import texts
from consent.portal.people import Household, Person
from consent.portal.records import ObjectionReason, RegiehouderChoice
from seinhuis.vocabulary import LifeDomain, PartnerType

ALL_DOMAINS = "ALLE"
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DUTCH_DATE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")

NOT_REPRESENTED = texts.RULE_MESSAGES["representation.not-represented"]

_E = TypeVar("_E", bound=StrEnum)

Errors = dict[str, str]


def _choice(
    form: Mapping[str, str], name: str, enum: type[_E], allowed: object = None
) -> _E | None:
    value = form.get(name, "")
    try:
        member = enum(value)
    except ValueError:
        return None
    if allowed is not None and member not in allowed:  # type: ignore[operator]
        return None
    return member


def parse_date(value: str) -> dt.date | None:
    """2027-03-01 (what a date field sends) or 1-3-2027 (what people type); None if neither."""
    value = value.strip()
    found = _ISO_DATE.match(value)
    parts = (found.group(1), found.group(2), found.group(3)) if found else None
    if parts is None and (found := _DUTCH_DATE.match(value)):
        parts = (found.group(3), found.group(2), found.group(1))
    if parts is None:
        return None
    try:
        return dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        return None


def start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=texts.TIME_ZONE).astimezone(dt.UTC)


def person_field(form: Mapping[str, str], household: Household, errors: Errors) -> Person | None:
    key = form.get("persoon", "")
    person = household.by_key(key)
    if person is None:
        errors["persoon"] = NOT_REPRESENTED if key else "Kies voor wie u dit doet."
    return person


@dataclass(frozen=True)
class GrantForm:
    person: Person
    request: GrantRequest


def parse_grant(
    form: Mapping[str, str], household: Household, now: dt.datetime
) -> GrantForm | Errors:
    errors: Errors = {}
    person = person_field(form, household, errors)
    partner = _choice(form, "organisatie", PartnerType, texts.CONSENT_PARTNER_TYPES)
    if partner is None:
        errors["organisatie"] = "Kies een soort organisatie uit de lijst."
    domain: LifeDomain | None = None
    if form.get("levensdomein") != ALL_DOMAINS:
        domain = _choice(form, "levensdomein", LifeDomain)
        if domain is None:
            errors["levensdomein"] = "Kies een levensdomein uit de lijst."
    purpose = _choice(form, "doel", Purpose)
    if purpose is None:
        errors["doel"] = "Kies waarvoor de gegevens gebruikt mogen worden."
    decision = _choice(form, "keuze", Decision)
    if decision is None:
        errors["keuze"] = "Kies of u toestemming geeft of niet."
    valid_from, valid_until = _period(form, now, errors)
    if errors:
        return errors
    assert person and partner and purpose and decision  # every None was an error
    cell = Cell(person.pseudonym, Source.category(partner), domain, purpose)
    return GrantForm(person, GrantRequest(cell, decision, valid_from, valid_until))


def _period(
    form: Mapping[str, str], now: dt.datetime, errors: Errors
) -> tuple[dt.datetime | None, dt.datetime | None]:
    today = now.astimezone(texts.TIME_ZONE).date()
    first = last = None
    if raw := form.get("vanaf", "").strip():
        first = parse_date(raw)
        if first is None:
            errors["vanaf"] = "Vul een datum in zoals 1-3-2027."
        elif first < today:
            errors["vanaf"] = texts.RULE_MESSAGES["validity.backdated"]
    if raw := form.get("tot", "").strip():
        last = parse_date(raw)
        if last is None:
            errors["tot"] = "Vul een datum in zoals 1-3-2027."
        elif last < today:
            errors["tot"] = texts.RULE_MESSAGES["validity.ended"]
        elif first is not None and last < first:
            errors["tot"] = texts.RULE_MESSAGES["validity.inverted"]
    valid_from = start_of(first) if first is not None and first > today else None
    valid_until = start_of(last + dt.timedelta(days=1)) if last is not None else None
    return valid_from, valid_until


def parse_entry_id(form: Mapping[str, str]) -> bytes | None:
    try:
        entry_id = bytes.fromhex(form.get("keuze_id", ""))
    except ValueError:
        return None
    return entry_id if len(entry_id) == 16 else None


@dataclass(frozen=True)
class PreferenceForm:
    choice: RegiehouderChoice
    partner_type: PartnerType | None


def parse_preference(form: Mapping[str, str]) -> PreferenceForm | Errors:
    choice = _choice(form, "voorkeur", RegiehouderChoice)
    if choice is None:
        return {"voorkeur": "Kies wie u het liefst als regiehouder heeft."}
    if choice is not RegiehouderChoice.KNOWN_ORGANISATION:
        return PreferenceForm(choice, None)
    partner = _choice(form, "organisatie", PartnerType, texts.CONSENT_PARTNER_TYPES)
    if partner is None:
        return {"organisatie": "Kies bij welke soort organisatie deze medewerker werkt."}
    return PreferenceForm(choice, partner)


@dataclass(frozen=True)
class ObjectionForm:
    reference: str
    reason: ObjectionReason


def parse_objection(form: Mapping[str, str], references: set[str]) -> ObjectionForm | Errors:
    errors: Errors = {}
    reference = form.get("signaal", "")
    if reference not in references:
        errors["signaal"] = (
            "Kies een signaal uit de lijst." if not reference else "Dit signaal is niet bekend."
        )
    reason = _choice(form, "reden", ObjectionReason)
    if reason is None:
        errors["reden"] = "Kies de reden van uw bezwaar."
    if errors:
        return errors
    assert reason is not None
    return ObjectionForm(reference, reason)
