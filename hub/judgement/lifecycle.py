"""The case state machine, and when a case escalates (a pure function of the case and the day)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from hub.judgement.deadlines import passed, response_deadline
from hub.judgement.model import Case, CaseStatus, EscalationLevel, Outcome
from hub.judgement.policy import DeadlinePolicy
from seinhuis.errors import FailedPrecondition, PermissionDenied
from seinhuis.vocabulary import Urgency

S = CaseStatus

#: Allowed moves. Escalation is possible from every state but CLOSED; CLOSED is final.
TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    S.OPEN: frozenset({S.ASSIGNED, S.ESCALATED, S.CLOSED}),
    S.ASSIGNED: frozenset({S.ACKNOWLEDGED, S.OPEN, S.ESCALATED, S.CLOSED}),
    S.ACKNOWLEDGED: frozenset({S.IN_PROGRESS, S.OPEN, S.ESCALATED, S.CLOSED}),
    S.IN_PROGRESS: frozenset({S.ESCALATED, S.CLOSED}),
    S.ESCALATED: frozenset({S.ASSIGNED, S.ACKNOWLEDGED, S.IN_PROGRESS, S.ESCALATED, S.CLOSED}),
    S.CLOSED: frozenset(),
}

#: States in which the regiehouder has not yet acknowledged the case.
UNACKNOWLEDGED = frozenset({S.OPEN, S.ASSIGNED})


def _day(now: dt.date) -> dt.date:
    return now.date() if isinstance(now, dt.datetime) else now


def _check(case: Case, to: CaseStatus) -> None:
    if to not in TRANSITIONS[case.status]:
        raise FailedPrecondition(f"case {case.id}: cannot go from {case.status} to {to}")


def _move(case: Case, to: CaseStatus, **changes: object) -> Case:
    _check(case, to)
    return dataclasses.replace(case, status=to, **changes)  # type: ignore[arg-type]


def _require_regiehouder(case: Case, partner_id: str) -> None:
    if case.regiehouder != partner_id:
        raise PermissionDenied(f"case {case.id}: only its regiehouder may do this")


def urgency_of(case: Case) -> Urgency:
    return Urgency.HOOG if case.summary.urgent_signals else Urgency.NORMAAL


def assign(case: Case, partner_id: str, rule: str, today: dt.date, policy: DeadlinePolicy) -> Case:
    """Give the case a regiehouder, with a fresh response deadline from today."""
    if partner_id in case.declined_by:
        raise FailedPrecondition(f"case {case.id}: {partner_id} declined this case before")
    deadline = response_deadline(
        policy.calendar, dict(policy.response_days), _day(today), urgency_of(case)
    )
    return _move(case, S.ASSIGNED, regiehouder=partner_id, regie_rule=rule, deadline=deadline)


def acknowledge(case: Case, partner_id: str) -> Case:
    """The regiehouder takes the case on."""
    _check(case, S.ACKNOWLEDGED)
    _require_regiehouder(case, partner_id)
    return _move(case, S.ACKNOWLEDGED)


def start(case: Case, partner_id: str) -> Case:
    """The regiehouder has contacted the household and works on a plan."""
    _check(case, S.IN_PROGRESS)
    _require_regiehouder(case, partner_id)
    return _move(case, S.IN_PROGRESS)


def decline(case: Case, partner_id: str) -> Case:
    """The regiehouder hands the case back; it is unassigned (and escalates per policy)."""
    # Once a procesregisseur oversees the case, it goes back to them.
    to = S.ESCALATED if case.escalation else S.OPEN
    if case.status is S.IN_PROGRESS:
        raise FailedPrecondition(f"case {case.id}: cannot go from {case.status} to declined")
    _check(case, to)
    _require_regiehouder(case, partner_id)
    return _move(
        case,
        to,
        regiehouder=None,
        regie_rule=None,
        declined_by=case.declined_by | {partner_id},
    )


def reassign(
    case: Case, partner_id: str, rule: str, today: dt.date, policy: DeadlinePolicy
) -> Case:
    """Municipal staff hand an open case to another regiehouder, from any open state: it is
    assigned anew, with a fresh response deadline, and keeps its escalation level."""
    if not case.is_open:
        raise FailedPrecondition(f"case {case.id}: cannot go from {case.status} to {S.ASSIGNED}")
    if partner_id == case.regiehouder:
        raise FailedPrecondition(f"case {case.id}: {partner_id} is its regiehouder already")
    if partner_id in case.declined_by:
        raise FailedPrecondition(f"case {case.id}: {partner_id} declined this case before")
    deadline = response_deadline(
        policy.calendar, dict(policy.response_days), _day(today), urgency_of(case)
    )
    return dataclasses.replace(
        case, status=S.ASSIGNED, regiehouder=partner_id, regie_rule=rule, deadline=deadline
    )


def acknowledge_for_regiehouder(case: Case) -> Case:
    """Staff record that the regiehouder took the case on (after a call, say)."""
    if case.regiehouder is None:
        raise FailedPrecondition(f"case {case.id}: has no regiehouder to acknowledge it")
    return acknowledge(case, case.regiehouder)


def next_level(case: Case) -> EscalationLevel:
    """Where staff escalate a case to: to the procesregisseur when it does not lie there yet,
    and from the procesregisseur (status ESCALATED) on to the bestuurder."""
    if not case.is_open:
        raise FailedPrecondition(f"case {case.id}: cannot go from {case.status} to {S.ESCALATED}")
    if case.status is not S.ESCALATED:
        return max(case.escalation, EscalationLevel.PROCESREGISSEUR)
    if case.escalation >= EscalationLevel.BESTUURDER:
        raise FailedPrecondition(f"case {case.id}: already escalated to {case.escalation.name}")
    return EscalationLevel(case.escalation + 1)


def close(case: Case, outcome: Outcome, today: dt.date) -> Case:
    """End the case with an outcome code."""
    return _move(case, S.CLOSED, outcome=outcome, closed_on=_day(today))


def escalate(case: Case, to: EscalationLevel, today: dt.date, policy: DeadlinePolicy) -> Case:
    """Hand the case to the procesregisseur (or higher), who gets a deadline of their own."""
    if to <= case.escalation and case.status is S.ESCALATED:
        raise FailedPrecondition(f"case {case.id}: already escalated to {case.escalation.name}")
    day = _day(today)
    first = case.escalation is EscalationLevel.NONE
    return _move(
        case,
        S.ESCALATED,
        escalation=max(case.escalation, to),
        escalated_on=day if first else case.escalated_on,
        escalation_deadline=(
            policy.calendar.add_working_days(day, policy.procesregisseur_days)
            if first
            else case.escalation_deadline
        ),
    )


@dataclass(frozen=True)
class Escalation:
    """An escalation that is due: to which level, by which rule, and every rule that fired."""

    to: EscalationLevel
    rule: str
    fired: tuple[str, ...]


def escalation_facts(case: Case, now: dt.date) -> dict[str, int | bool]:
    """The case's facts plus the time-dependent flags the escalation rules test."""
    today = _day(now)
    facts = case.summary.as_mapping()
    facts["deadline_passed"] = case.status in UNACKNOWLEDGED and passed(case.deadline, today)
    facts["declined"] = (
        case.regiehouder is None and bool(case.declined_by) and case.status is not S.ESCALATED
    )
    facts["second_deadline_passed"] = (
        case.escalation >= EscalationLevel.PROCESREGISSEUR
        and case.status in UNACKNOWLEDGED | {S.ESCALATED}
        and passed(case.escalation_deadline, today)
    )
    return facts


def escalation_due(case: Case, now: dt.date, policy: DeadlinePolicy) -> Escalation | None:
    """Which escalation is due now, if any: the highest level any firing rule reaches above the
    case's current level (file order decides between rules of that level)."""
    if not case.is_open:
        return None
    facts = escalation_facts(case, now)
    fired = tuple(
        r.name for r in policy.escalation_rules if r.to > case.escalation and r.holds(facts)
    )
    if not fired:
        return None
    by_name = {r.name: r for r in policy.escalation_rules}
    top = max(by_name[name].to for name in fired)
    rule = next(name for name in fired if by_name[name].to is top)
    return Escalation(top, rule, fired)
