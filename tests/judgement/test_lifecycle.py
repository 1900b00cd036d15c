"""The case state machine: allowed moves, refusals naming the states, escalation from anywhere."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from hub.judgement import lifecycle
from hub.judgement.model import Case, CaseStatus, EscalationLevel, Facts, Outcome
from seinhuis.errors import FailedPrecondition, PermissionDenied
from tests.judgement.builders import HOME, POLICIES

DAY = dt.date(2026, 3, 2)  # a Monday
S = CaseStatus


def a_case(status: CaseStatus = S.OPEN, **changes: object) -> Case:
    case = Case(
        id="C-1",
        household=HOME,
        status=S.OPEN,
        opened_on=DAY,
        signal_ids=frozenset({b"s1", b"s2"}),
        involved=frozenset({"school-a", "woco"}),
        summary=Facts(signals=2, partners=2, life_domains=2, members_with_signals=1),
    )
    if status is S.CLOSED:
        changes |= {"outcome": Outcome.HELPED, "closed_on": DAY}
    if status is not S.OPEN:
        changes.setdefault("regiehouder", "school-a")
    return dataclasses.replace(case, status=status, **changes)  # type: ignore[arg-type]


def test_the_happy_path_runs_from_open_to_closed() -> None:
    """open -> assigned -> acknowledged -> in_progress -> closed(helped)."""
    case = lifecycle.assign(a_case(), "school-a", "domain_weight", DAY, POLICIES.deadlines)
    assert (case.status, case.deadline) == (S.ASSIGNED, dt.date(2026, 3, 9))
    case = lifecycle.acknowledge(case, "school-a")
    case = lifecycle.start(case, "school-a")
    case = lifecycle.close(case, Outcome.HELPED, DAY)
    assert (case.status, case.outcome, case.closed_on) == (S.CLOSED, Outcome.HELPED, DAY)


@pytest.mark.parametrize(
    ("status", "move"),
    [
        (S.OPEN, lambda c: lifecycle.acknowledge(c, "school-a")),
        (S.ASSIGNED, lambda c: lifecycle.start(c, "school-a")),
        (S.IN_PROGRESS, lambda c: lifecycle.acknowledge(c, "school-a")),
        (S.IN_PROGRESS, lambda c: lifecycle.decline(c, "school-a")),
        (S.CLOSED, lambda c: lifecycle.start(c, "school-a")),
        (S.CLOSED, lambda c: lifecycle.close(c, Outcome.MOVED, DAY)),
        (S.ACKNOWLEDGED, lambda c: lifecycle.assign(c, "woco", "x", DAY, POLICIES.deadlines)),
    ],
    ids=[
        "open-ack",
        "assigned-start",
        "progress-ack",
        "progress-decline",
        "closed-start",
        "closed-close",
        "acknowledged-assign",
    ],
)
def test_an_invalid_transition_raises_failed_precondition_naming_the_states(
    status: CaseStatus, move: object
) -> None:
    """A move the state machine does not allow is refused, and the message names the states."""
    case = a_case(status, regiehouder="school-a" if status is not S.OPEN else None)
    with pytest.raises(FailedPrecondition) as caught:
        move(case)  # type: ignore[operator]
    assert str(status) in str(caught.value)


def test_only_the_regiehouder_acknowledges_starts_or_declines() -> None:
    """Another partner cannot acknowledge, start or decline the case."""
    with pytest.raises(PermissionDenied):
        lifecycle.acknowledge(a_case(S.ASSIGNED), "woco")
    with pytest.raises(PermissionDenied):
        lifecycle.start(a_case(S.ACKNOWLEDGED), "woco")
    with pytest.raises(PermissionDenied):
        lifecycle.decline(a_case(S.ASSIGNED), "woco")


@pytest.mark.parametrize("status", [s for s in CaseStatus if s is not S.CLOSED])
def test_every_non_closed_state_can_escalate(status: CaseStatus) -> None:
    """Escalation is possible from every state but closed, and sets the procesregisseur's own
    deadline."""
    case = lifecycle.escalate(
        a_case(status), EscalationLevel.PROCESREGISSEUR, DAY, POLICIES.deadlines
    )
    assert (case.status, case.escalation) == (S.ESCALATED, EscalationLevel.PROCESREGISSEUR)
    assert (case.escalated_on, case.escalation_deadline) == (DAY, dt.date(2026, 3, 9))


def test_a_closed_case_never_escalates() -> None:
    """Closed is final: no escalation is due and none can be forced."""
    case = a_case(S.CLOSED, deadline=DAY, summary=Facts(life_domains=5))
    assert lifecycle.escalation_due(case, DAY + dt.timedelta(days=30), POLICIES.deadlines) is None
    with pytest.raises(FailedPrecondition, match="CLOSED"):
        lifecycle.escalate(case, EscalationLevel.PROCESREGISSEUR, DAY, POLICIES.deadlines)


def test_escalation_due_is_a_function_of_case_and_time() -> None:
    """The same case is not due on its deadline, and due the day after, at any time of day."""
    case = a_case(S.ASSIGNED, deadline=dt.date(2026, 3, 9))
    assert (
        lifecycle.escalation_due(case, dt.datetime(2026, 3, 9, 23, 59), POLICIES.deadlines) is None
    )
    due = lifecycle.escalation_due(case, dt.datetime(2026, 3, 10, 0, 1), POLICIES.deadlines)
    assert due is not None and (due.to, due.rule) == (
        EscalationLevel.PROCESREGISSEUR,
        "deadline_passed",
    )


def test_a_decline_unassigns_and_remembers_who_declined() -> None:
    """After a decline the case has no regiehouder, and the decliner is not assigned again."""
    case = lifecycle.decline(a_case(S.ASSIGNED), "school-a")
    assert (case.status, case.regiehouder, case.declined_by) == (
        S.OPEN,
        None,
        frozenset({"school-a"}),
    )
    with pytest.raises(FailedPrecondition, match="declined"):
        lifecycle.assign(case, "school-a", "domain_weight", DAY, POLICIES.deadlines)


def test_a_closed_case_must_have_an_outcome() -> None:
    """A case is closed exactly when it has an outcome and a closing day."""
    with pytest.raises(Exception, match="outcome"):
        dataclasses.replace(a_case(), status=S.CLOSED)
