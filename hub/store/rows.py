"""Domain objects <-> table rows for the SQL store (plain dicts in, mappings out)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import Any

from hub.audit import ActorRole, AuditAction, AuditEntry, Subject, SubjectKind
from hub.domain import (
    Arrears,
    CaseNotice,
    Death,
    InvolvedContact,
    Notification,
    NotificationKind,
    Parenthood,
    PopulationEvent,
    PopulationFact,
    ReceivedPopulationFact,
    ReceivedSignal,
    Relocation,
    Residence,
    Signal,
    StoredSignal,
)
from hub.judgement.model import Case, CaseStatus, EscalationLevel, Facts
from hub.judgement.model import Outcome as CaseOutcome
from hub.judgement.notifications import EscalationNotice
from seinhuis.vocabulary import (
    LegalBasis,
    LifeDomain,
    PartnerType,
    SignalType,
    Urgency,
    WithdrawReason,
)


def utc(value: dt.datetime) -> dt.datetime:
    """SQLite hands instants back without a zone; they were stored in UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _utc_or_none(value: dt.datetime | None) -> dt.datetime | None:
    return utc(value) if value is not None else None


def _blob(value: Any) -> bytes:
    # Some drivers (psycopg2) return memoryview for binary columns.
    return bytes(value)


def signal_row(item: ReceivedSignal) -> dict[str, Any]:
    s = item.signal
    a = s.arrears
    return {
        "id": item.id,
        "partner_id": item.partner_id,
        "partner_type": item.partner_type.value,
        "signal_type": s.signal_type.value,
        "life_domain": s.life_domain.value,
        "urgency": s.urgency.value,
        "legal_basis": s.legal_basis.value,
        "observed_on": s.observed_on,
        "keep_until": s.keep_until,
        "person_pseudonym": s.person_pseudonym,
        "address_pseudonym": s.address_pseudonym,
        "key_version": s.key_version,
        "arrears_amount_cents": a.amount_cents if a else None,
        "arrears_months": a.months_in_arrears if a else None,
        "arrears_contact_attempted": a.contact_attempted if a else None,
        "arrears_written_reminder_sent": a.written_reminder_sent if a else None,
        "received_at": item.received_at.astimezone(dt.UTC),
        "withdrawn_at": None,
        "withdraw_reason": None,
        "consent_receipt_id": item.consent_receipt_id,
        "consent_until": _utc_or_none(item.consent_until),
        "consent_lost_at": None,
    }


def stored_signal(r: Mapping[Any, Any]) -> StoredSignal:
    arrears = None
    if r["arrears_amount_cents"] is not None:
        arrears = Arrears(
            amount_cents=r["arrears_amount_cents"],
            months_in_arrears=r["arrears_months"],
            contact_attempted=bool(r["arrears_contact_attempted"]),
            written_reminder_sent=bool(r["arrears_written_reminder_sent"]),
        )
    person = r["person_pseudonym"]
    signal = Signal(
        signal_type=SignalType(r["signal_type"]),
        life_domain=LifeDomain(r["life_domain"]),
        urgency=Urgency(r["urgency"]),
        legal_basis=LegalBasis(r["legal_basis"]),
        observed_on=r["observed_on"],
        keep_until=r["keep_until"],
        person_pseudonym=_blob(person) if person is not None else None,
        address_pseudonym=_blob(r["address_pseudonym"]),
        key_version=r["key_version"],
        arrears=arrears,
    )
    reason = r["withdraw_reason"]
    return StoredSignal(
        received=ReceivedSignal(
            id=_blob(r["id"]),
            partner_id=r["partner_id"],
            partner_type=PartnerType(r["partner_type"]),
            received_at=utc(r["received_at"]),
            signal=signal,
            # .get: a query that selects fewer columns still reads (these are issue 5's).
            consent_receipt_id=_blob(receipt) if (receipt := r.get("consent_receipt_id")) else None,
            consent_until=_utc_or_none(r.get("consent_until")),
        ),
        withdrawn_at=_utc_or_none(r["withdrawn_at"]),
        withdraw_reason=WithdrawReason(reason) if reason is not None else None,
        consent_lost_at=_utc_or_none(r.get("consent_lost_at")),
    )


def fact_row(item: ReceivedPopulationFact) -> dict[str, Any]:
    e = item.fact.event
    subject: bytes
    obj: bytes | None
    on: dt.date | None
    if isinstance(e, Residence):
        subject, obj, on = e.person_pseudonym, e.address_pseudonym, e.since
    elif isinstance(e, Parenthood):
        subject, obj, on = e.parent_pseudonym, e.child_pseudonym, None
    elif isinstance(e, Relocation):
        subject, obj, on = e.person_pseudonym, e.to_address_pseudonym, e.on
    else:
        subject, obj, on = e.person_pseudonym, None, e.on
    return {
        "id": item.id,
        "partner_id": item.partner_id,
        "received_at": item.received_at.astimezone(dt.UTC),
        "key_version": item.fact.key_version,
        "event_kind": type(e).__name__.upper(),
        "subject_pseudonym": subject,
        "object_pseudonym": obj,
        "on_date": on,
    }


def population_fact(r: Mapping[Any, Any]) -> ReceivedPopulationFact:
    kind, subject, on = r["event_kind"], _blob(r["subject_pseudonym"]), r["on_date"]
    obj = _blob(r["object_pseudonym"]) if r["object_pseudonym"] is not None else b""
    event: Residence | Parenthood | Relocation | Death
    if kind == "RESIDENCE":
        event = Residence(person_pseudonym=subject, address_pseudonym=obj, since=on)
    elif kind == "PARENTHOOD":
        event = Parenthood(parent_pseudonym=subject, child_pseudonym=obj)
    elif kind == "RELOCATION":
        event = Relocation(person_pseudonym=subject, to_address_pseudonym=obj, on=on)
    elif kind == "DEATH":
        event = Death(person_pseudonym=subject, on=on)
    else:
        raise ValueError(f"unknown population event kind {kind!r} in the database")
    return ReceivedPopulationFact(
        id=_blob(r["id"]),
        partner_id=r["partner_id"],
        received_at=utc(r["received_at"]),
        fact=PopulationFact(key_version=r["key_version"], event=event),
    )


def notification_row(n: Notification) -> dict[str, Any]:
    return {
        "partner_id": n.partner_id,
        "cursor": n.cursor,
        "created_at": n.created_at.astimezone(dt.UTC),
        "kind": n.kind.value,
        "ref_id": n.ref_id,
        "reason": n.reason.value if n.reason is not None else None,
        "payload": notice_json(n.case) if n.case is not None else None,
    }


def notification(r: Mapping[Any, Any]) -> Notification:
    return Notification(
        partner_id=r["partner_id"],
        cursor=int(r["cursor"]),
        created_at=utc(r["created_at"]),
        kind=NotificationKind(r["kind"]),
        ref_id=_blob(r["ref_id"]),
        reason=WithdrawReason(r["reason"]) if r["reason"] is not None else None,
        case=notice_from_json(r["payload"]) if r["payload"] is not None else None,
    )


def notice_json(n: CaseNotice) -> str:
    return json.dumps(
        {
            "kind": n.kind,
            "case_id": n.case_id.hex() if n.case_id is not None else None,
            "status": n.status,
            "signal_ids": [i.hex() for i in n.signal_ids],
            "regiehouder_contact": n.regiehouder_contact,
            "deadline": n.deadline.isoformat() if n.deadline is not None else None,
            "outcome": n.outcome,
            "involved": [
                {
                    "partner_type": i.partner_type.value,
                    "contact_point": i.contact_point,
                    "life_domains": [d.value for d in i.life_domains],
                }
                for i in n.involved
            ],
        },
        sort_keys=True,
    )


def notice_from_json(text: str) -> CaseNotice:
    d = json.loads(text)
    return CaseNotice(
        kind=d["kind"],
        case_id=bytes.fromhex(d["case_id"]) if d["case_id"] is not None else None,
        status=d["status"],
        signal_ids=tuple(bytes.fromhex(i) for i in d["signal_ids"]),
        regiehouder_contact=d["regiehouder_contact"],
        deadline=dt.date.fromisoformat(d["deadline"]) if d["deadline"] else None,
        outcome=d["outcome"],
        involved=tuple(
            InvolvedContact(
                partner_type=PartnerType(i["partner_type"]),
                contact_point=i["contact_point"],
                life_domains=tuple(LifeDomain(x) for x in i["life_domains"]),
            )
            for i in d["involved"]
        ),
    )


def case_row(
    case: Case, case_id: bytes, seq: int, opened_at: dt.datetime, updated_at: dt.datetime
) -> dict[str, Any]:
    detail = {
        "summary": case.summary.as_mapping(),
        "involved": sorted(case.involved),
        "life_domains": sorted(d.value for d in case.life_domains),
        "declined_by": sorted(case.declined_by),
    }
    return {
        "id": case_id,
        "ref": case.id,
        "household": case.household,
        "seq": seq,
        "status": case.status.value,
        "regiehouder": case.regiehouder,
        "regie_rule": case.regie_rule,
        "opened_on": case.opened_on,
        "deadline": case.deadline,
        "escalation": int(case.escalation),
        "escalated_on": case.escalated_on,
        "escalation_deadline": case.escalation_deadline,
        "outcome": case.outcome.value if case.outcome is not None else None,
        "closed_on": case.closed_on,
        "opened_at": opened_at.astimezone(dt.UTC),
        "updated_at": updated_at.astimezone(dt.UTC),
        "detail": json.dumps(detail, sort_keys=True),
    }


def case_from_row(r: Mapping[Any, Any], signal_ids: frozenset[bytes]) -> Case:
    detail = json.loads(r["detail"])
    return Case(
        id=r["ref"],
        household=_blob(r["household"]),
        status=CaseStatus(r["status"]),
        opened_on=r["opened_on"],
        signal_ids=signal_ids,
        involved=frozenset(detail["involved"]),
        summary=Facts(**detail["summary"]),
        life_domains=frozenset(LifeDomain(d) for d in detail["life_domains"]),
        regiehouder=r["regiehouder"],
        regie_rule=r["regie_rule"],
        deadline=r["deadline"],
        escalation=EscalationLevel(r["escalation"]),
        escalated_on=r["escalated_on"],
        escalation_deadline=r["escalation_deadline"],
        declined_by=frozenset(detail["declined_by"]),
        outcome=CaseOutcome(r["outcome"]) if r["outcome"] is not None else None,
        closed_on=r["closed_on"],
    )


def audit_row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": entry.at.astimezone(dt.UTC),
        "actor_id": entry.actor_id,
        "actor_role": entry.actor_role.value,
        "action": entry.action.value,
        "case_ref": entry.case_ref,
        "detail": json.dumps([list(pair) for pair in entry.detail]),
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def audit_subject_rows(entry: AuditEntry) -> list[dict[str, Any]]:
    return [
        {"seq": entry.seq, "kind": s.kind.value, "pseudonym": s.pseudonym}
        for s in sorted(entry.subjects)
    ]


def audit_entry(r: Mapping[Any, Any], subjects: frozenset[Subject]) -> AuditEntry:
    return AuditEntry(
        seq=int(r["seq"]),
        at=utc(r["at"]),
        actor_id=r["actor_id"],
        actor_role=ActorRole(r["actor_role"]),
        action=AuditAction(r["action"]),
        case_ref=r["case_ref"],
        detail=tuple((str(k), str(v)) for k, v in json.loads(r["detail"])),
        subjects=subjects,
        prev_hash=_blob(r["prev_hash"]),
        hash=_blob(r["hash"]),
    )


def audit_subject(r: Mapping[Any, Any]) -> Subject:
    return Subject(SubjectKind(r["kind"]), _blob(r["pseudonym"]))


def escalation_row(n: EscalationNotice, case_id: bytes, at: dt.datetime) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "case_ref": n.case_id,
        "role": n.role.value,
        "kind": n.kind.value,
        "level": int(n.level),
        "rule": n.rule,
        "deadline": n.deadline,
        "created_at": at.astimezone(dt.UTC),
    }


def rekey_event(e: PopulationEvent, rekey: Callable[[str, bytes], bytes]) -> PopulationEvent:
    """The same population event with every pseudonym re-keyed."""
    if isinstance(e, Residence):
        return Residence(
            rekey("PERSON", e.person_pseudonym), rekey("ADDRESS", e.address_pseudonym), e.since
        )
    if isinstance(e, Parenthood):
        return Parenthood(rekey("PERSON", e.parent_pseudonym), rekey("PERSON", e.child_pseudonym))
    if isinstance(e, Relocation):
        return Relocation(
            rekey("PERSON", e.person_pseudonym), rekey("ADDRESS", e.to_address_pseudonym), e.on
        )
    return Death(rekey("PERSON", e.person_pseudonym), e.on)
