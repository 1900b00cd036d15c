"""Every Dutch label the dashboard shows, and how its numbers are written."""

from __future__ import annotations

import datetime as dt
from typing import Final

from hub.figures import Dimension, Figure, Mark, Period, Unit
from hub.operator import texts as operator_texts

SITE_NAME: Final = "Seinhuis dashboard"
#: What a hidden number reads as, by why it is hidden.
MARKS: Final = {
    Mark.SMALL: "<5",
    Mark.PROTECTED: "×",
    Mark.WITHHELD: "·",
    Mark.TOO_FEW: "–",
}
MARK_MEANING: Final = {
    Mark.SMALL: "minder dan 5",
    Mark.PROTECTED: "5 of meer, verborgen zodat een klein aantal niet uit te rekenen is",
    Mark.WITHHELD: "niet gegeven: hier kan alleen het totaal getoond worden",
    Mark.TOO_FEW: "te weinig zaken om iets over te zeggen",
}
UNITS: Final = {Unit.WEEK: "Per week", Unit.MONTH: "Per maand"}
UNIT_NOUN: Final = {Unit.WEEK: "week", Unit.MONTH: "maand"}
DIMENSIONS: Final = {
    Dimension.LIFE_DOMAIN: "Levensdomein",
    Dimension.PARTNER_TYPE: "Soort partner",
}
DIMENSION_NOUN: Final = {
    Dimension.LIFE_DOMAIN: "levensdomein",
    Dimension.PARTNER_TYPE: "soort partner",
}
PARTNER_TYPES: Final = {
    "GGD": "GGD",
    "WONINGCORPORATIE": "Woningcorporatie",
    "SCHOOL": "School",
    "HUISARTS": "Huisarts",
    "JEUGDGEZONDHEIDSZORG": "Jeugdgezondheidszorg",
    "POLITIE": "Politie",
    "WELZIJN": "Welzijn",
    "ENERGIELEVERANCIER": "Energieleverancier",
    "DRINKWATERBEDRIJF": "Drinkwaterbedrijf",
    "ZORGVERZEKERAAR": "Zorgverzekeraar",
    "SOCIAAL_TEAM": "Sociaal team",
    "BRP": "BRP",
}
ROLES: Final = {
    "OPERATOR": "operator",
    "PROCESREGISSEUR": "procesregisseur",
    "BESTUURDER": "bestuurder",
}
_MONTHS: Final = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def category(code: str) -> str:
    """A life domain, kind of partner or outcome code in Dutch."""
    for table in (operator_texts.DOMAIN, PARTNER_TYPES, operator_texts.OUTCOME):
        if code in table:
            return _capital(table[code])
    return code


def status(code: str) -> str:
    return _capital(operator_texts.word(operator_texts.STATUS, code))


def level(code: str) -> str:
    return _capital(operator_texts.word(operator_texts.ESCALATION, code))


def date(day: dt.date | None) -> str:
    """3 maart 2027; '-' for none."""
    if day is None:
        return "-"
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def period_short(p: Period) -> str:
    """An axis label: wk 9, or mrt."""
    if p.unit is Unit.WEEK:
        return f"wk {p.start.isocalendar().week}"
    return _MONTHS[p.start.month - 1][:3]


def period_long(p: Period) -> str:
    """week 9 (1 t/m 7 maart 2027), or maart 2027."""
    if p.unit is Unit.WEEK:
        year, week, _ = p.start.isocalendar()
        return f"week {week} van {year} ({date(p.start)} t/m {date(p.end)})"
    return f"{_MONTHS[p.start.month - 1]} {p.start.year}"


def number(value: float) -> str:
    """A count with a dot between thousands, as Dutch writes it."""
    return f"{round(value):,}".replace(",", ".")


def count(f: Figure) -> str:
    return number(f.value) if f.shown and f.value is not None else MARKS[f.mark]


def percent(f: Figure) -> str:
    return f"{round(f.value)}%" if f.shown and f.value is not None else MARKS[f.mark]


def hours(f: Figure) -> str:
    """A median duration: in hours up to two days, then in days."""
    if not f.shown or f.value is None:
        return MARKS[f.mark]
    if f.value < 48:
        return f"{round(f.value)} uur"
    return f"{f.value / 24:.1f} dagen".replace(".", ",")
