"""What the portal itself records: regiehouder preferences, objections, inbox messages, mail.

Plain frozen dataclasses; consent.portal.store keeps them in the consent service's database,
each in its own table. People are named by pseudonym only, never by citizen number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from consent.model import Party, Pseudonym, require_aware, require_id
from seinhuis.errors import InvalidArgument
from seinhuis.vocabulary import LegalBasis, PartnerType, SignalType

#: Signal references come from the hub; the portal only passes them back.
MAX_REFERENCE = 64


class RegiehouderChoice(StrEnum):
    """Whom the resident would like as their regiehouder."""

    SELF = "SELF"
    OWN_NETWORK = "OWN_NETWORK"
    SOCIAAL_TEAM = "SOCIAAL_TEAM"
    #: A professional from an organisation of the stated partner category.
    KNOWN_ORGANISATION = "KNOWN_ORGANISATION"


@dataclass(frozen=True)
class RegiehouderPreference:
    """A household's stated preference, recorded by the person who stated it."""

    person: Pseudonym
    choice: RegiehouderChoice
    stated_at: dt.datetime
    #: Only with KNOWN_ORGANISATION: which kind of organisation.
    partner_type: PartnerType | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "stated_at", require_aware(self.stated_at, "stated_at"))
        needs_type = self.choice is RegiehouderChoice.KNOWN_ORGANISATION
        if needs_type != (self.partner_type is not None):
            raise InvalidArgument(
                "a partner category goes with, and only with, KNOWN_ORGANISATION",
                field="partner_type",
            )


class ObjectionReason(StrEnum):
    INCORRECT = "INCORRECT"
    RESOLVED = "RESOLVED"
    ALREADY_HELPED = "ALREADY_HELPED"
    NO_SHARING = "NO_SHARING"
    OTHER = "OTHER"


class ObjectionState(StrEnum):
    """Where an objection stands on the operators' review list."""

    OPEN = "OPEN"
    UPHELD = "UPHELD"
    REJECTED = "REJECTED"


@dataclass(frozen=True)
class Objection:
    """An objection to a statute-based signal, for an operator to review."""

    id: bytes
    #: The hub's reference of the signal objected to.
    signal_reference: str
    #: Whom the signal concerns.
    subject: Pseudonym
    #: In which capacity the objection was made (the person, or a parent).
    made_by: Party
    reason: ObjectionReason
    signal_type: SignalType
    partner_type: PartnerType
    legal_basis: LegalBasis
    created_at: dt.datetime
    state: ObjectionState = ObjectionState.OPEN

    def __post_init__(self) -> None:
        require_id(self.id, "objection_id")
        check_reference(self.signal_reference)
        object.__setattr__(self, "created_at", require_aware(self.created_at, "created_at"))
        if self.legal_basis is LegalBasis.TOESTEMMING:
            raise InvalidArgument(
                "an objection is to a statute-based signal; consent is revoked instead",
                field="legal_basis",
            )


@dataclass(frozen=True)
class InboxMessage:
    """A portal message: a statute-based signal about this person was registered."""

    id: bytes
    subject: Pseudonym
    signal_type: SignalType
    partner_type: PartnerType
    legal_basis: LegalBasis
    registered_on: dt.date
    created_at: dt.datetime

    def __post_init__(self) -> None:
        require_id(self.id, "message_id")
        object.__setattr__(self, "created_at", require_aware(self.created_at, "created_at"))
        if self.legal_basis is LegalBasis.TOESTEMMING:
            raise InvalidArgument(
                "residents are notified of statute-based signals; consent-based ones they gave",
                field="legal_basis",
            )


@dataclass(frozen=True)
class MailRecord:
    """A letter the municipality's mail channel still has to send about a message.

    The mail channel looks up whom to write to (the person; under 16 the parents too; under
    12 only the parents) and their address in the population register itself.
    """

    message_id: bytes
    subject: Pseudonym
    created_at: dt.datetime
    sent_at: dt.datetime | None = None


def check_reference(reference: str) -> str:
    if not reference or len(reference) > MAX_REFERENCE or not reference.isprintable():
        raise InvalidArgument("not a signal reference", field="signal_reference")
    return reference
