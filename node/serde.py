"""Proto <-> domain conversions for the node: local API requests, outbox payloads, statuses."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any, TypeVar

from google.protobuf.timestamp_pb2 import Timestamp

from node.model import (
    Arrears,
    Death,
    DeliveryState,
    LocalAddress,
    LocalArrears,
    LocalDeath,
    LocalParenthood,
    LocalPerson,
    LocalPopulationEvent,
    LocalRelocation,
    LocalResidence,
    LocalSignal,
    Parenthood,
    Payload,
    PopulationEvent,
    Relocation,
    Residence,
    Signal,
    SignalStatus,
)
from seinhuis.errors import InvalidArgument
from seinhuis.serde import date_from_proto, date_to_proto, enum_from_proto, enum_to_proto
from seinhuis.v1 import envelope_pb2, node_pb2, signal_pb2, vocabulary_pb2
from seinhuis.vocabulary import LegalBasis, LifeDomain, SignalType, Urgency, WithdrawReason

E = TypeVar("E", bound=Enum)

KIND_SIGNAL = "signal"
KIND_POPULATION_EVENT = "population_event"

# --- local API requests -> domain -----------------------------------------------------------


def _optional_date(msg: vocabulary_pb2.Date, field: str, *, secret: bool = False) -> dt.date | None:
    if msg.year == 0 and msg.month == 0 and msg.day == 0:
        return None
    if secret:
        # The shared helper names the impossible date in its message; a birth date must not
        # appear in an error, even a wrong one.
        try:
            return dt.date(msg.year, msg.month, msg.day)
        except (ValueError, OverflowError):
            raise InvalidArgument("not a valid date", field=field) from None
    return date_from_proto(msg, field)


def _person(msg: node_pb2.LocalPerson, field: str) -> LocalPerson:
    return LocalPerson(
        bsn=msg.bsn, birth_date=_optional_date(msg.birth_date, f"{field}.birth_date", secret=True)
    )


def _address(msg: node_pb2.LocalAddress | node_pb2.LocalSubject) -> LocalAddress:
    return LocalAddress(
        postcode=msg.postcode,
        house_number=msg.house_number,
        house_letter=msg.house_letter,
        house_number_addition=msg.house_number_addition,
    )


def local_signal_from_proto(req: node_pb2.SubmitSignalRequest) -> LocalSignal:
    """A SubmitSignalRequest as a LocalSignal; enums and dates are checked here."""
    subject = req.subject
    return LocalSignal(
        signal_type=enum_from_proto(
            req.signal_type, SignalType, vocabulary_pb2.SignalType, "signal_type"
        ),
        urgency=enum_from_proto(req.urgency, Urgency, vocabulary_pb2.Urgency, "urgency"),
        person=LocalPerson(
            bsn=subject.bsn,
            birth_date=_optional_date(subject.birth_date, "subject.birth_date", secret=True),
        ),
        address=_address(subject),
        observed_on=_optional_date(req.observed_on, "observed_on"),
        arrears=(
            LocalArrears(
                amount_cents=req.arrears.amount_cents,
                months_in_arrears=req.arrears.months_in_arrears,
                contact_attempted=req.arrears.contact_attempted,
                written_reminder_sent=req.arrears.written_reminder_sent,
            )
            if req.HasField("arrears")
            else None
        ),
        partner_reference=req.partner_reference,
    )


def local_population_event_from_proto(
    req: node_pb2.SubmitPopulationEventRequest,
) -> LocalPopulationEvent:
    """A SubmitPopulationEventRequest as one of the Local* population events."""
    which = req.WhichOneof("event")
    if which == "residence":
        r = req.residence
        return LocalResidence(
            person=_person(r.person, "residence.person"),
            address=_address(r.address),
            since=_optional_date(r.since, "residence.since"),
        )
    if which == "parenthood":
        p = req.parenthood
        return LocalParenthood(
            parent=_person(p.parent, "parenthood.parent"),
            child=_person(p.child, "parenthood.child"),
        )
    if which == "relocation":
        m = req.relocation
        return LocalRelocation(
            person=_person(m.person, "relocation.person"),
            to_address=_address(m.to_address),
            on=_optional_date(m.on, "relocation.on"),
        )
    if which == "death":
        d = req.death
        return LocalDeath(
            person=_person(d.person, "death.person"), on=_optional_date(d.on, "death.on")
        )
    raise InvalidArgument(
        "one of residence, parenthood, relocation or death is required", field="event"
    )


def withdraw_reason_from_proto(number: int) -> WithdrawReason:
    return enum_from_proto(number, WithdrawReason, vocabulary_pb2.WithdrawReason, "reason")


# --- outbox payloads --------------------------------------------------------------------------


def _numbers(domain: type[E], pb_enum: Any) -> dict[E, Any]:
    # Computed once: an import converts a million signals.
    return {member: enum_to_proto(member, pb_enum) for member in domain}


_SIGNAL_TYPES = _numbers(SignalType, vocabulary_pb2.SignalType)
_LIFE_DOMAINS = _numbers(LifeDomain, vocabulary_pb2.LifeDomain)
_URGENCIES = _numbers(Urgency, vocabulary_pb2.Urgency)
_LEGAL_BASES = _numbers(LegalBasis, vocabulary_pb2.LegalBasis)


def _date(d: dt.date) -> vocabulary_pb2.Date:
    return vocabulary_pb2.Date(year=d.year, month=d.month, day=d.day)


def signal_to_proto(s: Signal) -> signal_pb2.Signal:
    msg = signal_pb2.Signal(
        signal_type=_SIGNAL_TYPES[s.signal_type],
        life_domain=_LIFE_DOMAINS[s.life_domain],
        urgency=_URGENCIES[s.urgency],
        legal_basis=_LEGAL_BASES[s.legal_basis],
        observed_on=_date(s.observed_on),
        keep_until=_date(s.keep_until),
        subject=signal_pb2.Subject(
            person_pseudonym=s.subject.person_pseudonym,
            address_pseudonym=s.subject.address_pseudonym,
            key_version=s.subject.key_version,
        ),
    )
    if s.arrears is not None:
        msg.arrears.CopyFrom(_arrears_to_proto(s.arrears))
    if s.consent_receipt is not None:
        msg.consent_receipt.receipt = s.consent_receipt.receipt
        msg.consent_receipt.signature = s.consent_receipt.signature
    return msg


def _arrears_to_proto(a: Arrears) -> signal_pb2.Arrears:
    return signal_pb2.Arrears(
        amount_cents=a.amount_cents,
        months_in_arrears=a.months_in_arrears,
        contact_attempted=a.contact_attempted,
        written_reminder_sent=a.written_reminder_sent,
    )


def population_event_to_proto(e: PopulationEvent) -> signal_pb2.PopulationEvent:
    msg = signal_pb2.PopulationEvent(key_version=e.key_version)
    ev = e.event
    if isinstance(ev, Residence):
        msg.residence.CopyFrom(
            signal_pb2.Residence(
                person_pseudonym=ev.person_pseudonym,
                address_pseudonym=ev.address_pseudonym,
                since=date_to_proto(ev.since) if ev.since is not None else None,
            )
        )
    elif isinstance(ev, Parenthood):
        msg.parenthood.CopyFrom(
            signal_pb2.Parenthood(
                parent_pseudonym=ev.parent_pseudonym, child_pseudonym=ev.child_pseudonym
            )
        )
    elif isinstance(ev, Relocation):
        msg.relocation.CopyFrom(
            signal_pb2.Relocation(
                person_pseudonym=ev.person_pseudonym,
                to_address_pseudonym=ev.to_address_pseudonym,
                on=date_to_proto(ev.on),
            )
        )
    elif isinstance(ev, Death):
        msg.death.CopyFrom(
            signal_pb2.Death(person_pseudonym=ev.person_pseudonym, on=date_to_proto(ev.on))
        )
    else:  # pragma: no cover - the union is closed
        raise TypeError(f"not a population event: {type(ev).__name__}")
    return msg


def payload_to_bytes(payload: Payload) -> tuple[str, bytes]:
    """The outbox kind and the deterministic serialization of a payload."""
    if isinstance(payload, Signal):
        return KIND_SIGNAL, signal_to_proto(payload).SerializeToString(deterministic=True)
    return KIND_POPULATION_EVENT, population_event_to_proto(payload).SerializeToString(
        deterministic=True
    )


def statement(
    message_id: bytes, kind: str, payload: bytes, signed_at: dt.datetime
) -> envelope_pb2.Statement:
    """The unsigned Statement for a stored payload; the Sealer fills in sender and recipient."""
    st = envelope_pb2.Statement(id=message_id)
    st.signed_at.FromDatetime(signed_at)
    if kind == KIND_SIGNAL:
        st.signal.MergeFromString(payload)
    elif kind == KIND_POPULATION_EVENT:
        st.population_event.MergeFromString(payload)
    else:
        raise ValueError(f"unknown outbox kind {kind!r}")
    return st


def signal_from_bytes(payload: bytes) -> signal_pb2.Signal:
    return signal_pb2.Signal.FromString(payload)


# --- statuses -----------------------------------------------------------------------------------

_STATES = {
    DeliveryState.PENDING: node_pb2.DELIVERY_STATE_PENDING,
    DeliveryState.DELIVERED: node_pb2.DELIVERY_STATE_DELIVERED,
    DeliveryState.REFUSED: node_pb2.DELIVERY_STATE_REFUSED,
    DeliveryState.WITHDRAWN: node_pb2.DELIVERY_STATE_WITHDRAWN,
}


def _timestamp(moment: dt.datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(moment)
    return ts


def status_to_proto(s: SignalStatus) -> node_pb2.GetSignalStatusResponse:
    msg = node_pb2.GetSignalStatusResponse(
        id=s.id,
        state=_STATES[s.state],
        attempts=s.attempts,
        accepted_at=_timestamp(s.accepted_at),
        refusal_code=s.refusal_code,
        refusal_message=s.refusal_message,
    )
    if s.delivered_at is not None:
        msg.delivered_at.CopyFrom(_timestamp(s.delivered_at))
    return msg


def delivery_state_from_proto(number: int) -> DeliveryState | None:
    for state, value in _STATES.items():
        if value == number:
            return state
    return None
