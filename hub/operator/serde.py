"""Proto <-> operator desk: case listings and details, audit answers (codes by name)."""

from __future__ import annotations

import datetime as dt

from hub.audit import Look, Verification
from hub.judgement.model import CaseStatus, Outcome
from hub.operator.views import CaseDetail, CaseLine
from seinhuis.serde import date_to_proto, enum_from_proto, enum_to_proto
from seinhuis.v1 import feed_pb2, operator_pb2, vocabulary_pb2


def status_from_proto(number: int) -> CaseStatus | None:
    """A listing's status filter; unspecified means every status."""
    if number == feed_pb2.CASE_STATUS_UNSPECIFIED:
        return None
    return enum_from_proto(number, CaseStatus, feed_pb2.CaseStatus, "status")


def outcome_from_proto(number: int) -> Outcome:
    return enum_from_proto(number, Outcome, feed_pb2.CaseOutcome, "outcome")


def summary_to_proto(c: CaseLine) -> operator_pb2.CaseSummary:
    msg = operator_pb2.CaseSummary(
        case_ref=c.ref,
        status=enum_to_proto(c.status, feed_pb2.CaseStatus),
        regiehouder_id=c.regiehouder or "",
        escalation_level=enum_to_proto(c.escalation, operator_pb2.EscalationLevel),
        escalation_rule=c.escalation_rule or "",
        opened_on=date_to_proto(c.opened_on),
    )
    _date(msg.deadline, c.deadline)
    _date(msg.escalation_deadline, c.escalation_deadline)
    if c.outcome is not None:
        msg.outcome = enum_to_proto(c.outcome, feed_pb2.CaseOutcome)
    return msg


def detail_to_proto(c: CaseDetail) -> operator_pb2.CaseDetail:
    msg = operator_pb2.CaseDetail(
        case_ref=c.ref,
        status=enum_to_proto(c.status, feed_pb2.CaseStatus),
        regiehouder_id=c.regiehouder or "",
        regiehouder_contact_point=c.regiehouder_contact or "",
        regie_rule=c.regie_rule or "",
        life_domains=[enum_to_proto(d, vocabulary_pb2.LifeDomain) for d in c.life_domains],
        opened_on=date_to_proto(c.opened_on),
        escalation_level=enum_to_proto(c.escalation, operator_pb2.EscalationLevel),
        escalation_rule=c.escalation_rule or "",
    )
    for i in c.involved:
        msg.involved.add(
            partner_id=i.contact.partner_id,
            partner_type=enum_to_proto(i.contact.partner_type, vocabulary_pb2.PartnerType),
            contact_point=i.contact.contact or "",
            life_domains=[enum_to_proto(d, vocabulary_pb2.LifeDomain) for d in i.life_domains],
        )
    _date(msg.deadline, c.deadline)
    _date(msg.escalated_on, c.escalated_on)
    _date(msg.escalation_deadline, c.escalation_deadline)
    _date(msg.closed_on, c.closed_on)
    if c.outcome is not None:
        msg.outcome = enum_to_proto(c.outcome, feed_pb2.CaseOutcome)
    return msg


def verification_to_proto(v: Verification) -> operator_pb2.VerifyAuditResponse:
    msg = operator_pb2.VerifyAuditResponse(
        intact=v.intact, entries=v.entries, first_broken_seq=v.first_broken or 0
    )
    if v.problem is not None:
        msg.problem = enum_to_proto(v.problem, operator_pb2.AuditProblem)
    return msg


def look_to_proto(look: Look) -> operator_pb2.Look:
    msg = operator_pb2.Look(
        seq=look.seq,
        actor_role=enum_to_proto(look.actor_role, operator_pb2.ActorRole),
        action=enum_to_proto(look.action, operator_pb2.AuditAction),
    )
    msg.at.FromDatetime(look.at)
    return msg


# The client side (the `seinhuis operator` command) reads answers back as JSON-ready values,
# codes by name.


def _name(pb_enum: object, number: int, prefix: str) -> str | None:
    if number == 0:
        return None
    name: str = pb_enum.Name(number)  # type: ignore[attr-defined]
    return name.removeprefix(prefix)


def _iso(msg: vocabulary_pb2.Date, present: bool) -> str | None:
    return dt.date(msg.year, msg.month, msg.day).isoformat() if present else None


def summary_from_proto(msg: operator_pb2.CaseSummary) -> dict[str, object]:
    return {
        "case": msg.case_ref,
        "status": _name(feed_pb2.CaseStatus, msg.status, "CASE_STATUS_"),
        "regiehouder": msg.regiehouder_id or None,
        "deadline": _iso(msg.deadline, msg.HasField("deadline")),
        "escalation": _name(
            operator_pb2.EscalationLevel, msg.escalation_level, "ESCALATION_LEVEL_"
        ),
        "escalation_rule": msg.escalation_rule or None,
        "escalation_deadline": _iso(msg.escalation_deadline, msg.HasField("escalation_deadline")),
        "outcome": _name(feed_pb2.CaseOutcome, msg.outcome, "CASE_OUTCOME_"),
        "opened_on": _iso(msg.opened_on, msg.HasField("opened_on")),
    }


def detail_from_proto(msg: operator_pb2.CaseDetail) -> dict[str, object]:
    return {
        "case": msg.case_ref,
        "status": _name(feed_pb2.CaseStatus, msg.status, "CASE_STATUS_"),
        "regiehouder": msg.regiehouder_id or None,
        "regiehouder_contact_point": msg.regiehouder_contact_point or None,
        "regie_rule": msg.regie_rule or None,
        "involved": [
            {
                "partner": i.partner_id,
                "partner_type": _name(vocabulary_pb2.PartnerType, i.partner_type, "PARTNER_TYPE_"),
                "contact_point": i.contact_point or None,
                "life_domains": [
                    _name(vocabulary_pb2.LifeDomain, d, "LIFE_DOMAIN_") for d in i.life_domains
                ],
            }
            for i in msg.involved
        ],
        "life_domains": [
            _name(vocabulary_pb2.LifeDomain, d, "LIFE_DOMAIN_") for d in msg.life_domains
        ],
        "opened_on": _iso(msg.opened_on, msg.HasField("opened_on")),
        "deadline": _iso(msg.deadline, msg.HasField("deadline")),
        "escalation": _name(
            operator_pb2.EscalationLevel, msg.escalation_level, "ESCALATION_LEVEL_"
        ),
        "escalation_rule": msg.escalation_rule or None,
        "escalated_on": _iso(msg.escalated_on, msg.HasField("escalated_on")),
        "escalation_deadline": _iso(msg.escalation_deadline, msg.HasField("escalation_deadline")),
        "outcome": _name(feed_pb2.CaseOutcome, msg.outcome, "CASE_OUTCOME_"),
        "closed_on": _iso(msg.closed_on, msg.HasField("closed_on")),
    }


def look_from_proto(msg: operator_pb2.Look) -> dict[str, object]:
    return {
        "seq": msg.seq,
        "at": msg.at.ToDatetime(dt.UTC).isoformat(),
        "role": _name(operator_pb2.ActorRole, msg.actor_role, "ACTOR_ROLE_"),
        "action": _name(operator_pb2.AuditAction, msg.action, "AUDIT_ACTION_"),
    }


def verification_from_proto(msg: operator_pb2.VerifyAuditResponse) -> dict[str, object]:
    return {
        "intact": msg.intact,
        "entries": msg.entries,
        "first_broken": msg.first_broken_seq if not msg.intact else None,
        "problem": _name(operator_pb2.AuditProblem, msg.problem, "AUDIT_PROBLEM_"),
    }


def verification_to_dict(v: Verification) -> dict[str, object]:
    """The same answer straight from the database (`seinhuis hub audit verify`)."""
    return {
        "intact": v.intact,
        "entries": v.entries,
        "first_broken": v.first_broken,
        "problem": v.problem.name if v.problem is not None else None,
    }


def _date(target: vocabulary_pb2.Date, value: dt.date | None) -> None:
    if value is not None:
        target.CopyFrom(date_to_proto(value))
