"""The node's domain values: local requests with raw fields, and pseudonymous outgoing messages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from seinhuis.vocabulary import (
    LegalBasis,
    LifeDomain,
    SignalType,
    Urgency,
    WithdrawReason,
)

# --- What the partner's systems hand to the node (raw; validated by node.service) ----------


@dataclass(frozen=True, repr=False)
class LocalPerson:
    """A person as the partner knows them: a citizen number and, optionally, a birth date."""

    bsn: str = ""
    birth_date: dt.date | None = None

    def __repr__(self) -> str:
        return "LocalPerson(<hidden>)"


@dataclass(frozen=True, repr=False)
class LocalAddress:
    """A Dutch address as the partner knows it."""

    postcode: str = ""
    house_number: int = 0
    house_letter: str = ""
    house_number_addition: str = ""

    def __repr__(self) -> str:
        return "LocalAddress(<hidden>)"


@dataclass(frozen=True)
class LocalArrears:
    """The arrears facts of an early debt signal, as attested by the sender."""

    amount_cents: int = 0
    months_in_arrears: int = 0
    contact_attempted: bool = False
    written_reminder_sent: bool = False


@dataclass(frozen=True)
class LocalSignal:
    """A signal as submitted to the node; `None` means the field was not given."""

    signal_type: SignalType
    urgency: Urgency
    person: LocalPerson
    address: LocalAddress
    observed_on: dt.date | None = None
    arrears: LocalArrears | None = None
    partner_reference: str = ""


@dataclass(frozen=True)
class LocalResidence:
    person: LocalPerson
    address: LocalAddress
    since: dt.date | None


@dataclass(frozen=True)
class LocalParenthood:
    parent: LocalPerson
    child: LocalPerson


@dataclass(frozen=True)
class LocalRelocation:
    person: LocalPerson
    to_address: LocalAddress
    on: dt.date | None


@dataclass(frozen=True)
class LocalDeath:
    person: LocalPerson
    on: dt.date | None


LocalPopulationEvent = LocalResidence | LocalParenthood | LocalRelocation | LocalDeath

# --- What leaves the node: pseudonyms only --------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """Who a signal concerns; person_pseudonym is empty when the partner may not use BSNs."""

    person_pseudonym: bytes
    address_pseudonym: bytes
    key_version: int


@dataclass(frozen=True)
class Arrears:
    amount_cents: int
    months_in_arrears: int
    contact_attempted: bool
    written_reminder_sent: bool


@dataclass(frozen=True)
class ConsentReceipt:
    """The consent registry's signed receipt a consent-based signal carries (node.consent)."""

    receipt: bytes = field(repr=False)
    signature: bytes = field(repr=False)


@dataclass(frozen=True)
class Signal:
    """The minimal signal the hub receives."""

    signal_type: SignalType
    life_domain: LifeDomain
    urgency: Urgency
    legal_basis: LegalBasis
    observed_on: dt.date
    keep_until: dt.date
    subject: Subject
    arrears: Arrears | None = None
    #: Only for consent-based signals, once the registry permitted them.
    consent_receipt: ConsentReceipt | None = None


@dataclass(frozen=True)
class Residence:
    person_pseudonym: bytes
    address_pseudonym: bytes
    #: None: from birth (a date that would reveal a date of birth is never sent).
    since: dt.date | None


@dataclass(frozen=True)
class Parenthood:
    parent_pseudonym: bytes
    child_pseudonym: bytes


@dataclass(frozen=True)
class Relocation:
    person_pseudonym: bytes
    to_address_pseudonym: bytes
    on: dt.date


@dataclass(frozen=True)
class Death:
    person_pseudonym: bytes
    on: dt.date


@dataclass(frozen=True)
class PopulationEvent:
    """A population-register fact as pseudonyms, all made under one key version."""

    key_version: int
    event: Residence | Parenthood | Relocation | Death


Payload = Signal | PopulationEvent

# --- The outbox's view ----------------------------------------------------------------------


class DeliveryState(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    REFUSED = "REFUSED"
    WITHDRAWN = "WITHDRAWN"


@dataclass(frozen=True)
class SignalStatus:
    """Where one message stands in the outbox."""

    id: bytes
    state: DeliveryState
    attempts: int
    accepted_at: dt.datetime
    delivered_at: dt.datetime | None
    refusal_code: int
    refusal_message: str
    partner_reference: str
    withdraw_reason: WithdrawReason | None = None


@dataclass(frozen=True)
class Notification:
    """One feed notification from the hub, stored in the node's inbox."""

    cursor: int
    created_at: dt.datetime
    kind: str
    id: bytes
    reason: WithdrawReason | None
    partner_reference: str
