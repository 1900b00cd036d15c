"""The escalated cases a member of staff sees on the dashboard (pure), without identities.

Who sees which case is the operator interface's rule (hub.operator.views.may_see): a
procesregisseur the cases escalated to it (or beyond), a bestuurder those escalated to the
bestuurder, an operator every one. What a case shows of its life domains and kinds of partner
is what staff are shown of it there (hub.operator.views.detail): only disclosable senders.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from hub.audit import AuditAction, AuditDraft
from hub.judgement.deadlines import passed
from hub.judgement.model import CaseStatus, EscalationLevel, RegistryView
from hub.operator import views
from hub.staff import StaffMember
from hub.store.base import CaseRecord
from seinhuis.vocabulary import LifeDomain, PartnerType

#: The audit log's detail code for this page.
VIEW = "dashboard.escalations"


@dataclass(frozen=True)
class EscalatedCase:
    ref: str
    status: CaseStatus
    escalation: EscalationLevel
    #: The escalation rule's code (a policy rule name, or "staff").
    rule: str | None
    opened_on: dt.date
    escalated_on: dt.date | None
    escalation_deadline: dt.date | None
    deadline: dt.date | None
    life_domains: tuple[LifeDomain, ...]
    partner_types: tuple[PartnerType, ...]
    #: The escalation deadline has passed.
    overdue: bool


def escalated_view(
    member: StaffMember,
    records: Sequence[CaseRecord],
    registry: RegistryView,
    today: dt.date,
) -> tuple[list[EscalatedCase], AuditDraft]:
    """The open escalated cases the member may see, soonest escalation deadline first, and
    the audit entry for having seen them (whose data: their households and people)."""
    shown = [
        r
        for r in records
        if r.case.is_open
        and r.case.escalation > EscalationLevel.NONE
        and views.may_see(member.role, r.case)
    ]
    cases = []
    for record in shown:
        d = views.detail(record, registry)
        cases.append(
            EscalatedCase(
                ref=d.ref,
                status=d.status,
                escalation=d.escalation,
                rule=d.escalation_rule,
                opened_on=d.opened_on,
                escalated_on=d.escalated_on,
                escalation_deadline=d.escalation_deadline,
                deadline=d.deadline,
                life_domains=d.life_domains,
                partner_types=tuple(sorted({i.contact.partner_type for i in d.involved})),
                overdue=passed(d.escalation_deadline, today),
            )
        )
    cases.sort(
        key=lambda c: (c.escalation_deadline is None, c.escalation_deadline or dt.date.max, c.ref)
    )
    draft = AuditDraft(
        actor_id=member.id,
        actor_role=views.actor_role(member),
        action=AuditAction.VIEW_LIST,
        detail=AuditDraft.details(view=VIEW, shown=str(len(cases))),
        subjects=views.subjects_of(shown),
    )
    return cases, draft
