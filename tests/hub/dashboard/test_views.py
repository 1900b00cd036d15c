"""Pure parts of the dashboard: which escalated cases each role sees (the operator interface's
rule), the chart geometry, and how hidden numbers read."""

from __future__ import annotations

import datetime as dt

import pytest

from hub.audit import AuditAction, SubjectKind
from hub.dashboard import charts, texts
from hub.dashboard.escalated import escalated_view
from hub.dashboard.identity import member_from_claims
from hub.figures import Figure, Mark
from hub.judgement.model import Case, CaseStatus, EscalationLevel, Facts, Outcome, RegistryView
from hub.staff import StaffMember, StaffRegistry, StaffRole
from hub.store.base import CaseRecord
from seinhuis.web.oidc import LoginRefused

TODAY = dt.date(2027, 3, 10)
STAFF = {
    role: StaffMember(role.value.lower(), role, f"{role.value.lower()}.staff") for role in StaffRole
}


def _record(n: int, level: EscalationLevel, *, closed: bool = False) -> CaseRecord:
    case = Case(
        id=f"C-{n:020x}",
        household=bytes([n]) * 32,
        status=CaseStatus.CLOSED
        if closed
        else CaseStatus.ESCALATED
        if level
        else CaseStatus.ASSIGNED,
        opened_on=TODAY - dt.timedelta(days=9),
        signal_ids=frozenset(),
        involved=frozenset(),
        summary=Facts(),
        regiehouder="team",
        deadline=TODAY - dt.timedelta(days=8),
        escalation=level,
        escalated_on=TODAY - dt.timedelta(days=7) if level else None,
        escalation_deadline=TODAY - dt.timedelta(days=n) if level else None,
        outcome=Outcome.HELPED if closed else None,
        closed_on=TODAY if closed else None,
    )
    return CaseRecord(case, (), "deadline_passed" if level else None)


RECORDS = [
    _record(1, EscalationLevel.NONE),
    _record(2, EscalationLevel.PROCESREGISSEUR),
    _record(3, EscalationLevel.BESTUURDER),
    _record(4, EscalationLevel.PROCESREGISSEUR, closed=True),
    _record(0, EscalationLevel.PROCESREGISSEUR),
]


@pytest.mark.parametrize(
    ("role", "refs"),
    [
        (StaffRole.OPERATOR, [3, 2, 0]),
        (StaffRole.PROCESREGISSEUR, [3, 2, 0]),
        (StaffRole.BESTUURDER, [3]),
    ],
)
def test_each_role_sees_the_open_escalated_cases_it_may_see(
    role: StaffRole, refs: list[int]
) -> None:
    member = STAFF[role]
    shown, draft = escalated_view(member, RECORDS, RegistryView(()), TODAY)
    assert [c.ref for c in shown] == [f"C-{n:020x}" for n in refs], "soonest deadline first"
    assert [c.overdue for c in shown] == [n > 0 for n in refs]
    assert (draft.actor_id, draft.action) == (member.id, AuditAction.VIEW_LIST)
    assert dict(draft.detail) == {"view": "dashboard.escalations", "shown": str(len(refs))}
    households = {s.pseudonym for s in draft.subjects if s.kind is SubjectKind.HOUSEHOLD}
    assert households == {bytes([n]) * 32 for n in refs}


def test_a_login_names_a_member_of_the_staff_registry() -> None:
    registry = StaffRegistry({m.id: m for m in STAFF.values()})
    claim = "preferred_username"
    assert member_from_claims({claim: "bestuurder"}, registry, claim) == STAFF[StaffRole.BESTUURDER]
    for claims, reason in (
        ({claim: "mallory"}, "staff.unknown"),
        ({}, "claims.preferred_username"),
        ({claim: ["operator"]}, "claims.preferred_username"),
    ):
        with pytest.raises(LoginRefused) as refused:
            member_from_claims(claims, registry, claim)
        assert refused.value.reason == reason


def test_bars_scale_and_small_counts_reach_at_most_half_way() -> None:
    figures = [Figure(40, Mark.SHOWN), Figure(None, Mark.SMALL), Figure(None, Mark.PROTECTED)]
    chart = charts.bar_chart(["a", "b", "c"], ["A", "B", "C"], figures, texts.count)
    shown, small, hidden = chart.bars
    assert [t.text for t in chart.ticks] == ["0", "25", "50"]
    assert shown.height == pytest.approx(small.height * 8), "40 against 5 on a scale to 50"
    assert hidden.height == 0 and hidden.text == "×" and small.text == "<5"
    assert small.kind == "small" and small.title == "B: <5"
    only_small = charts.bar_chart(["a"], ["A"], [Figure(None, Mark.SMALL)], texts.count)
    assert only_small.bars[0].y == pytest.approx(
        only_small.baseline - (only_small.baseline - 22) / 2
    )


def test_heat_map_shades_grow_with_the_count() -> None:
    rows = [[Figure(5, Mark.SHOWN), Figure(20, Mark.SHOWN)], [Figure(None, Mark.SMALL)] * 2]
    heat = charts.heatmap(
        ["Wonen", "Leren"], ["wk 1", "wk 2"], ["week 1", "week 2"], rows, texts.count
    )
    assert [c.shade for c in heat.cells] == [1, 4, 0, 0]
    assert heat.cells[2].text == "<5" and heat.cells[1].title == "Wonen, week 2: 20"


def test_numbers_read_in_dutch() -> None:
    assert texts.count(Figure(12345, Mark.SHOWN)) == "12.345"
    assert texts.percent(Figure(62.5, Mark.SHOWN)) == "62%"
    assert texts.hours(Figure(5.4, Mark.SHOWN)) == "5 uur"
    assert texts.hours(Figure(60, Mark.SHOWN)) == "2,5 dagen"
    assert [texts.count(Figure(None, m)) for m in (Mark.SMALL, Mark.PROTECTED, Mark.WITHHELD)] == [
        "<5",
        "×",
        "·",
    ]
    assert texts.percent(Figure(None, Mark.TOO_FEW)) == "–"
