"""The hub's domain objects: what a partner sent, as plain frozen dataclasses.

Pseudonyms are raw 32-byte values; they are left out of every repr so that a stray log or
traceback never carries one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from seinhuis.vocabulary import (
    LegalBasis,
    LifeDomain,
    PartnerType,
    SignalType,
    Urgency,
    WithdrawReason,
)

#: Length of a statement id (random, chosen by the node).
ID_BYTES = 16
#: Length of a pseudonym (a ristretto255 element).
PSEUDONYM_BYTES = 32


class MessageKind(StrEnum):
    """What a statement carries."""

    SIGNAL = "SIGNAL"
    POPULATION_EVENT = "POPULATION_EVENT"


class NotificationKind(StrEnum):
    """What the partner feed tells a partner."""

    SIGNAL_WITHDRAWN = "SIGNAL_WITHDRAWN"
    SIGNAL_EXPIRED = "SIGNAL_EXPIRED"
    CASE_NOTICE = "CASE_NOTICE"
    REGIEHOUDER_BRIEFING = "REGIEHOUDER_BRIEFING"


@dataclass(frozen=True)
class StatementHeader:
    """The authenticated envelope fields: who sent it, with which key, to whom, when."""

    id: bytes
    sender: str
    sender_key_id: bytes
    recipient: str
    signed_at: dt.datetime | None


@dataclass(frozen=True)
class Arrears:
    """The extra facts of an early debt signal (Wgs)."""

    amount_cents: int
    months_in_arrears: int
    contact_attempted: bool
    written_reminder_sent: bool


@dataclass(frozen=True)
class Signal:
    """The minimal signal: who (pseudonymously), what, how urgent, when, why, until when."""

    signal_type: SignalType
    life_domain: LifeDomain
    urgency: Urgency
    legal_basis: LegalBasis
    observed_on: dt.date
    keep_until: dt.date
    person_pseudonym: bytes | None = field(repr=False)
    address_pseudonym: bytes = field(repr=False)
    key_version: int
    arrears: Arrears | None


@dataclass(frozen=True)
class Residence:
    """A person lives at an address from a date on; None: from birth (date withheld)."""

    person_pseudonym: bytes = field(repr=False)
    address_pseudonym: bytes = field(repr=False)
    since: dt.date | None


@dataclass(frozen=True)
class Parenthood:
    """A parent-child relation."""

    parent_pseudonym: bytes = field(repr=False)
    child_pseudonym: bytes = field(repr=False)


@dataclass(frozen=True)
class Relocation:
    """A person moved to a new address."""

    person_pseudonym: bytes = field(repr=False)
    to_address_pseudonym: bytes = field(repr=False)
    on: dt.date


@dataclass(frozen=True)
class Death:
    """A person died."""

    person_pseudonym: bytes = field(repr=False)
    on: dt.date


PopulationEvent = Residence | Parenthood | Relocation | Death


@dataclass(frozen=True)
class PopulationFact:
    """A fact from the population register, under one OPRF key version."""

    key_version: int
    event: PopulationEvent


@dataclass(frozen=True)
class ReceivedSignal:
    """A signal that passed every intake check, ready to store."""

    id: bytes
    partner_id: str
    partner_type: PartnerType
    received_at: dt.datetime
    signal: Signal
    #: A consent-based signal's verified consent receipt (hub.consent_check): its id, and until
    #: when it vouches (None: until the registry changes). None for statute-based signals.
    consent_receipt_id: bytes | None = None
    consent_until: dt.datetime | None = None


@dataclass(frozen=True)
class ReceivedPopulationFact:
    """A population fact that passed every intake check, ready to store."""

    id: bytes
    partner_id: str
    received_at: dt.datetime
    fact: PopulationFact


Received = ReceivedSignal | ReceivedPopulationFact


@dataclass(frozen=True)
class Touched:
    """Where a new or withdrawn signal or a register fact sits: the household to judge again."""

    address: bytes
    person: bytes | None


def touched_by(items: Iterable[Received]) -> list[Touched]:
    """The places stored items touch: each signal's, and each residence or move's."""
    out = []
    for item in items:
        if isinstance(item, ReceivedSignal):
            out.append(Touched(item.signal.address_pseudonym, item.signal.person_pseudonym))
            continue
        event = item.fact.event
        if isinstance(event, Residence):
            out.append(Touched(event.address_pseudonym, event.person_pseudonym))
        elif isinstance(event, Relocation):
            out.append(Touched(event.to_address_pseudonym, event.person_pseudonym))
    return out


@dataclass(frozen=True)
class StoredSignal:
    """A stored signal and, once its sender withdrew it as resolved, when and why."""

    received: ReceivedSignal
    withdrawn_at: dt.datetime | None = None
    withdraw_reason: WithdrawReason | None = None
    #: When the consent it was sent under ended (revoked, objected to, expired): it stays
    #: stored until its retention ends, but no longer counts (hub.consent_follower).
    consent_lost_at: dt.datetime | None = None


@dataclass(frozen=True)
class InvolvedContact:
    """Another partner in a case as the regiehouder sees it: contact point and life domains."""

    partner_type: PartnerType
    contact_point: str
    life_domains: tuple[LifeDomain, ...]


@dataclass(frozen=True)
class CaseNotice:
    """What a partner learns about a case (rule 10): never another partner's reasons.

    `kind`, `status` and `outcome` are the judgement's codes (hub.judgement); `involved` is set
    only in a regiehouder's briefing and never lists a partner whose involvement is hidden.
    """

    kind: str
    case_id: bytes | None
    status: str | None
    signal_ids: tuple[bytes, ...]
    regiehouder_contact: str | None
    deadline: dt.date | None
    outcome: str | None = None
    involved: tuple[InvolvedContact, ...] = ()


@dataclass(frozen=True)
class Notification:
    """One entry of a partner's feed; cursors increase strictly per partner.

    `ref_id` is the withdrawn or expired signal's id, or a case notice's case id (empty for an
    outreach notice without a case); `case` carries a case notice or briefing.
    """

    partner_id: str
    cursor: int
    created_at: dt.datetime
    kind: NotificationKind
    ref_id: bytes
    reason: WithdrawReason | None = None
    case: CaseNotice | None = None


@dataclass(frozen=True)
class SignalCount:
    """How many signals of one type one partner has at the hub."""

    partner_id: str
    signal_type: SignalType
    active: int
    withdrawn: int


def kind_of(item: Received) -> MessageKind:
    """Whether a received item is a signal or a population fact."""
    return MessageKind.SIGNAL if isinstance(item, ReceivedSignal) else MessageKind.POPULATION_EVENT
