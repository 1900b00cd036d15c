"""Proto <-> domain for the ResidentService (resident.proto)."""

from __future__ import annotations

import datetime as dt

from hub.resident import ObjectionParty, ObjectionReason, RegiehouderChoice, StatuteNotice
from hub.resident_view import Held, Person, ResidentHousehold
from seinhuis.errors import InvalidArgument
from seinhuis.serde import date_to_proto, enum_from_proto, enum_to_proto
from seinhuis.v1 import consent_pb2, feed_pb2, resident_pb2, vocabulary_pb2
from seinhuis.vocabulary import PartnerType

PSEUDONYM_BYTES = 32
MAX_PEOPLE = 65


def person_from_proto(msg: consent_pb2.ConsentPerson, field: str) -> Person:
    if len(msg.pseudonym) != PSEUDONYM_BYTES:
        raise InvalidArgument(f"must be {PSEUDONYM_BYTES} bytes", field=f"{field}.pseudonym")
    if msg.key_version < 1:
        raise InvalidArgument("must be at least 1", field=f"{field}.key_version")
    return Person(bytes(msg.pseudonym), msg.key_version)


def people_from_proto(msgs: list[consent_pb2.ConsentPerson]) -> list[Person]:
    if not msgs:
        raise InvalidArgument("name at least one person", field="people")
    if len(msgs) > MAX_PEOPLE:
        raise InvalidArgument(f"at most {MAX_PEOPLE}", field="people")
    return [person_from_proto(m, f"people[{i}]") for i, m in enumerate(msgs)]


def person_to_proto(person: Person) -> consent_pb2.ConsentPerson:
    return consent_pb2.ConsentPerson(pseudonym=person.pseudonym, key_version=person.key_version)


def _utc_date(at: dt.datetime) -> dt.date:
    return at.astimezone(dt.UTC).date()


def held_to_proto(held: Held) -> resident_pb2.HeldSignal:
    r = held.signal.received
    s = r.signal
    return resident_pb2.HeldSignal(
        signal_id=r.id,
        subject=person_to_proto(held.subject),
        signal_type=enum_to_proto(s.signal_type, vocabulary_pb2.SignalType),
        partner_type=enum_to_proto(r.partner_type, vocabulary_pb2.PartnerType),
        registered_on=date_to_proto(_utc_date(r.received_at)),
        legal_basis=enum_to_proto(s.legal_basis, vocabulary_pb2.LegalBasis),
        keep_until=date_to_proto(s.keep_until),
        status=enum_to_proto(held.status, resident_pb2.HeldSignalStatus),
    )


def household_to_proto(found: ResidentHousehold) -> resident_pb2.GetHouseholdResponse:
    out = resident_pb2.GetHouseholdResponse(signals=[held_to_proto(h) for h in found.signals])
    case = found.case
    if case is not None:
        out.household_case.status = enum_to_proto(case.status, feed_pb2.CaseStatus)
        out.household_case.opened_on.CopyFrom(date_to_proto(case.opened_on))
        if found.regiehouder is not None:
            out.household_case.regiehouder.partner_type = enum_to_proto(
                found.regiehouder.partner_type, vocabulary_pb2.PartnerType
            )
            out.household_case.regiehouder.contact_point = found.regiehouder.contact_point
    return out


def notice_to_proto(notice: StatuteNotice, subjects: list[Person]) -> resident_pb2.StatuteNotice:
    r = notice.signal.received
    return resident_pb2.StatuteNotice(
        cursor=notice.cursor,
        signal_id=r.id,
        subjects=[person_to_proto(p) for p in subjects],
        signal_type=enum_to_proto(r.signal.signal_type, vocabulary_pb2.SignalType),
        partner_type=enum_to_proto(r.partner_type, vocabulary_pb2.PartnerType),
        legal_basis=enum_to_proto(r.signal.legal_basis, vocabulary_pb2.LegalBasis),
        registered_on=date_to_proto(_utc_date(r.received_at)),
    )


def reason_from_proto(number: int) -> ObjectionReason:
    return enum_from_proto(number, ObjectionReason, resident_pb2.ObjectionReason, "reason")


def party_from_proto(number: int) -> ObjectionParty:
    return enum_from_proto(number, ObjectionParty, consent_pb2.ConsentParty, "made_by")


def choice_from_proto(number: int) -> RegiehouderChoice:
    return enum_from_proto(number, RegiehouderChoice, resident_pb2.RegiehouderChoice, "choice")


def partner_type_from_proto(number: int, field: str) -> PartnerType:
    return enum_from_proto(number, PartnerType, vocabulary_pb2.PartnerType, field)
