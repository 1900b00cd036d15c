"""Consent at the hub's intake: a consent-based signal must carry the registry's receipt (issue 5).

Pure: no grpc, no store. hub.intake calls `check_consent` once per signal, after the payload
and catalogue checks; a refusal stores nothing. The rules, in order:

- a statute-based signal carries no receipt (INVALID_ARGUMENT);
- a hub without a receipt verify key (`[hub.consent]` not configured: development networks
  and older tests) does not check consent; hub.wiring logs `hub.consent_unchecked` at start;
- a consent-based signal names a person: consent is a person's, so a signal about an address
  alone cannot carry it (FAILED_PRECONDITION);
- it carries a receipt (FAILED_PRECONDITION: consent is missing);
- the receipt is the registry's (UNAUTHENTICATED, one message whatever failed);
- it covers this person, this sender (id and kind), this life domain and the purpose
  SIGNALERING at the moment of arrival (FAILED_PRECONDITION naming what differs);
- it is not older than `max_age`, and no narrowing the hub learnt of since it was decided (a
  revocation or objection covering it, hub.consent_follower) voids it (FAILED_PRECONDITION).

The last rule closes the gap between a node accepting a signal (and its receipt) and the hub
receiving it: consent withdrawn in between is not undone by a late delivery. It is deliberately
coarse: any narrowing that covers the receipt's cell voids it, even when a more specific permit
would still win; the node then checks again and gets a fresh receipt.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from consent.model import Pseudonym, Purpose, Receipt, Source
from consent.receipts import ReceiptVerifier
from hub.domain import Signal
from hub.registry import Partner
from seinhuis.errors import FailedPrecondition, InvalidArgument
from seinhuis.v1 import signal_pb2
from seinhuis.vocabulary import LegalBasis, LifeDomain

#: The purpose a signal to the hub is consented for.
PURPOSE = Purpose.SIGNALERING
CONSENT_MISSING = (
    "consent is missing: a consent-based signal needs the resident's consent and carries the "
    "consent registry's receipt (signal.consent_receipt)"
)
NO_PERSON = (
    "consent is missing: a consent-based signal must name a person (consent is a person's, so "
    "it cannot be checked for an address alone)"
)


@dataclass(frozen=True)
class ConsentNarrowing:
    """A change in the registry that may have ended a permit: a revocation or an objection.

    `source`, `life_domain` (None: all) and `purpose` are the changed entry's cell; `at` is when
    the registry made the change.
    """

    subject: Pseudonym
    at: dt.datetime
    source: Source
    life_domain: LifeDomain | None
    purpose: Purpose

    def voids(self, receipt: Receipt) -> bool:
        """Whether this change came after the receipt was decided and concerns its cell."""
        return (
            receipt.decided_at < self.at
            and self.subject == receipt.subject
            and self.source.covers(receipt.partner_id, receipt.partner_type)
            and (self.life_domain is None or self.life_domain is receipt.life_domain)
            and self.purpose is receipt.purpose
        )


@dataclass(frozen=True)
class ConsentBasis:
    """What the hub keeps of a verified receipt: its id and until when it vouches."""

    receipt_id: bytes
    until: dt.datetime | None


class Narrowings:
    """The narrowings the hub learnt of, by person; the follower adds, intake reads."""

    def __init__(self, items: Iterable[ConsentNarrowing] = ()) -> None:
        self._lock = threading.Lock()
        self._by_subject: dict[Pseudonym, list[ConsentNarrowing]] = {}
        self.add(items)

    def add(self, items: Iterable[ConsentNarrowing]) -> None:
        with self._lock:
            for n in items:
                known = self._by_subject.setdefault(n.subject, [])
                if n not in known:
                    known.append(n)

    def forget_before(self, cutoff: dt.datetime) -> None:
        """Drop what is older than the oldest receipt the hub still accepts."""
        with self._lock:
            for subject in list(self._by_subject):
                kept = [n for n in self._by_subject[subject] if n.at >= cutoff]
                if kept:
                    self._by_subject[subject] = kept
                else:
                    del self._by_subject[subject]

    def of(self, subject: Pseudonym) -> Sequence[ConsentNarrowing]:
        with self._lock:
            return tuple(self._by_subject.get(subject, ()))


@dataclass(frozen=True)
class ConsentGate:
    """What the intake needs to check receipts: the registry's verify keys, the narrowings seen,
    and the oldest receipt accepted."""

    verifier: ReceiptVerifier
    narrowings: Narrowings = field(default_factory=Narrowings)
    max_age: dt.timedelta = dt.timedelta(days=30)


def check_consent(
    gate: ConsentGate | None,
    message: signal_pb2.Signal,
    signal: Signal,
    partner: Partner,
    now: dt.datetime,
) -> ConsentBasis | None:
    """The verified consent basis of a consent-based signal (`message` as received, `signal` as
    hub.serde read it); None for a statute-based one, or on a hub that does not check consent.
    Raises the refusal; see the module docstring."""
    carries = message.HasField("consent_receipt")
    if signal.legal_basis is not LegalBasis.TOESTEMMING:
        if carries:
            raise InvalidArgument(
                f"only consent-based signals carry a receipt; {signal.signal_type} is given "
                f"under {signal.legal_basis}",
                field="signal.consent_receipt",
            )
        return None
    if gate is None:
        return None
    if signal.person_pseudonym is None:
        raise FailedPrecondition(NO_PERSON)
    signed = message.consent_receipt
    if not carries or not signed.receipt or not signed.signature:
        raise FailedPrecondition(CONSENT_MISSING)
    receipt = gate.verifier.verify(
        signed.receipt,
        signed.signature,
        subject=Pseudonym(signal.person_pseudonym, signal.key_version, field_name="signal.subject"),
        partner_id=partner.id,
        partner_type=partner.type,
        life_domain=signal.life_domain,
        purpose=PURPOSE,
        at=now,
    )
    return basis_of(receipt, gate, now)


def basis_of(receipt: Receipt, gate: ConsentGate, now: dt.datetime) -> ConsentBasis:
    """The basis a genuine, matching receipt gives, unless it is too old or voided since."""
    if receipt.decided_at < now - gate.max_age:
        raise FailedPrecondition(
            "the consent receipt is too old; the node checks consent again and sends a new one"
        )
    if any(n.voids(receipt) for n in gate.narrowings.of(receipt.subject)):
        raise FailedPrecondition(
            "consent was withdrawn after this consent receipt was issued; the signal may not "
            "be sent"
        )
    return ConsentBasis(receipt.receipt_id, receipt.valid_until)
