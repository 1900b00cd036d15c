"""The judgement's domain types: active signals, the registry's view, facts and cases."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

from seinhuis.errors import InvalidArgument
from seinhuis.vocabulary import (
    CRISIS_REFUSAL,
    LegalBasis,
    LifeDomain,
    PartnerType,
    SignalType,
    Urgency,
)

#: Order of urgencies; a crisis is never a signal, so it has no rank.
URGENCY_RANK: dict[Urgency, int] = {Urgency.NORMAAL: 0, Urgency.HOOG: 1}


class CaseStatus(StrEnum):
    """Where a case stands; ESCALATED means it lies with the procesregisseur (or higher)."""

    OPEN = "OPEN"
    ASSIGNED = "ASSIGNED"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    IN_PROGRESS = "IN_PROGRESS"
    ESCALATED = "ESCALATED"
    CLOSED = "CLOSED"


class Outcome(StrEnum):
    """How a case ended; the only thing senders learn at closure."""

    HELPED = "HELPED"
    DECLINED = "DECLINED"
    MOVED = "MOVED"
    UNJUSTIFIED = "UNJUSTIFIED"
    ALREADY_IN_CARE = "ALREADY_IN_CARE"
    NO_CONTACT = "NO_CONTACT"


class EscalationLevel(IntEnum):
    """Who oversees a case beyond its regiehouder."""

    NONE = 0
    PROCESREGISSEUR = 1
    BESTUURDER = 2


@dataclass(frozen=True)
class ActiveSignal:
    """A stored, not withdrawn, not expired signal of one household, as the judgement sees it.

    `household` is the household key the grouping gave it (hub.households), `person` the person
    pseudonym if any. `consent_ok` is false once consent is revoked or the resident objected;
    `disclosure_ok` says the resident's consent lets other partners learn this signal's sender.
    """

    id: bytes
    partner_id: str
    partner_type: PartnerType
    signal_type: SignalType
    life_domain: LifeDomain
    urgency: Urgency
    legal_basis: LegalBasis
    observed_on: dt.date
    household: bytes = field(repr=False)
    person: bytes | None = field(default=None, repr=False)
    consent_ok: bool = True
    disclosure_ok: bool = False

    def __post_init__(self) -> None:
        if self.urgency not in URGENCY_RANK:
            raise InvalidArgument(CRISIS_REFUSAL, field="urgency")
        if not self.id:
            raise InvalidArgument("must not be empty", field="id")
        if not self.partner_id:
            raise InvalidArgument("must not be empty", field="partner_id")
        if not self.household:
            raise InvalidArgument("must not be empty", field="household")

    @property
    def subject(self) -> bytes:
        """Whom the signal concerns: the person, or the address when no person is named."""
        return self.person if self.person is not None else self.household


@dataclass(frozen=True)
class CountedSignal:
    """One signal as it counts after duplicate suppression, with the ids merged into it."""

    signal: ActiveSignal
    merged_ids: tuple[bytes, ...]


@dataclass(frozen=True)
class Facts:
    """What a set of counted signals amounts to; the conditions in policies test these."""

    signals: int = 0
    partners: int = 0
    life_domains: int = 0
    urgent_signals: int = 0
    arrears_senders: int = 0
    members_with_signals: int = 0
    only_arrears: bool = False

    def as_mapping(self) -> dict[str, int | bool]:
        return {
            "signals": self.signals,
            "partners": self.partners,
            "life_domains": self.life_domains,
            "urgent_signals": self.urgent_signals,
            "arrears_senders": self.arrears_senders,
            "members_with_signals": self.members_with_signals,
            "only_arrears": self.only_arrears,
        }


@dataclass(frozen=True)
class ContactPoint:
    """How a partner is reached about a case: a team's functional address, never a person's."""

    partner_id: str
    partner_type: PartnerType
    contact: str | None = None


@dataclass(frozen=True)
class Coordinator:
    """A partner registered as able to act as regiehouder, and its current load."""

    partner_id: str
    capacity: int
    open_cases: int

    def __post_init__(self) -> None:
        if self.capacity < 0 or self.open_cases < 0:
            raise InvalidArgument("must not be negative", field="capacity/open_cases")

    @property
    def has_room(self) -> bool:
        return self.open_cases < self.capacity


@dataclass(frozen=True)
class RegistryView:
    """What the hub's partner registry tells the judgement: contact points and coordinators."""

    partners: tuple[ContactPoint, ...]
    coordinators: tuple[Coordinator, ...] = ()

    def __post_init__(self) -> None:
        known = {p.partner_id for p in self.partners}
        if len(known) != len(self.partners):
            raise InvalidArgument("a partner is listed twice", field="partners")
        for c in self.coordinators:
            if c.partner_id not in known:
                raise InvalidArgument(
                    f"coordinator {c.partner_id} is not a registered partner", field="coordinators"
                )

    def contact(self, partner_id: str) -> ContactPoint | None:
        for p in self.partners:
            if p.partner_id == partner_id:
                return p
        return None

    def coordinator(self, partner_id: str) -> Coordinator | None:
        for c in self.coordinators:
            if c.partner_id == partner_id:
                return c
        return None


@dataclass(frozen=True)
class Case:
    """A household's case: its signals, regiehouder, deadline, escalation and outcome."""

    id: str
    household: bytes = field(repr=False)
    status: CaseStatus
    opened_on: dt.date
    signal_ids: frozenset[bytes]
    involved: frozenset[str]
    summary: Facts
    life_domains: frozenset[LifeDomain] = frozenset()
    regiehouder: str | None = None
    regie_rule: str | None = None
    deadline: dt.date | None = None
    escalation: EscalationLevel = EscalationLevel.NONE
    escalated_on: dt.date | None = None
    escalation_deadline: dt.date | None = None
    declined_by: frozenset[str] = frozenset()
    outcome: Outcome | None = None
    closed_on: dt.date | None = None

    def __post_init__(self) -> None:
        closed = self.status is CaseStatus.CLOSED
        if closed != (self.outcome is not None) or closed != (self.closed_on is not None):
            raise InvalidArgument("a closed case, and only a closed case, has an outcome")

    @property
    def is_open(self) -> bool:
        return self.status is not CaseStatus.CLOSED
