"""The closed vocabularies as plain Python enums, for domain code that must not import protobuf.

Member names equal the proto enum value names without their prefix (SIGNAL_TYPE_, ...); a test
keeps the two in step, and seinhuis.serde converts between them.
"""

from __future__ import annotations

from enum import StrEnum


class PartnerType(StrEnum):
    GGD = "GGD"
    WONINGCORPORATIE = "WONINGCORPORATIE"
    SCHOOL = "SCHOOL"
    HUISARTS = "HUISARTS"
    JEUGDGEZONDHEIDSZORG = "JEUGDGEZONDHEIDSZORG"
    POLITIE = "POLITIE"
    WELZIJN = "WELZIJN"
    ENERGIELEVERANCIER = "ENERGIELEVERANCIER"
    DRINKWATERBEDRIJF = "DRINKWATERBEDRIJF"
    ZORGVERZEKERAAR = "ZORGVERZEKERAAR"
    SOCIAAL_TEAM = "SOCIAAL_TEAM"
    BRP = "BRP"


class SignalType(StrEnum):
    HUURACHTERSTAND = "HUURACHTERSTAND"
    ENERGIEACHTERSTAND = "ENERGIEACHTERSTAND"
    WATERACHTERSTAND = "WATERACHTERSTAND"
    ZORGPREMIEACHTERSTAND = "ZORGPREMIEACHTERSTAND"
    WOONOVERLAST = "WOONOVERLAST"
    VERVUILDE_WONING = "VERVUILDE_WONING"
    SCHOOLVERZUIM = "SCHOOLVERZUIM"
    ZORG_OVER_LEERLING = "ZORG_OVER_LEERLING"
    JGZ_ZORG = "JGZ_ZORG"
    ZORGWEKKEND_GEDRAG = "ZORGWEKKEND_GEDRAG"
    ZORGSIGNAAL_HUISARTS = "ZORGSIGNAAL_HUISARTS"
    ZORG_SOCIAAL_TEAM = "ZORG_SOCIAAL_TEAM"


class LifeDomain(StrEnum):
    WONEN = "WONEN"
    HUISHOUDEN_VOEREN = "HUISHOUDEN_VOEREN"
    ONTMOETEN = "ONTMOETEN"
    MEEDOEN = "MEEDOEN"
    WERKEN = "WERKEN"
    OPGROEIEN = "OPGROEIEN"
    RONDKOMEN = "RONDKOMEN"
    LEREN = "LEREN"
    ZORGEN = "ZORGEN"


class Urgency(StrEnum):
    NORMAAL = "NORMAAL"
    HOOG = "HOOG"
    CRISIS = "CRISIS"


class LegalBasis(StrEnum):
    TOESTEMMING = "TOESTEMMING"
    WGS_VROEGSIGNALERING = "WGS_VROEGSIGNALERING"
    JEUGDWET_VERWIJSINDEX = "JEUGDWET_VERWIJSINDEX"
    WMO_MELDPUNT = "WMO_MELDPUNT"


class IdentifierKind(StrEnum):
    PERSON = "PERSON"
    ADDRESS = "ADDRESS"


class WithdrawReason(StrEnum):
    UNJUSTIFIED = "UNJUSTIFIED"
    RESOLVED = "RESOLVED"


ARREARS_TYPES = frozenset(
    {
        SignalType.HUURACHTERSTAND,
        SignalType.ENERGIEACHTERSTAND,
        SignalType.WATERACHTERSTAND,
        SignalType.ZORGPREMIEACHTERSTAND,
    }
)

CRISIS_REFUSAL = (
    "a crisis is not a signal: call 112, or Veilig Thuis on 0800-2000; "
    "the sociaal team is informed afterwards"
)
