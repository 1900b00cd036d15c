"""Proto <-> hub domain: the opened Statement into domain objects, notifications into the feed.

Only shape is converted here (enums, dates, optional parts); what the values must satisfy is
checked by hub.intake, so the order of checks stays in one place.
"""

from __future__ import annotations

import datetime as dt

from hub.domain import (
    Arrears,
    CaseNotice,
    Death,
    Notification,
    NotificationKind,
    Parenthood,
    PopulationFact,
    Relocation,
    Residence,
    Signal,
    StatementHeader,
)
from seinhuis.errors import InvalidArgument
from seinhuis.serde import (
    date_from_proto,
    date_to_proto,
    enum_from_proto,
    enum_reader,
    enum_to_proto,
)
from seinhuis.v1 import envelope_pb2, feed_pb2, signal_pb2, vocabulary_pb2
from seinhuis.vocabulary import LegalBasis, LifeDomain, SignalType, Urgency, WithdrawReason


def header_from_proto(statement: envelope_pb2.Statement) -> StatementHeader:
    """The envelope fields the authentication checks need."""
    signed_at = None
    if statement.HasField("signed_at"):
        try:
            signed_at = statement.signed_at.ToDatetime(tzinfo=dt.UTC)
        except (ValueError, OverflowError):
            signed_at = None  # out of range: fails the freshness check
    return StatementHeader(
        id=bytes(statement.id),
        sender=statement.sender,
        sender_key_id=bytes(statement.sender_key_id),
        recipient=statement.recipient,
        signed_at=signed_at,
    )


def payload_from_proto(statement: envelope_pb2.Statement) -> Signal | PopulationFact:
    """The statement's payload; an unknown enum value or a missing date names the field."""
    which = statement.WhichOneof("payload")
    if which == "signal":
        return signal_from_proto(statement.signal)
    if which == "population_event":
        return population_fact_from_proto(statement.population_event)
    raise InvalidArgument("required: a signal or a population_event", field="statement.payload")


# Every intake signal is read through these: their tables are bound once.
_signal_type = enum_reader(SignalType, vocabulary_pb2.SignalType, "signal.signal_type")
_life_domain = enum_reader(LifeDomain, vocabulary_pb2.LifeDomain, "signal.life_domain")
_urgency = enum_reader(Urgency, vocabulary_pb2.Urgency, "signal.urgency")
_legal_basis = enum_reader(LegalBasis, vocabulary_pb2.LegalBasis, "signal.legal_basis")


def signal_from_proto(msg: signal_pb2.Signal) -> Signal:
    arrears = None
    if msg.HasField("arrears"):
        a = msg.arrears
        arrears = Arrears(
            amount_cents=a.amount_cents,
            months_in_arrears=a.months_in_arrears,
            contact_attempted=a.contact_attempted,
            written_reminder_sent=a.written_reminder_sent,
        )
    return Signal(
        signal_type=_signal_type(msg.signal_type),
        life_domain=_life_domain(msg.life_domain),
        urgency=_urgency(msg.urgency),
        legal_basis=_legal_basis(msg.legal_basis),
        observed_on=date_from_proto(msg.observed_on, "signal.observed_on"),
        keep_until=date_from_proto(msg.keep_until, "signal.keep_until"),
        person_pseudonym=bytes(msg.subject.person_pseudonym) or None,
        address_pseudonym=bytes(msg.subject.address_pseudonym),
        key_version=msg.subject.key_version,
        arrears=arrears,
    )


def population_fact_from_proto(msg: signal_pb2.PopulationEvent) -> PopulationFact:
    which = msg.WhichOneof("event")
    prefix = f"population_event.{which}"
    event: Residence | Parenthood | Relocation | Death
    if which == "residence":
        r = msg.residence
        event = Residence(
            person_pseudonym=bytes(r.person_pseudonym),
            address_pseudonym=bytes(r.address_pseudonym),
            # No date means "from birth": the BRP node withholds a date that would reveal one.
            since=date_from_proto(r.since, f"{prefix}.since") if r.HasField("since") else None,
        )
    elif which == "parenthood":
        p = msg.parenthood
        event = Parenthood(
            parent_pseudonym=bytes(p.parent_pseudonym), child_pseudonym=bytes(p.child_pseudonym)
        )
    elif which == "relocation":
        m = msg.relocation
        event = Relocation(
            person_pseudonym=bytes(m.person_pseudonym),
            to_address_pseudonym=bytes(m.to_address_pseudonym),
            on=date_from_proto(m.on, f"{prefix}.on"),
        )
    elif which == "death":
        d = msg.death
        event = Death(
            person_pseudonym=bytes(d.person_pseudonym), on=date_from_proto(d.on, f"{prefix}.on")
        )
    else:
        raise InvalidArgument("required: one of the event kinds", field="population_event.event")
    return PopulationFact(key_version=msg.key_version, event=event)


def withdraw_reason_from_proto(number: int) -> WithdrawReason:
    return enum_from_proto(number, WithdrawReason, vocabulary_pb2.WithdrawReason, "reason")


def notification_to_proto(n: Notification) -> feed_pb2.SubscribeResponse:
    """A feed entry as the partner receives it."""
    out = feed_pb2.SubscribeResponse(cursor=n.cursor)
    out.created_at.FromDatetime(n.created_at)
    if n.kind is NotificationKind.SIGNAL_WITHDRAWN:
        assert n.reason is not None
        out.signal_withdrawn.id = n.ref_id
        out.signal_withdrawn.reason = enum_to_proto(n.reason, vocabulary_pb2.WithdrawReason)
    elif n.kind is NotificationKind.SIGNAL_EXPIRED:
        out.signal_expired.id = n.ref_id
    else:
        assert n.case is not None
        if n.kind is NotificationKind.REGIEHOUDER_BRIEFING:
            briefing = out.regiehouder_briefing
            _fill_case_fields(briefing, n.case)
            for i in n.case.involved:
                briefing.involved.add(
                    partner_type=enum_to_proto(i.partner_type, vocabulary_pb2.PartnerType),
                    contact_point=i.contact_point,
                    life_domains=[
                        enum_to_proto(d, vocabulary_pb2.LifeDomain) for d in i.life_domains
                    ],
                )
        else:
            _fill_case_fields(out.case_notice, n.case)
    return out


def _fill_case_fields(
    msg: feed_pb2.CaseNotice | feed_pb2.RegiehouderBriefing, notice: CaseNotice
) -> None:
    """The fields a case notice and a briefing share; codes by name (kind, status, outcome)."""
    msg.kind = feed_pb2.CaseNoticeKind.Value("CASE_NOTICE_KIND_" + notice.kind)
    msg.case_id = notice.case_id or b""
    if notice.status is not None:
        msg.status = feed_pb2.CaseStatus.Value("CASE_STATUS_" + notice.status)
    msg.signal_ids.extend(notice.signal_ids)
    msg.regiehouder_contact_point = notice.regiehouder_contact or ""
    if notice.deadline is not None:
        msg.deadline.CopyFrom(date_to_proto(notice.deadline))
    if notice.outcome is not None:
        msg.outcome = feed_pb2.CaseOutcome.Value("CASE_OUTCOME_" + notice.outcome)
