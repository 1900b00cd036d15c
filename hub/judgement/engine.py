"""The judgement on one household, as a pure function: signals, case, registry -> Decision.

The store runs it under the household's lock; run again on its own result it decides nothing new.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hub.households import Household
from hub.judgement import lifecycle
from hub.judgement.assignment import Assignment, RegieInput, choose
from hub.judgement.deadlines import response_deadline
from hub.judgement.decision import (
    Acknowledge,
    Action,
    AddToOutreach,
    AssignBy,
    AssignRegiehouder,
    ChangeDeadline,
    Close,
    CloseCase,
    Decision,
    Decline,
    Escalate,
    Event,
    LeaveOutreach,
    OpenCase,
    ReviewCase,
    StartWork,
    Transition,
    UpdateCase,
)
from hub.judgement.matching import MatchOutcome, MatchResult, in_window, judge, suppress_duplicates
from hub.judgement.model import (
    ActiveSignal,
    Case,
    CaseStatus,
    CountedSignal,
    RegistryView,
)
from hub.judgement.notifications import (
    NoticeKind,
    Notification,
    PartnerNotice,
    escalation_notices,
    hidden_partners,
    own_ids,
    review_notice,
    to_partners,
)
from hub.judgement.policy import Policies
from seinhuis.errors import FailedPrecondition, InvalidArgument
from seinhuis.vocabulary import Urgency

#: The rule name recorded when a procesregisseur names the regiehouder by hand.
ASSIGNED_BY_PROCESREGISSEUR = "procesregisseur"


@dataclass(frozen=True)
class _Ctx:
    counted: tuple[CountedSignal, ...]
    registry: RegistryView
    today: dt.date
    policies: Policies
    preference: str | None


def evaluate(
    household: Household,
    signals: Sequence[ActiveSignal],
    existing_case: Case | None,
    registry_view: RegistryView,
    today: dt.date,
    *,
    policies: Policies,
    resident_preference: str | None = None,
    on_outreach: frozenset[bytes] = frozenset(),
) -> Decision:
    """Judge one household's active signals against its latest case (open or closed) on a day.

    `on_outreach` holds the ids already on the outreach list, so a re-run adds nothing twice.
    """
    _check(household, signals, existing_case)
    open_case = existing_case if existing_case is not None and existing_case.is_open else None
    counted = counting_signals(signals, existing_case, today, policies)
    match = judge(
        counted,
        policies.matching,
        policies.arrears_types,
        has_open_case=open_case is not None,
    )
    ctx = _Ctx(counted, registry_view, today, policies, resident_preference)
    if match.outcome is MatchOutcome.NO_CASE:
        return Decision(match, existing_case, None, (), ())
    if match.outcome is MatchOutcome.OUTREACH:
        actions, notices = _outreach(match.rule, ctx, on_outreach)
        return Decision(match, existing_case, None, actions, notices)
    if match.outcome is MatchOutcome.OPEN_CASE:
        return _open(household.key, match, ctx, on_outreach)
    assert open_case is not None
    if match.outcome is MatchOutcome.UPDATE_CASE:
        return _update(open_case, match, ctx, on_outreach)
    return _basis_lost(open_case, match, ctx, on_outreach)


def apply(
    event: Event,
    case: Case,
    signals: Sequence[ActiveSignal],
    registry_view: RegistryView,
    today: dt.date,
    *,
    policies: Policies,
    resident_preference: str | None = None,
) -> Decision:
    """A partner's or procesregisseur's event on an open case; invalid ones FailedPrecondition."""
    if not case.is_open:
        raise FailedPrecondition(f"case {case.id}: cannot go from {case.status} on")
    in_case = suppress_duplicates(s for s in signals if s.id in case.signal_ids and s.consent_ok)
    ctx = _Ctx(in_case, registry_view, today, policies, resident_preference)
    kinds: dict[str, NoticeKind] = {}
    actions: list[Action] = []
    notices: list[Notification] = []
    regie: Assignment | None = None
    if isinstance(event, Acknowledge):
        new = lifecycle.acknowledge(case, event.partner_id)
    elif isinstance(event, StartWork):
        new = lifecycle.start(case, event.partner_id)
    elif isinstance(event, Close):
        new = lifecycle.close(case, event.outcome, today)
        kinds = dict.fromkeys(case.involved | _regie_set(case), NoticeKind.CASE_CLOSED)
    elif isinstance(event, AssignBy):
        regie = Assignment(event.partner_id, ASSIGNED_BY_PROCESREGISSEUR)
        new = lifecycle.assign(
            case, event.partner_id, ASSIGNED_BY_PROCESREGISSEUR, today, policies.deadlines
        )
        kinds = _after_assignment(new)
    else:
        new = lifecycle.decline(case, event.partner_id)
    actions.append(Transition(case.id, case.status, new.status))
    if isinstance(event, AssignBy):
        actions.append(
            AssignRegiehouder(new.id, event.partner_id, ASSIGNED_BY_PROCESREGISSEUR, new.deadline)
        )
    if isinstance(event, Decline):
        new, escalated, esc_notices = _escalate_if_due(new, ctx)
        actions += escalated
        notices += esc_notices
        if not escalated and new.status is CaseStatus.OPEN:
            new, regie, assigned = _assign(new, ctx)
            actions += assigned
            if assigned:
                kinds = _after_assignment(new)
    return Decision(
        None,
        new,
        regie,
        tuple(actions),
        to_partners(new, in_case, registry_view, kinds) + tuple(notices),
    )


def counting_signals(
    signals: Iterable[ActiveSignal], existing_case: Case | None, today: dt.date, policies: Policies
) -> tuple[CountedSignal, ...]:
    """The signals that count, duplicates merged: consent must hold; a signal counts when it is
    in the open case or observed within the window, and never again once a closed case used it."""
    in_case = existing_case.signal_ids if existing_case is not None else frozenset()
    is_open = existing_case is not None and existing_case.is_open
    keep = []
    for s in sorted(signals, key=lambda s: (s.observed_on, s.id)):
        if not s.consent_ok:
            continue
        if s.id in in_case:
            if is_open:
                keep.append(s)
        elif in_window(s, today, policies.matching.window_days):
            keep.append(s)
    return suppress_duplicates(keep)


def case_ref(signal_ids: Iterable[bytes], opened_on: dt.date) -> str:
    """A case reference derived from the signals that opened it (deterministic, not reversible)."""
    h = hashlib.sha256(b"seinhuis/case-ref/v1\x00" + opened_on.isoformat().encode())
    for i in sorted(signal_ids):
        h.update(len(i).to_bytes(2, "big") + i)
    return "C-" + h.hexdigest()[:20]


def _check(household: Household, signals: Sequence[ActiveSignal], case: Case | None) -> None:
    if any(s.household != household.key for s in signals):
        raise InvalidArgument("a signal of another household", field="signals")
    if len({s.id for s in signals}) != len(signals):
        raise InvalidArgument("a signal id appears twice", field="signals")
    if case is not None and case.household != household.key:
        raise InvalidArgument("the case of another household", field="existing_case")


def _ids(counted: Iterable[CountedSignal]) -> frozenset[bytes]:
    return frozenset(i for c in counted for i in c.merged_ids)


def _regie_set(case: Case) -> frozenset[str]:
    return frozenset({case.regiehouder}) if case.regiehouder else frozenset()


def _with_signals(case: Case, ctx: _Ctx, match: MatchResult) -> Case:
    return dataclasses.replace(
        case,
        signal_ids=_ids(ctx.counted),
        involved=frozenset(c.signal.partner_id for c in ctx.counted),
        summary=match.facts,
        life_domains=frozenset(c.signal.life_domain for c in ctx.counted),
    )


def _after_assignment(case: Case) -> dict[str, NoticeKind]:
    """A new regiehouder: every involved partner learns who, the regiehouder gets its briefing."""
    kinds = dict.fromkeys(case.involved, NoticeKind.CASE_UPDATED)
    kinds.update(dict.fromkeys(_regie_set(case), NoticeKind.REGIE_ASSIGNED))
    return kinds


def _assign(case: Case, ctx: _Ctx) -> tuple[Case, Assignment, list[Action]]:
    """Choose a regiehouder for an unassigned case; without one, the deadline runs regardless."""
    regie = choose(
        ctx.policies.regie,
        ctx.registry,
        RegieInput(
            signals=ctx.counted,
            existing=case.regiehouder,
            preference=ctx.preference,
            declined_by=case.declined_by,
            hidden=hidden_partners(ctx.counted),
        ),
    )
    if regie.partner_id is None or regie.rule is None:
        deadline = response_deadline(
            ctx.policies.deadlines.calendar,
            dict(ctx.policies.deadlines.response_days),
            ctx.today,
            lifecycle.urgency_of(case),
        )
        return dataclasses.replace(case, deadline=case.deadline or deadline), regie, []
    case = lifecycle.assign(case, regie.partner_id, regie.rule, ctx.today, ctx.policies.deadlines)
    return case, regie, [AssignRegiehouder(case.id, regie.partner_id, regie.rule, case.deadline)]


def _escalate_if_due(case: Case, ctx: _Ctx) -> tuple[Case, list[Action], list[Notification]]:
    due = lifecycle.escalation_due(case, ctx.today, ctx.policies.deadlines)
    if due is None:
        return case, [], []
    escalated = lifecycle.escalate(case, due.to, ctx.today, ctx.policies.deadlines)
    notices = escalation_notices(
        escalated, ctx.counted, ctx.registry, since=case.escalation, rule=due.rule
    )
    action = Escalate(escalated.id, escalated.escalation, due.rule, escalated.escalation_deadline)
    return escalated, [action], list(notices)


def _leave_outreach(ids: frozenset[bytes], on_outreach: frozenset[bytes]) -> list[Action]:
    leaving = tuple(sorted(ids & on_outreach))
    return [LeaveOutreach(leaving)] if leaving else []


def _outreach(
    rule: str | None, ctx: _Ctx, on_outreach: frozenset[bytes]
) -> tuple[tuple[Action, ...], tuple[Notification, ...]]:
    assert rule is not None
    new = _ids(ctx.counted) - on_outreach
    if not new:
        return (), ()
    partners = sorted({c.signal.partner_id for c in ctx.counted if set(c.merged_ids) & new})
    notices = tuple(
        PartnerNotice(pid, NoticeKind.OUTREACH, None, own_ids(ctx.counted, pid)) for pid in partners
    )
    return (AddToOutreach(tuple(sorted(new)), rule),), notices


def _open(
    household: bytes, match: MatchResult, ctx: _Ctx, on_outreach: frozenset[bytes]
) -> Decision:
    assert match.rule is not None
    ids = _ids(ctx.counted)
    case = Case(
        id=case_ref(ids, ctx.today),
        household=household,
        status=CaseStatus.OPEN,
        opened_on=ctx.today,
        signal_ids=frozenset(),
        involved=frozenset(),
        summary=match.facts,
    )
    case = _with_signals(case, ctx, match)
    actions: list[Action] = [OpenCase(case.id, match.rule)]
    case, regie, assigned = _assign(case, ctx)
    actions += assigned
    case, escalated, esc_notices = _escalate_if_due(case, ctx)
    actions += escalated + _leave_outreach(ids, on_outreach)
    kinds = dict.fromkeys(case.involved, NoticeKind.CASE_OPENED)
    kinds.update(dict.fromkeys(_regie_set(case), NoticeKind.REGIE_ASSIGNED))
    notices = to_partners(case, ctx.counted, ctx.registry, kinds) + tuple(esc_notices)
    return Decision(match, case, regie, tuple(actions), notices)


def _update(case: Case, match: MatchResult, ctx: _Ctx, on_outreach: frozenset[bytes]) -> Decision:
    """New or departed signals on an open case: the regiehouder is kept, the deadline may
    tighten, and the case may escalate (now, or because time passed)."""
    updated = _with_signals(case, ctx, match)
    added = updated.signal_ids - case.signal_ids
    removed = case.signal_ids - updated.signal_ids
    actions: list[Action] = []
    kinds: dict[str, NoticeKind] = {}
    regie: Assignment | None = None
    if added or removed:
        actions.append(UpdateCase(case.id, tuple(sorted(added)), tuple(sorted(removed))))
        for c in ctx.counted:
            if set(c.merged_ids) & added:
                joined = c.signal.partner_id not in case.involved
                kinds[c.signal.partner_id] = (
                    NoticeKind.CASE_OPENED if joined else NoticeKind.CASE_UPDATED
                )
    if updated.regiehouder is None and updated.status is CaseStatus.OPEN:
        updated, regie, assigned = _assign(updated, ctx)
        actions += assigned
        if assigned:
            kinds.update(_after_assignment(updated))
    elif added and updated.regiehouder is not None:
        # The choice is reported; a running case is never moved by the engine, so a different
        # answer (a policy without keep_existing) is left to the procesregisseur.
        regie = choose(
            ctx.policies.regie,
            ctx.registry,
            RegieInput(ctx.counted, updated.regiehouder, ctx.preference, updated.declined_by),
        )
    updated, tightened = _tighten_deadline(case, updated, ctx)
    if tightened:
        actions += tightened
        kinds.update({p: kinds.get(p, NoticeKind.CASE_UPDATED) for p in updated.involved})
    updated, escalated, esc_notices = _escalate_if_due(updated, ctx)
    actions += escalated
    if actions and updated.regiehouder is not None:
        kinds.setdefault(updated.regiehouder, NoticeKind.CASE_UPDATED)
    actions += _leave_outreach(added, on_outreach)
    notices = to_partners(updated, ctx.counted, ctx.registry, kinds) + tuple(esc_notices)
    return Decision(match, updated, regie, tuple(actions), notices)


def _tighten_deadline(before: Case, case: Case, ctx: _Ctx) -> tuple[Case, list[Action]]:
    """A first urgent signal on an unacknowledged case brings its deadline forward."""
    if case.status not in lifecycle.UNACKNOWLEDGED or case.deadline is None:
        return case, []
    if before.summary.urgent_signals or not case.summary.urgent_signals:
        return case, []
    deadlines = ctx.policies.deadlines
    sooner = response_deadline(
        deadlines.calendar, dict(deadlines.response_days), ctx.today, Urgency.HOOG
    )
    if sooner >= case.deadline:
        return case, []
    return dataclasses.replace(case, deadline=sooner), [ChangeDeadline(case.id, sooner)]


def _basis_lost(
    case: Case, match: MatchResult, ctx: _Ctx, on_outreach: frozenset[bytes]
) -> Decision:
    """No case rule holds any more. Before anyone took the case on it is closed (and what is
    left may go to the outreach list); after, its regiehouder or procesregisseur decides."""
    rule = ctx.policies.matching.basis_lost
    updated = _with_signals(case, ctx, match)
    added = updated.signal_ids - case.signal_ids
    removed = case.signal_ids - updated.signal_ids
    if not added and not removed:
        # Already judged on these signals; only time can still escalate it.
        updated, escalated, esc_notices = _escalate_if_due(updated, ctx)
        notices = tuple(esc_notices)
        return Decision(match, updated, None, tuple(escalated), notices)
    actions: list[Action] = [UpdateCase(case.id, tuple(sorted(added)), tuple(sorted(removed)))]
    if case.status in rule.close_when_status:
        closed = lifecycle.close(updated, rule.outcome, ctx.today)
        actions.append(CloseCase(closed.id, rule.outcome, rule.name))
        kinds = dict.fromkeys(closed.involved | _regie_set(closed), NoticeKind.CASE_CLOSED)
        notices = to_partners(closed, ctx.counted, ctx.registry, kinds)
        outreach = [r.name for r in ctx.policies.matching.outreach_rules if r.name in match.fired]
        if outreach:
            more, outreach_notices = _outreach(outreach[0], ctx, on_outreach)
            actions += more
            notices += outreach_notices
        return Decision(match, closed, None, tuple(actions), notices)
    actions.append(ReviewCase(case.id, rule.name))
    review: tuple[Notification, ...]
    if updated.regiehouder is not None:
        kinds = {updated.regiehouder: NoticeKind.REVIEW}
        review = to_partners(updated, ctx.counted, ctx.registry, kinds)
    else:
        review = (review_notice(updated, ctx.counted, ctx.registry, rule=rule.name),)
    return Decision(match, updated, None, tuple(actions), review)
