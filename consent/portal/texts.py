"""Every plain-Dutch label the portal shows for a code: one place, complete for every enum.

A test checks that each member of each vocabulary has a label here, so a new signal type or
partner category cannot reach a resident as a bare code.
"""

from __future__ import annotations

import datetime as dt
from typing import Final
from zoneinfo import ZoneInfo

from consent.model import Decision, EntryState, Party, Purpose
from consent.portal.household import AccessKind, CaseState, SignalState
from consent.portal.records import ObjectionReason, ObjectionState, RegiehouderChoice
from seinhuis.vocabulary import LegalBasis, LifeDomain, PartnerType, SignalType

#: Residents read dates and times in Dutch time.
TIME_ZONE: Final = ZoneInfo("Europe/Amsterdam")

SIGNAL_TYPES: Final[dict[SignalType, str]] = {
    SignalType.HUURACHTERSTAND: "Achterstand met het betalen van de huur",
    SignalType.ENERGIEACHTERSTAND: "Achterstand met het betalen van gas of stroom",
    SignalType.WATERACHTERSTAND: "Achterstand met het betalen van drinkwater",
    SignalType.ZORGPREMIEACHTERSTAND: "Achterstand met het betalen van de zorgverzekering",
    SignalType.WOONOVERLAST: "Overlast in of rond de woning",
    SignalType.VERVUILDE_WONING: "Zorgen over een vervuilde woning",
    SignalType.SCHOOLVERZUIM: "Vaak afwezig op school",
    SignalType.ZORG_OVER_LEERLING: "Zorgen van school over een leerling",
    SignalType.JGZ_ZORG: "Zorgen van de jeugdgezondheidszorg",
    SignalType.ZORGWEKKEND_GEDRAG: "Melding van zorgwekkend gedrag",
    SignalType.ZORGSIGNAAL_HUISARTS: "Zorgen van de huisarts",
    SignalType.ZORG_SOCIAAL_TEAM: "Zorgen van het sociaal team",
}

#: The kind of organisation, as a resident would name it.
PARTNER_TYPES: Final[dict[PartnerType, str]] = {
    PartnerType.GGD: "GGD (gemeentelijke gezondheidsdienst)",
    PartnerType.WONINGCORPORATIE: "Woningcorporatie",
    PartnerType.SCHOOL: "School",
    PartnerType.HUISARTS: "Huisarts",
    PartnerType.JEUGDGEZONDHEIDSZORG: "Jeugdgezondheidszorg (consultatiebureau, jeugdarts)",
    PartnerType.POLITIE: "Politie",
    PartnerType.WELZIJN: "Welzijnsorganisatie",
    PartnerType.ENERGIELEVERANCIER: "Energieleverancier",
    PartnerType.DRINKWATERBEDRIJF: "Drinkwaterbedrijf",
    PartnerType.ZORGVERZEKERAAR: "Zorgverzekeraar",
    PartnerType.SOCIAAL_TEAM: "Sociaal (wijk)team van de gemeente",
    PartnerType.BRP: "Basisregistratie Personen (BRP) van de gemeente",
}

#: Partner categories a resident can give or refuse consent to (the BRP sends no signals).
CONSENT_PARTNER_TYPES: Final = tuple(p for p in PartnerType if p is not PartnerType.BRP)

LIFE_DOMAINS: Final[dict[LifeDomain, str]] = {
    LifeDomain.WONEN: "Wonen",
    LifeDomain.HUISHOUDEN_VOEREN: "Het huishouden",
    LifeDomain.ONTMOETEN: "Contact met anderen",
    LifeDomain.MEEDOEN: "Meedoen in de buurt en de samenleving",
    LifeDomain.WERKEN: "Werk en dagbesteding",
    LifeDomain.OPGROEIEN: "Opgroeien en opvoeden",
    LifeDomain.RONDKOMEN: "Geld en rondkomen",
    LifeDomain.LEREN: "School en leren",
    LifeDomain.ZORGEN: "Gezondheid en zorg",
}
ALL_LIFE_DOMAINS: Final = "Alle levensdomeinen"

LEGAL_BASES: Final[dict[LegalBasis, str]] = {
    LegalBasis.TOESTEMMING: "Uw toestemming",
    LegalBasis.WGS_VROEGSIGNALERING: (
        "De wet voor schuldhulp (Wet gemeentelijke schuldhulpverlening): "
        "betaalachterstanden vroeg melden, zodat de gemeente hulp kan aanbieden"
    ),
    LegalBasis.JEUGDWET_VERWIJSINDEX: (
        "De Jeugdwet: de verwijsindex, waarin hulpverleners van een kind of jongere "
        "elkaar kunnen vinden"
    ),
    LegalBasis.WMO_MELDPUNT: (
        "De Wet maatschappelijke ondersteuning: het meldpunt voor zorgen over een inwoner"
    ),
}

PURPOSES: Final[dict[Purpose, str]] = {
    Purpose.SIGNALERING: "Een signaal doorgeven aan de gemeente",
    Purpose.DISCLOSURE_TO_REGIEHOUDER: "Mijn regiehouder laten weten dat zij betrokken zijn",
}

DECISIONS: Final[dict[Decision, str]] = {
    Decision.PERMIT: "Toestemming",
    Decision.DENY: "Geen toestemming (bezwaar)",
}

#: How an entry stands, seen by the person who looks at it (by their party).
ENTRY_STATES: Final[dict[EntryState, str]] = {
    EntryState.GRANT_PENDING: "Wacht op akkoord",
    EntryState.ACTIVE: "Geldt",
    EntryState.REVOCATION_PENDING: "Intrekken wacht op akkoord",
    EntryState.REVOKED: "Ingetrokken",
}

#: Whose agreement a pending change awaits, said to the other party.
AWAITING: Final[dict[Party, str]] = {
    Party.SUBJECT: "uw kind",
    Party.PARENT: "uw ouder of voogd",
}

REGIEHOUDER_CHOICES: Final[dict[RegiehouderChoice, str]] = {
    RegiehouderChoice.SELF: "Ik houd zelf de regie",
    RegiehouderChoice.OWN_NETWORK: (
        "Iemand uit mijn eigen omgeving (familie, een vriend of een buur)"
    ),
    RegiehouderChoice.SOCIAAL_TEAM: "Een medewerker van het sociaal (wijk)team",
    RegiehouderChoice.KNOWN_ORGANISATION: "Een medewerker van een organisatie die ik al ken",
}

OBJECTION_REASONS: Final[dict[ObjectionReason, str]] = {
    ObjectionReason.INCORRECT: "Het signaal klopt niet",
    ObjectionReason.RESOLVED: "Het probleem is al opgelost",
    ObjectionReason.ALREADY_HELPED: "Ik krijg hiervoor al hulp",
    ObjectionReason.NO_SHARING: "Ik wil niet dat dit signaal wordt gebruikt",
    ObjectionReason.OTHER: "Een andere reden (ik licht het toe in een gesprek)",
}

OBJECTION_STATES: Final[dict[ObjectionState, str]] = {
    ObjectionState.OPEN: "In behandeling bij de gemeente",
    ObjectionState.UPHELD: "Toegekend: het signaal is verwijderd",
    ObjectionState.REJECTED: "Afgewezen",
}

CASE_STATES: Final[dict[CaseState, str]] = {
    CaseState.OPEN: "De gemeente kijkt wie u het beste kan helpen.",
    CaseState.ASSIGNED: "Er is een regiehouder gekozen; die neemt contact met u op.",
    CaseState.ACKNOWLEDGED: "Uw regiehouder heeft de hulp op zich genomen.",
    CaseState.IN_PROGRESS: "Uw regiehouder is met u aan de slag.",
    CaseState.ESCALATED: "Een coördinator van de gemeente helpt om de hulp op gang te brengen.",
    CaseState.CLOSED: "De hulp aan uw huishouden is afgesloten.",
}

SIGNAL_STATES: Final[dict[SignalState, str]] = {
    SignalState.COUNTS: "",
    SignalState.CONSENT_WITHDRAWN: "Telt niet meer mee: u heeft uw toestemming ingetrokken.",
    SignalState.RESOLVED: "Telt niet meer mee: de organisatie heeft het signaal afgesloten.",
}

ACCESS_KINDS: Final[dict[AccessKind, str]] = {
    AccessKind.VIEWED_HOUSEHOLD: "Bekeek de signalen over uw huishouden",
    AccessKind.TOLD_OF_MATCH: "Kreeg bericht dat er meer signalen over uw huishouden zijn",
    AccessKind.ASSIGNED_REGIEHOUDER: "Werd uw regiehouder",
    AccessKind.ESCALATED: "Nam de regie over omdat de hulp vastliep (procesregisseur)",
    AccessKind.HANDLED_CASE: "Behandelde de hulpvraag van uw huishouden",
}

#: Registry refusals (by the rule their message names) in plain Dutch.
RULE_MESSAGES: Final[dict[str, str]] = {
    "validity.inverted": "De einddatum moet na de begindatum liggen.",
    "validity.ended": "De einddatum ligt in het verleden. Kies een datum vanaf vandaag.",
    "validity.backdated": "Een keuze geldt vanaf vandaag of later, niet vanaf een eerdere datum.",
    "overlap": (
        "Voor deze organisatie, dit levensdomein en dit doel is al een keuze vastgelegd in "
        "(een deel van) deze periode. Trek die eerst in."
    ),
    "representation.not-represented": (
        "U kunt alleen keuzes maken voor uzelf en voor kinderen over wie u het gezag heeft."
    ),
    "representation.under-12": "Voor kinderen onder de 12 jaar regelen de ouders dit.",
    "representation.from-16": "Vanaf 16 jaar regelt uw kind dit zelf.",
    "confirm.not-pending": "Deze keuze wacht niet (meer) op akkoord.",
}
GENERIC_REFUSAL: Final = "Dit kon niet worden vastgelegd. Er is niets veranderd."

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


def date_nl(value: dt.date | dt.datetime) -> str:
    """3 maart 2027; an instant is first put in Dutch time."""
    if isinstance(value, dt.datetime):
        value = value.astimezone(TIME_ZONE).date()
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def datetime_nl(value: dt.datetime) -> str:
    """3 maart 2027 om 09:05, in Dutch time."""
    local = value.astimezone(TIME_ZONE)
    return f"{date_nl(local.date())} om {local:%H:%M}"


def years_nl(age: int) -> str:
    return "1 jaar" if age == 1 else f"{age} jaar"
