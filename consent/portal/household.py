"""What the municipality holds about a resident's household, as the Overzicht page shows it.

The hub holds these facts; the portal asks for them through `HouseholdInfoSource`. The hub-side
access does not exist yet: `NoHouseholdSource` answers "nog geen gegevens" until it does, and
the tests use an in-memory source. A source answers only about the people it is asked about
(the resident and the children they represent), and the portal filters once more.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from consent.model import Pseudonym
from consent.portal.records import check_reference
from seinhuis.vocabulary import LegalBasis, PartnerType, SignalType


@dataclass(frozen=True)
class HeldSignal:
    """One signal the hub holds about a person (never its content: there is none)."""

    #: The hub's reference, which an objection names.
    reference: str
    subject: Pseudonym
    signal_type: SignalType
    partner_type: PartnerType
    registered_on: dt.date
    legal_basis: LegalBasis
    kept_until: dt.date

    def __post_init__(self) -> None:
        check_reference(self.reference)

    @property
    def statute_based(self) -> bool:
        return self.legal_basis is not LegalBasis.TOESTEMMING


@dataclass(frozen=True)
class Regiehouder:
    """The one contact who coordinates help for the household, and how to reach them."""

    name: str
    organisation: str
    partner_type: PartnerType
    phone: str = ""
    email: str = ""
    #: When they can be reached, in the resident's words ("maandag tot en met vrijdag ...").
    reachable: str = ""


@dataclass(frozen=True)
class CaseInfo:
    """The household's case: since when, and who coordinates it (None: not assigned yet)."""

    opened_on: dt.date
    regiehouder: Regiehouder | None


class AccessKind(StrEnum):
    """What someone did with the household's data."""

    VIEWED_HOUSEHOLD = "VIEWED_HOUSEHOLD"
    TOLD_OF_MATCH = "TOLD_OF_MATCH"
    ASSIGNED_REGIEHOUDER = "ASSIGNED_REGIEHOUDER"
    ESCALATED = "ESCALATED"


@dataclass(frozen=True)
class AccessRecord:
    """Who looked at (or acted on) the household's data, and when."""

    at: dt.datetime
    #: The organisation as residents know it ("Sociaal wijkteam Noord").
    who: str
    partner_type: PartnerType
    kind: AccessKind


@dataclass(frozen=True)
class HouseholdInfo:
    signals: tuple[HeldSignal, ...] = ()
    case: CaseInfo | None = None
    access_log: tuple[AccessRecord, ...] = ()
    #: False while no hub is connected: the page then says there is nothing to show yet.
    connected: bool = True


class HouseholdInfoSource(Protocol):
    """Answers what is held about these people (the resident first, then their children)."""

    def household_info(self, people: Sequence[Pseudonym]) -> HouseholdInfo: ...


class NoHouseholdSource:
    """The source until the hub offers one: no data, and says so."""

    def household_info(self, people: Sequence[Pseudonym]) -> HouseholdInfo:
        return HouseholdInfo(connected=False)
