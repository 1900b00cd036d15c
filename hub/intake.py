"""The intake checks, in the order of docs/architecture.md, as plain code without grpc or SQL.

Authentication failures all raise Unauthenticated with one public message; only the log gets
the detail. Payload and policy failures name the field or the catalogue rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hub.consent_check import ConsentGate, check_consent
from hub.domain import (
    ID_BYTES,
    PSEUDONYM_BYTES,
    Death,
    Parenthood,
    PopulationFact,
    Received,
    ReceivedPopulationFact,
    ReceivedSignal,
    Relocation,
    Residence,
    Signal,
)
from hub.registry import Partner, Registry
from hub.serde import header_from_proto, payload_from_proto
from seinhuis.catalogue import Catalogue
from seinhuis.crypto.envelope import Opened, Opener
from seinhuis.errors import InvalidArgument, PermissionDenied, SeinhuisError, Unauthenticated
from seinhuis.vocabulary import ARREARS_TYPES, CRISIS_REFUSAL, PartnerType, Urgency

if TYPE_CHECKING:
    from seinhuis.v1.envelope_pb2 import SealedEnvelope

#: How far in the future an observation date may lie (time zones, clocks around midnight).
OBSERVED_ON_SLACK = dt.timedelta(days=1)


@dataclass(frozen=True)
class Verdict:
    """The outcome of the checks for one envelope: an item to store, or the error."""

    #: The statement id once the envelope is authenticated; empty before that.
    id: bytes
    item: Received | None
    error: SeinhuisError | None


@dataclass(frozen=True)
class Intake:
    """Everything the checks need; the clock is injectable for tests."""

    hub_id: str
    registry: Registry
    catalogue: Catalogue
    opener: Opener
    max_clock_skew: dt.timedelta
    clock: Callable[[], dt.datetime]
    #: Receipt checking for consent-based signals (hub.consent_check); None: not checked.
    consent: ConsentGate | None = None

    def check(self, envelope: SealedEnvelope, partner: Partner) -> Verdict:
        """Run every check for an envelope from the TLS peer `partner`; never raises them."""
        now = self.clock()
        try:
            opened = self.opener.open(envelope)
            message_id = self._authenticate(opened, partner, now)
        except SeinhuisError as exc:
            return Verdict(id=b"", item=None, error=exc)
        try:
            item = self._accept(opened, message_id, partner, now)
        except SeinhuisError as exc:
            return Verdict(id=message_id, item=None, error=exc)
        return Verdict(id=message_id, item=item, error=None)

    def _authenticate(self, opened: Opened, partner: Partner, now: dt.datetime) -> bytes:
        header = header_from_proto(opened.statement)
        if header.sender != partner.id:
            raise Unauthenticated("", detail="sender is not the TLS peer")
        opened.verify(self.registry.verify_key_for(partner, header.sender_key_id, now))
        if header.recipient != self.hub_id:
            raise Unauthenticated("", detail="recipient is not this hub")
        if header.signed_at is None or abs(now - header.signed_at) > self.max_clock_skew:
            raise Unauthenticated("", detail="signed_at outside the allowed clock skew")
        return header.id

    def _accept(
        self, opened: Opened, message_id: bytes, partner: Partner, now: dt.datetime
    ) -> Received:
        if len(message_id) != ID_BYTES:
            raise InvalidArgument(f"must be {ID_BYTES} bytes", field="statement.id")
        payload = payload_from_proto(opened.statement)
        if isinstance(payload, Signal):
            check_signal(payload, partner.type, self.catalogue, today=now.date())
            # Consent (issue 5): a consent-based signal carries a verified receipt.
            consent = check_consent(self.consent, opened.statement.signal, payload, partner, now)
            return ReceivedSignal(
                id=message_id,
                partner_id=partner.id,
                partner_type=partner.type,
                received_at=now,
                signal=payload,
                consent_receipt_id=consent.receipt_id if consent is not None else None,
                consent_until=consent.until if consent is not None else None,
            )
        check_population_fact(payload, partner.type)
        return ReceivedPopulationFact(
            id=message_id, partner_id=partner.id, received_at=now, fact=payload
        )


def check_signal(
    signal: Signal, partner_type: PartnerType, catalogue: Catalogue, *, today: dt.date
) -> None:
    """Payload checks (INVALID_ARGUMENT), then the catalogue rule (PERMISSION_DENIED)."""
    if signal.urgency is Urgency.CRISIS:
        raise InvalidArgument(CRISIS_REFUSAL, field="signal.urgency")
    _pseudonym(signal.address_pseudonym, "signal.subject.address_pseudonym")
    if signal.person_pseudonym is not None:
        _pseudonym(signal.person_pseudonym, "signal.subject.person_pseudonym")
        if not catalogue.may_process_bsn(partner_type):
            raise InvalidArgument(
                f"a {partner_type} may not process citizen numbers, so sends no person "
                f"pseudonym (catalogue rule partner_types.{partner_type}.may_process_bsn)",
                field="signal.subject.person_pseudonym",
            )
    if signal.observed_on > today + OBSERVED_ON_SLACK:
        raise InvalidArgument("lies in the future", field="signal.observed_on")
    if signal.keep_until < signal.observed_on:
        raise InvalidArgument("before observed_on", field="signal.keep_until")
    _check_arrears(signal)

    rule = catalogue.check_sender(partner_type, signal.signal_type)
    where = f"catalogue rule signal_types.{signal.signal_type}"
    if signal.life_domain != rule.life_domain:
        raise InvalidArgument(
            f"must be {rule.life_domain} ({where}.life_domain)", field="signal.life_domain"
        )
    if signal.legal_basis != rule.legal_basis:
        raise InvalidArgument(
            f"must be {rule.legal_basis} ({where}.legal_basis)", field="signal.legal_basis"
        )
    # Without a birth date the hub can only hold the sender to the plain retention period.
    if signal.keep_until > rule.keep_until(signal.observed_on, None):
        raise InvalidArgument(
            f"beyond the retention of {rule.retention_months} months ({where}.retention)",
            field="signal.keep_until",
        )


def _check_arrears(signal: Signal) -> None:
    arrears = signal.arrears
    if signal.signal_type not in ARREARS_TYPES:
        if arrears is not None:
            raise InvalidArgument("only for arrears signal types", field="signal.arrears")
        return
    if arrears is None:
        raise InvalidArgument(f"required for {signal.signal_type}", field="signal.arrears")
    if arrears.amount_cents < 0:
        raise InvalidArgument("must not be negative", field="signal.arrears.amount_cents")
    if not arrears.contact_attempted:
        raise InvalidArgument(
            "the sender must have attempted contact first", field="signal.arrears.contact_attempted"
        )
    if not arrears.written_reminder_sent:
        raise InvalidArgument(
            "the sender must have sent a written reminder first",
            field="signal.arrears.written_reminder_sent",
        )


def check_population_fact(fact: PopulationFact, partner_type: PartnerType) -> None:
    """Every pseudonym present and 32 bytes (INVALID_ARGUMENT); only BRP sends these."""
    event = fact.event
    prefix = f"population_event.{type(event).__name__.lower()}"
    pseudonyms: dict[str, bytes]
    if isinstance(event, Residence):
        pseudonyms = {
            "person_pseudonym": event.person_pseudonym,
            "address_pseudonym": event.address_pseudonym,
        }
    elif isinstance(event, Parenthood):
        pseudonyms = {
            "parent_pseudonym": event.parent_pseudonym,
            "child_pseudonym": event.child_pseudonym,
        }
    elif isinstance(event, Relocation):
        pseudonyms = {
            "person_pseudonym": event.person_pseudonym,
            "to_address_pseudonym": event.to_address_pseudonym,
        }
    else:
        assert isinstance(event, Death)
        pseudonyms = {"person_pseudonym": event.person_pseudonym}
    for name, value in pseudonyms.items():
        _pseudonym(value, f"{prefix}.{name}")
    if partner_type is not PartnerType.BRP:
        raise PermissionDenied(
            f"rule population_events.senders: only a {PartnerType.BRP} partner sends "
            f"population events, not a {partner_type}"
        )


def _pseudonym(value: bytes, field: str) -> None:
    if not value:
        raise InvalidArgument("required", field=field)
    if len(value) != PSEUDONYM_BYTES:
        raise InvalidArgument(f"must be {PSEUDONYM_BYTES} bytes", field=field)
