"""What municipal staff may see of cases (pure): who sees which case, and each case without
identities. The disclosure rules are the judgement's (hub.judgement.notifications): a partner
whose involvement the resident has not allowed to be disclosed (a GP's, for instance) is never
shown, nor the life domains only its signals bring.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hub import audit
from hub.audit import ActorRole, AuditAction, AuditDraft, Subject
from hub.judge import active_signal
from hub.judgement.matching import suppress_duplicates
from hub.judgement.model import (
    Case,
    CaseStatus,
    CountedSignal,
    EscalationLevel,
    Outcome,
    RegistryView,
)
from hub.judgement.notifications import InvolvedPartner, disclosable, involved_view
from hub.staff import StaffMember, StaffRole
from hub.store.base import CaseRecord
from seinhuis.errors import PermissionDenied
from seinhuis.vocabulary import LifeDomain

#: The lowest escalation level at which each role sees a case.
_SEES_FROM: dict[StaffRole, EscalationLevel] = {
    StaffRole.OPERATOR: EscalationLevel.NONE,
    StaffRole.PROCESREGISSEUR: EscalationLevel.PROCESREGISSEUR,
    StaffRole.BESTUURDER: EscalationLevel.BESTUURDER,
}


def may_see(role: StaffRole, case: Case) -> bool:
    """An operator sees every case; a procesregisseur those escalated to it (or beyond, and
    still after it named a new regiehouder); a bestuurder those escalated to the bestuurder."""
    return case.escalation >= _SEES_FROM[role]


def require_sight(member: StaffMember, case: Case) -> None:
    if not may_see(member.role, case):
        raise PermissionDenied(
            f"case {case.id}: a {member.role.value.lower()} sees only cases escalated to them"
        )


def actor_role(member: StaffMember) -> ActorRole:
    return ActorRole(member.role.value)


@dataclass(frozen=True)
class CaseLine:
    """One case in a listing."""

    ref: str
    status: CaseStatus
    regiehouder: str | None
    deadline: dt.date | None
    escalation: EscalationLevel
    escalation_rule: str | None
    escalation_deadline: dt.date | None
    outcome: Outcome | None
    opened_on: dt.date


@dataclass(frozen=True)
class CaseDetail:
    """One case in full, without identities."""

    ref: str
    status: CaseStatus
    regiehouder: str | None
    #: The regiehouder's contact point as registered; None when it has none.
    regiehouder_contact: str | None
    regie_rule: str | None
    involved: tuple[InvolvedPartner, ...]
    life_domains: tuple[LifeDomain, ...]
    opened_on: dt.date
    deadline: dt.date | None
    escalation: EscalationLevel
    escalation_rule: str | None
    escalated_on: dt.date | None
    escalation_deadline: dt.date | None
    outcome: Outcome | None
    closed_on: dt.date | None


def counted(record: CaseRecord) -> tuple[CountedSignal, ...]:
    """The case's signals as they count (consent holding, duplicates merged)."""
    case = record.case
    active = (active_signal(s, case.household) for s in record.signals)
    return suppress_duplicates(s for s in active if s.id in case.signal_ids and s.consent_ok)


def line(record: CaseRecord) -> CaseLine:
    c = record.case
    return CaseLine(
        ref=c.id,
        status=c.status,
        regiehouder=c.regiehouder,
        deadline=c.deadline,
        escalation=c.escalation,
        escalation_rule=record.escalation_rule,
        escalation_deadline=c.escalation_deadline,
        outcome=c.outcome,
        opened_on=c.opened_on,
    )


def detail(record: CaseRecord, registry: RegistryView) -> CaseDetail:
    c = record.case
    signals = counted(record)
    involved = involved_view(signals, registry, leave_out=None)
    domains = sorted({s.signal.life_domain for s in signals if disclosable(s)})
    contact = registry.contact(c.regiehouder) if c.regiehouder is not None else None
    return CaseDetail(
        ref=c.id,
        status=c.status,
        regiehouder=c.regiehouder,
        regiehouder_contact=contact.contact if contact is not None else None,
        regie_rule=c.regie_rule,
        involved=involved,
        life_domains=tuple(domains),
        opened_on=c.opened_on,
        deadline=c.deadline,
        escalation=c.escalation,
        escalation_rule=record.escalation_rule,
        escalated_on=c.escalated_on,
        escalation_deadline=c.escalation_deadline,
        outcome=c.outcome,
        closed_on=c.closed_on,
    )


def order(lines: Iterable[CaseLine]) -> list[CaseLine]:
    """Not closed first, then by deadline (none last), then by reference."""
    return sorted(
        lines,
        key=lambda c: (
            c.status is CaseStatus.CLOSED,
            c.deadline is None,
            c.deadline or dt.date.max,
            c.ref,
        ),
    )


def subjects_of(records: Iterable[CaseRecord]) -> frozenset[Subject]:
    """Whose data these cases hold: their households and the people their signals concern."""
    out: set[Subject] = set()
    for r in records:
        persons = {
            s.received.signal.person_pseudonym
            for s in r.signals
            if s.received.signal.person_pseudonym is not None
        }
        out |= audit.household_subjects(r.case.household, persons)
    return frozenset(out)


def list_view(
    member: StaffMember, records: Sequence[CaseRecord], status: CaseStatus | None
) -> tuple[list[CaseLine], AuditDraft]:
    """The cases the member may see (in one status, if given), and the audit entry for it."""
    shown = [
        r
        for r in records
        if may_see(member.role, r.case) and (status is None or r.case.status is status)
    ]
    draft = AuditDraft(
        actor_id=member.id,
        actor_role=actor_role(member),
        action=AuditAction.VIEW_LIST,
        detail=AuditDraft.details(
            status=status.value if status is not None else None, shown=str(len(shown))
        ),
        subjects=subjects_of(shown),
    )
    return order(line(r) for r in shown), draft


def case_view_draft(member: StaffMember, record: CaseRecord) -> AuditDraft:
    return AuditDraft(
        actor_id=member.id,
        actor_role=actor_role(member),
        action=AuditAction.VIEW_CASE,
        case_ref=record.case.id,
        subjects=subjects_of([record]),
    )
