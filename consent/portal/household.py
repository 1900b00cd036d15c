"""What the municipality holds about a resident's household, as the Overzicht page shows it.

The hub holds these facts; the portal asks for them through `HouseholdInfoSource`:
consent.portal.hub_client asks the hub's ResidentService (`[consent.portal.hub]`), and without
a hub `NoHouseholdSource` answers "nog geen gegevens"; the tests also use an in-memory source.
A source answers only about the people it is asked about (the resident and the children they
represent), and the portal filters once more. What the resident records that the hub must know
(objections, a preferred regiehouder) goes there through `HubRecords`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from consent.model import Pseudonym
from consent.portal.records import Objection, RegiehouderPreference, check_reference
from seinhuis.vocabulary import LegalBasis, PartnerType, SignalType


class SignalState(StrEnum):
    """Whether a held signal counts in what the municipality looks at."""

    COUNTS = "COUNTS"
    #: Given with consent that was withdrawn since: kept until its date, no longer counting.
    CONSENT_WITHDRAWN = "CONSENT_WITHDRAWN"
    #: Withdrawn by the sender as resolved.
    RESOLVED = "RESOLVED"


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
    state: SignalState = SignalState.COUNTS

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


class CaseState(StrEnum):
    """Where the household's case stands (the hub's case status)."""

    OPEN = "OPEN"
    ASSIGNED = "ASSIGNED"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    IN_PROGRESS = "IN_PROGRESS"
    ESCALATED = "ESCALATED"
    CLOSED = "CLOSED"


@dataclass(frozen=True)
class CaseInfo:
    """The household's case: since when, and who coordinates it (None: not assigned yet)."""

    opened_on: dt.date
    regiehouder: Regiehouder | None
    status: CaseState = CaseState.OPEN


class AccessKind(StrEnum):
    """What someone did with the household's data."""

    VIEWED_HOUSEHOLD = "VIEWED_HOUSEHOLD"
    TOLD_OF_MATCH = "TOLD_OF_MATCH"
    ASSIGNED_REGIEHOUDER = "ASSIGNED_REGIEHOUDER"
    ESCALATED = "ESCALATED"
    HANDLED_CASE = "HANDLED_CASE"


@dataclass(frozen=True)
class AccessRecord:
    """Who looked at (or acted on) the household's data, and when."""

    at: dt.datetime
    #: The organisation as residents know it ("Sociaal wijkteam Noord").
    who: str
    #: None for the municipality's own staff (operator, procesregisseur, bestuurder).
    partner_type: PartnerType | None
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


class HubRecords(Protocol):
    """What the portal records at the hub for a resident (consent.portal.hub_client)."""

    def record_objection(self, objection: Objection) -> None: ...

    def state_preference(self, preference: RegiehouderPreference) -> None: ...

    def clear_preference(self, person: Pseudonym) -> None: ...


class NoHouseholdSource:
    """The source until the hub offers one: no data, and says so."""

    def household_info(self, people: Sequence[Pseudonym]) -> HouseholdInfo:
        return HouseholdInfo(connected=False)
