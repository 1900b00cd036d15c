"""What municipal staff do to a case (pure): acknowledge, reassign, escalate, close.

Each goes through the case life cycle (hub.judgement.lifecycle) and yields the judgement's own
Decision: the changed case, what changed, and who learns what, by the judgement's rules. A new
regiehouder gets its briefing; every involved partner (and the old and new regiehouder) learns
the new status, regiehouder or outcome as codes, never why; an escalation reaches its municipal
role as an escalation notice. Each also yields its audit entry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hub.audit import AuditAction, AuditDraft
from hub.judgement import lifecycle
from hub.judgement.assignment import Assignment
from hub.judgement.decision import (
    Action,
    AssignRegiehouder,
    CloseCase,
    Decision,
    Escalate,
    Transition,
)
from hub.judgement.model import Case, EscalationLevel, Outcome, RegistryView
from hub.judgement.notifications import (
    EscalationNotice,
    NoticeKind,
    Notification,
    escalation_notices,
    to_partners,
)
from hub.judgement.policy import Policies
from hub.operator import views
from hub.staff import StaffMember
from hub.store.base import CaseRecord
from seinhuis.errors import FailedPrecondition, NotFound

#: The rule recorded when staff name the regiehouder or escalate by hand.
STAFF_RULE = "staff"


@dataclass(frozen=True)
class AcknowledgeCase:
    """The regiehouder has taken the case on (staff record it)."""


@dataclass(frozen=True)
class ReassignCase:
    partner_id: str


@dataclass(frozen=True)
class EscalateCase:
    """To the procesregisseur, or from there on to the bestuurder."""


@dataclass(frozen=True)
class CloseWithOutcome:
    outcome: Outcome


StaffAct = AcknowledgeCase | ReassignCase | EscalateCase | CloseWithOutcome


@dataclass(frozen=True)
class StaffOutcome:
    """A staff action's Decision, and its audit entry."""

    decision: Decision
    audit: AuditDraft

    @property
    def escalations(self) -> tuple[EscalationNotice, ...]:
        return tuple(n for n in self.decision.notifications if isinstance(n, EscalationNotice))


def act(
    member: StaffMember,
    record: CaseRecord,
    action: StaffAct,
    registry: RegistryView,
    today: dt.date,
    policies: Policies,
) -> StaffOutcome:
    """Apply one staff action to a case the member may see; FailedPrecondition when the case's
    state does not allow it, PermissionDenied when the member may not see the case."""
    case = record.case
    views.require_sight(member, case)
    signals = views.counted(record)
    regie: Assignment | None = None
    actions: list[Action] = []
    escalated: tuple[EscalationNotice, ...] = ()
    detail: dict[str, str | None] = {"from_status": case.status.value}
    if isinstance(action, AcknowledgeCase):
        new = lifecycle.acknowledge_for_regiehouder(case)
        code = AuditAction.ACKNOWLEDGE
        kinds = _everyone(new, NoticeKind.CASE_UPDATED)
    elif isinstance(action, ReassignCase):
        _require_coordinator(action.partner_id, registry, case)
        new = lifecycle.reassign(case, action.partner_id, STAFF_RULE, today, policies.deadlines)
        regie = Assignment(action.partner_id, STAFF_RULE)
        actions.append(AssignRegiehouder(new.id, action.partner_id, STAFF_RULE, new.deadline))
        code = AuditAction.REASSIGN
        detail.update(regiehouder_before=case.regiehouder, regiehouder=action.partner_id)
        # The old regiehouder learns who coordinates now; the new one gets its briefing.
        kinds = _everyone(case, NoticeKind.CASE_UPDATED) | _everyone(new, NoticeKind.CASE_UPDATED)
        kinds[action.partner_id] = NoticeKind.REGIE_ASSIGNED
    elif isinstance(action, EscalateCase):
        new = lifecycle.escalate(case, lifecycle.next_level(case), today, policies.deadlines)
        # A case that lay with the procesregisseur's level already is handed to it again.
        since = (
            case.escalation
            if new.escalation > case.escalation
            else EscalationLevel(new.escalation - 1)
        )
        escalated = escalation_notices(new, signals, registry, since=since, rule=STAFF_RULE)
        actions.append(Escalate(new.id, new.escalation, STAFF_RULE, new.escalation_deadline))
        code = AuditAction.ESCALATE
        detail.update(level=new.escalation.name)
        kinds = _everyone(new, NoticeKind.CASE_UPDATED)
    else:
        new = lifecycle.close(case, action.outcome, today)
        actions.append(CloseCase(new.id, action.outcome, STAFF_RULE))
        code = AuditAction.CLOSE
        detail.update(outcome=action.outcome.value)
        kinds = _everyone(new, NoticeKind.CASE_CLOSED)
    actions.insert(0, Transition(case.id, case.status, new.status))
    detail.update(to_status=new.status.value)
    notices: tuple[Notification, ...] = to_partners(new, signals, registry, kinds) + escalated
    draft = AuditDraft(
        actor_id=member.id,
        actor_role=views.actor_role(member),
        action=code,
        case_ref=case.id,
        detail=AuditDraft.details(**detail),
        subjects=views.subjects_of([record]),
    )
    return StaffOutcome(Decision(None, new, regie, tuple(actions), notices), draft)


def _everyone(case: Case, kind: NoticeKind) -> dict[str, NoticeKind]:
    """Every involved partner and the regiehouder (who gets its briefing)."""
    kinds = dict.fromkeys(case.involved, kind)
    if case.regiehouder is not None:
        kinds[case.regiehouder] = kind
    return kinds


def _require_coordinator(partner_id: str, registry: RegistryView, case: Case) -> None:
    """Only a partner registered as able to coordinate, with room for one more case."""
    if registry.contact(partner_id) is None:
        raise NotFound(f"no partner {partner_id} is registered")
    coordinator = registry.coordinator(partner_id)
    if coordinator is None:
        raise FailedPrecondition(f"{partner_id} is not registered as able to coordinate")
    if not coordinator.has_room and case.regiehouder != partner_id:
        raise FailedPrecondition(
            f"{partner_id} coordinates {coordinator.open_cases} cases, its capacity "
            f"is {coordinator.capacity}"
        )
