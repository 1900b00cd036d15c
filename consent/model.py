"""The consent registry's domain values: plain frozen dataclasses, validated on construction."""

from __future__ import annotations

import datetime as dt
import hmac
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from seinhuis.errors import InvalidArgument
from seinhuis.vocabulary import LifeDomain, PartnerType

PSEUDONYM_BYTES = 32
ID_BYTES = 16
MAX_KEY_VERSION = 2**32 - 1
#: The partner id pattern of the hub's registry (docs/architecture.md).
PARTNER_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")


class Purpose(StrEnum):
    """What a partner would use the data for."""

    #: Sending a signal about the person to the hub.
    SIGNALERING = "SIGNALERING"
    #: Letting the regiehouder learn that this partner is involved.
    DISCLOSURE_TO_REGIEHOUDER = "DISCLOSURE_TO_REGIEHOUDER"


class Decision(StrEnum):
    """Consent or objection; DENY is also what no entry at all means."""

    PERMIT = "PERMIT"
    DENY = "DENY"


class EntryState(StrEnum):
    GRANT_PENDING = "GRANT_PENDING"
    ACTIVE = "ACTIVE"
    REVOCATION_PENDING = "REVOCATION_PENDING"
    REVOKED = "REVOKED"


#: States in which an entry takes part in a decision.
COUNTING_STATES = frozenset({EntryState.ACTIVE, EntryState.REVOCATION_PENDING})


class Party(StrEnum):
    """In which capacity an actor decides about a person."""

    SUBJECT = "SUBJECT"
    PARENT = "PARENT"

    @property
    def other(self) -> Party:
        return Party.PARENT if self is Party.SUBJECT else Party.SUBJECT


class ChangeKind(StrEnum):
    GRANT_REQUESTED = "GRANT_REQUESTED"
    GRANTED = "GRANTED"
    REVOCATION_REQUESTED = "REVOCATION_REQUESTED"
    REVOKED = "REVOKED"


def require_aware(value: dt.datetime, field_name: str) -> dt.datetime:
    """The instant in UTC; a naive datetime is a programming error at the edge, refused here."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidArgument("must carry a time zone", field=field_name)
    return value.astimezone(dt.UTC)


def require_id(value: bytes, field_name: str) -> bytes:
    if len(value) != ID_BYTES:
        raise InvalidArgument(f"must be {ID_BYTES} bytes, is {len(value)}", field=field_name)
    return bytes(value)


class Pseudonym:
    """A person pseudonym and its OPRF key version; equal in constant time, never shown."""

    __slots__ = ("_key_version", "_value")
    _value: bytes
    _key_version: int

    def __init__(self, value: bytes, key_version: int, *, field_name: str = "subject") -> None:
        if len(value) != PSEUDONYM_BYTES:
            raise InvalidArgument(
                f"pseudonym must be {PSEUDONYM_BYTES} bytes, is {len(value)}", field=field_name
            )
        if not 1 <= key_version <= MAX_KEY_VERSION:
            raise InvalidArgument("key_version must be at least 1", field=field_name)
        object.__setattr__(self, "_value", bytes(value))
        object.__setattr__(self, "_key_version", key_version)

    @property
    def value(self) -> bytes:
        return self._value

    @property
    def key_version(self) -> int:
        return self._key_version

    def __repr__(self) -> str:
        return f"Pseudonym(<hidden>, v{self._key_version})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pseudonym):
            return NotImplemented
        same_value = hmac.compare_digest(self._value, other._value)
        return same_value and self._key_version == other._key_version

    def __hash__(self) -> int:
        return hash((self._value, self._key_version))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Pseudonym is immutable")

    def __reduce__(self) -> str | tuple[object, ...]:
        # Pickling would be one more way for the value to end up somewhere it should not.
        raise TypeError("Pseudonym cannot be pickled")


@dataclass(frozen=True)
class Source:
    """A whole partner category, or one organisation (exactly one of the two)."""

    partner_type: PartnerType | None = None
    partner_id: str | None = None

    def __post_init__(self) -> None:
        if (self.partner_type is None) == (self.partner_id is None):
            raise InvalidArgument("give a partner category or a partner id", field="source")
        if self.partner_type is not None and not isinstance(self.partner_type, PartnerType):
            raise InvalidArgument("unknown partner category", field="source.partner_type")
        if self.partner_id is not None and not PARTNER_ID.fullmatch(self.partner_id):
            raise InvalidArgument("must match [a-z0-9][a-z0-9-]{1,62}", field="source.partner_id")

    @classmethod
    def category(cls, partner_type: PartnerType) -> Source:
        return cls(partner_type=partner_type)

    @classmethod
    def organisation(cls, partner_id: str) -> Source:
        return cls(partner_id=partner_id)

    @property
    def is_organisation(self) -> bool:
        return self.partner_id is not None

    def covers(self, partner_id: str, partner_type: PartnerType) -> bool:
        """Whether this source names that partner, by id or by category."""
        if self.partner_id is not None:
            return self.partner_id == partner_id
        return self.partner_type is partner_type


@dataclass(frozen=True)
class Cell:
    """One cell of a person's consent matrix."""

    subject: Pseudonym
    source: Source
    #: None: every life domain.
    life_domain: LifeDomain | None
    purpose: Purpose

    def __post_init__(self) -> None:
        if self.life_domain is not None and not isinstance(self.life_domain, LifeDomain):
            raise InvalidArgument("unknown life domain", field="life_domain")
        if not isinstance(self.purpose, Purpose):
            raise InvalidArgument("unknown purpose", field="purpose")


@dataclass(frozen=True)
class Validity:
    """A half-open period [valid_from, valid_until); valid_until None: until revoked."""

    valid_from: dt.datetime
    valid_until: dt.datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "valid_from", require_aware(self.valid_from, "valid_from"))
        if self.valid_until is not None:
            until = require_aware(self.valid_until, "valid_until")
            object.__setattr__(self, "valid_until", until)
            if until <= self.valid_from:
                raise InvalidArgument(
                    "must be later than valid_from (rule validity.inverted)", field="valid_until"
                )

    def contains(self, at: dt.datetime) -> bool:
        return self.valid_from <= at and (self.valid_until is None or at < self.valid_until)

    def overlaps(self, other: Validity) -> bool:
        starts_before_other_ends = other.valid_until is None or self.valid_from < other.valid_until
        ends_after_other_starts = self.valid_until is None or other.valid_from < self.valid_until
        return starts_before_other_ends and ends_after_other_starts


@dataclass(frozen=True)
class Entry:
    """A decision for one cell over a period, and where it stands."""

    id: bytes
    cell: Cell
    decision: Decision
    validity: Validity
    state: EntryState
    created_at: dt.datetime
    changed_at: dt.datetime
    #: Whose agreement a pending grant or revocation awaits.
    awaiting: Party | None = None

    def __post_init__(self) -> None:
        require_id(self.id, "entry_id")
        pending = self.state in (EntryState.GRANT_PENDING, EntryState.REVOCATION_PENDING)
        if pending != (self.awaiting is not None):
            raise ValueError("a pending entry names whom it awaits, and only a pending one")

    @property
    def counts(self) -> bool:
        return self.state in COUNTING_STATES


@dataclass(frozen=True)
class Change:
    """One record of the append-only change log: who did what to which entry, when."""

    at: dt.datetime
    kind: ChangeKind
    actor: Pseudonym
    party: Party
    #: The entry as it stands after the change.
    entry: Entry
    #: Whether the change altered what a check may decide (the Watch stream carries only these).
    effective: bool
    #: Assigned by the store: strictly increasing, not necessarily consecutive.
    cursor: int = 0


@dataclass(frozen=True)
class ChangeNotice:
    """A change as the Watch stream tells it to the hub: without who made it."""

    cursor: int
    at: dt.datetime
    kind: ChangeKind
    entry: Entry


@dataclass(frozen=True)
class GrantRequest:
    """What an actor asks to record for one cell."""

    cell: Cell
    decision: Decision
    #: None: now (and, when agreeing to a pending grant, whatever that grant says).
    valid_from: dt.datetime | None = None
    #: None: until revoked.
    valid_until: dt.datetime | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.decision, Decision):
            raise InvalidArgument("unknown decision", field="decision")
        if self.valid_from is not None:
            object.__setattr__(self, "valid_from", require_aware(self.valid_from, "valid_from"))
        if self.valid_until is not None:
            object.__setattr__(self, "valid_until", require_aware(self.valid_until, "valid_until"))


@dataclass(frozen=True)
class CheckQuery:
    """May this partner use this person's data for this purpose in this life domain at `at`?"""

    subject: Pseudonym
    partner_id: str
    partner_type: PartnerType
    life_domain: LifeDomain
    purpose: Purpose
    #: None: now.
    at: dt.datetime | None = None

    def __post_init__(self) -> None:
        if not PARTNER_ID.fullmatch(self.partner_id):
            raise InvalidArgument("must match [a-z0-9][a-z0-9-]{1,62}", field="partner_id")
        if not isinstance(self.partner_type, PartnerType):
            raise InvalidArgument("unknown partner category", field="partner_type")
        if not isinstance(self.life_domain, LifeDomain):
            raise InvalidArgument("unknown life domain", field="life_domain")
        if not isinstance(self.purpose, Purpose):
            raise InvalidArgument("unknown purpose", field="purpose")
        if self.at is not None:
            object.__setattr__(self, "at", require_aware(self.at, "at"))


@dataclass(frozen=True)
class Receipt:
    """What a permit vouches for; the registry signs it, the hub and nodes verify it."""

    receipt_id: bytes
    subject: Pseudonym
    partner_id: str
    partner_type: PartnerType
    life_domain: LifeDomain
    purpose: Purpose
    decided_at: dt.datetime
    #: The decision holds over [valid_from, valid_until) given the registry as it stood.
    valid_from: dt.datetime
    valid_until: dt.datetime | None
    entry_id: bytes
    key_id: bytes


@dataclass(frozen=True)
class SignedReceipt:
    """A receipt, its serialized form exactly as signed, and the signature."""

    receipt: Receipt
    body: bytes = field(repr=False)
    signature: bytes = field(repr=False)


class ReceiptSigner(Protocol):
    """Signs receipts (consent.receipts has the Ed25519 one); the domain needs no crypto."""

    @property
    def key_id(self) -> bytes: ...

    def sign(self, receipt: Receipt) -> SignedReceipt: ...


@dataclass(frozen=True)
class CheckResult:
    """A decision; on PERMIT with its signed receipt, on DENY with none."""

    decision: Decision
    receipt: SignedReceipt | None = None
