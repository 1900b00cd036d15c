"""What residents tell the hub through the portal, and what the hub tells them (issue 5). Pure.

- Objections to statute-based signals: kept on the operators' review list (hub store
  `open_objections`), never changing the signal by themselves.
- A preferred regiehouder: the judgement's `resident_preference` regie rule takes a partner id;
  `preferred_partner` turns a household's stated preferences into one.
- Statute notices: each stored statute-based signal is told to the people it concerns, once
  (the consent service polls them: a portal message and a record for the mail channel).
People are pseudonyms only (never shown in a repr).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from hub.domain import StoredSignal
from hub.judgement.model import ActiveSignal, RegistryView
from seinhuis.errors import InvalidArgument
from seinhuis.vocabulary import LegalBasis, PartnerType, SignalType

ID_BYTES = 16
PSEUDONYM_BYTES = 32


class RegiehouderChoice(StrEnum):
    """Whom a resident would like as their regiehouder (as consent.portal.records has it)."""

    SELF = "SELF"
    OWN_NETWORK = "OWN_NETWORK"
    SOCIAAL_TEAM = "SOCIAAL_TEAM"
    KNOWN_ORGANISATION = "KNOWN_ORGANISATION"


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


class ObjectionParty(StrEnum):
    """In which capacity the objection was made: the person, or a parent for a child."""

    SUBJECT = "SUBJECT"
    PARENT = "PARENT"


def _person(value: bytes, key_version: int, name: str) -> None:
    if len(value) != PSEUDONYM_BYTES:
        raise InvalidArgument(f"must be {PSEUDONYM_BYTES} bytes", field=name)
    if key_version < 1:
        raise InvalidArgument("key_version must be at least 1", field=name)


@dataclass(frozen=True)
class RegiePreference:
    """A person's stated preference; the newest one in a household counts."""

    person: bytes = field(repr=False)
    key_version: int
    choice: RegiehouderChoice
    stated_at: dt.datetime
    #: Only with KNOWN_ORGANISATION: which kind of organisation.
    partner_type: PartnerType | None = None

    def __post_init__(self) -> None:
        _person(self.person, self.key_version, "person")
        if (self.choice is RegiehouderChoice.KNOWN_ORGANISATION) != (self.partner_type is not None):
            raise InvalidArgument(
                "a partner category goes with, and only with, KNOWN_ORGANISATION",
                field="partner_type",
            )


@dataclass(frozen=True)
class Objection:
    """A resident's objection to a statute-based signal, for an operator to review."""

    id: bytes
    signal_id: bytes
    subject: bytes = field(repr=False)
    key_version: int
    made_by: ObjectionParty
    reason: ObjectionReason
    signal_type: SignalType
    partner_type: PartnerType
    legal_basis: LegalBasis
    created_at: dt.datetime
    state: ObjectionState = ObjectionState.OPEN

    def __post_init__(self) -> None:
        if len(self.id) != ID_BYTES:
            raise InvalidArgument(f"must be {ID_BYTES} bytes", field="objection_id")
        if len(self.signal_id) != ID_BYTES:
            raise InvalidArgument(f"must be {ID_BYTES} bytes", field="signal_id")
        _person(self.subject, self.key_version, "subject")
        if self.legal_basis is LegalBasis.TOESTEMMING:
            raise InvalidArgument(
                "an objection is to a statute-based signal; consent is revoked instead",
                field="signal_id",
            )


@dataclass(frozen=True)
class StatuteNotice:
    """A statute-based signal to tell the people it concerns about, in cursor order."""

    cursor: int
    signal: StoredSignal


def preferred_partner(
    preferences: Iterable[RegiePreference],
    signals: Sequence[ActiveSignal],
    view: RegistryView,
) -> str | None:
    """The partner id the household's newest stated preference points at, if any.

    SOCIAAL_TEAM: the municipality's social team (a coordinating one first). KNOWN_ORGANISATION:
    a partner of that kind already involved with the household (whom the resident knows), else
    the first coordinator of that kind. SELF and OWN_NETWORK name no partner: the judgement has
    no resident regisseur yet, so its other rules decide. Whether the partner can take the case
    on is the regie rule's to judge (hub.judgement.assignment).
    """
    newest = max(preferences, key=lambda p: p.stated_at, default=None)
    if newest is None:
        return None
    if newest.choice is RegiehouderChoice.SOCIAAL_TEAM:
        wanted = PartnerType.SOCIAAL_TEAM
    elif newest.choice is RegiehouderChoice.KNOWN_ORGANISATION and newest.partner_type:
        wanted = newest.partner_type
        involved = sorted({s.partner_id for s in signals if s.partner_type is wanted})
        coordinating = [p for p in involved if view.coordinator(p) is not None]
        if coordinating or involved:
            return (coordinating or involved)[0]
    else:
        return None
    of_kind = sorted(c.partner_id for c in view.partners if c.partner_type is wanted)
    coordinators = [p for p in of_kind if view.coordinator(p) is not None]
    found = coordinators or of_kind
    return found[0] if found else None
