"""Scenarios of the judgement on one household, at the domain level (no transport, no store)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import pytest

from hub.judgement import engine
from hub.judgement.decision import (
    Acknowledge,
    AddToOutreach,
    AssignBy,
    AssignRegiehouder,
    Close,
    CloseCase,
    Decline,
    Escalate,
    LeaveOutreach,
    OpenCase,
    ReviewCase,
    UpdateCase,
)
from hub.judgement.matching import MatchOutcome
from hub.judgement.model import ActiveSignal, CaseStatus, EscalationLevel, Outcome
from hub.judgement.notifications import (
    EscalationNotice,
    NoticeKind,
    PartnerNotice,
    RegiehouderBriefing,
    Role,
)
from seinhuis.errors import FailedPrecondition
from seinhuis.vocabulary import LifeDomain, PartnerType, SignalType, Urgency
from tests.judgement.builders import POLICIES, REGISTRY, judge, recipient, signal

T = SignalType
WED = dt.date(2026, 4, 22)  # the Wednesday before Koningsdag (Monday 27 April 2026)


def four_partners(*, gp_discloses: bool = False) -> list[ActiveSignal]:
    """Two schools about two children, the GP about a parent, the corporation about rent."""
    return [
        signal("s-school-a", "school-a", T.SCHOOLVERZUIM, WED, about="kind-1"),
        signal("s-school-b", "school-b", T.ZORG_OVER_LEERLING, WED, about="kind-2"),
        signal(
            "s-gp",
            "huisarts-1",
            T.ZORGSIGNAAL_HUISARTS,
            WED,
            about="ouder",
            disclosure_ok=gp_discloses,
        ),
        signal("s-rent", "woco", T.HUURACHTERSTAND, WED),
    ]


def two_partners(day: dt.date = WED, urgency: Urgency = Urgency.NORMAAL) -> list[ActiveSignal]:
    """A school about a child and the corporation about the address: two domains, one member."""
    return [
        signal("s1", "school-a", T.SCHOOLVERZUIM, day, about="kind-1", urgency=urgency),
        signal("s2", "woco", T.WOONOVERLAST, day, disclosure_ok=True),
    ]


def test_four_partners_make_one_case_with_a_regiehouder_chosen_by_domain_weight() -> None:
    """Signals of four partners about one household make one case; a school coordinates."""
    decision = judge(four_partners(), WED)
    assert decision.match is not None
    assert decision.match.outcome is MatchOutcome.OPEN_CASE
    assert decision.match.rule == "two_partners"
    case = decision.case
    assert case is not None
    assert case.involved == {"school-a", "school-b", "huisarts-1", "woco"}
    assert len(case.signal_ids) == 4
    # Learning and growing up weigh most for a school; school-a has the lower load.
    assert decision.regie is not None
    assert (decision.regie.partner_id, decision.regie.rule) == ("school-a", "domain_weight")
    assert case.regiehouder == "school-a"
    assert [type(a) for a in decision.actions][:2] == [OpenCase, AssignRegiehouder]


def test_four_partners_in_four_domains_escalate_as_multi_complex_at_once() -> None:
    """Four life domains and three members with signals go to the procesregisseur at once."""
    decision = judge(four_partners(), WED)
    assert decision.case is not None
    assert decision.case.status is CaseStatus.ESCALATED
    assert decision.case.escalation is EscalationLevel.PROCESREGISSEUR
    escalations = [a for a in decision.actions if isinstance(a, Escalate)]
    assert [(e.to, e.rule) for e in escalations] == [
        (EscalationLevel.PROCESREGISSEUR, "multi_complex")
    ]
    roles = [n.role for n in decision.notifications if isinstance(n, EscalationNotice)]
    assert roles == [Role.PROCESREGISSEUR]


def test_multi_complex_and_urgent_goes_up_to_the_bestuurder() -> None:
    """High risk (multi-complex and urgent) informs the procesregisseur and the bestuurder."""
    signals = four_partners()
    signals[0] = dataclasses.replace(signals[0], urgency=Urgency.HOOG)
    decision = judge(signals, WED)
    assert decision.case is not None
    assert decision.case.escalation is EscalationLevel.BESTUURDER
    roles = [n.role for n in decision.notifications if isinstance(n, EscalationNotice)]
    assert roles == [Role.PROCESREGISSEUR, Role.BESTUURDER]


def test_every_partner_learns_its_own_signals_the_regiehouder_and_the_deadline() -> None:
    """Each involved partner gets the case ref, only its own signal ids, the regiehouder and
    the deadline; the regiehouder gets a briefing instead."""
    decision = judge(four_partners(), WED)
    case = decision.case
    assert case is not None
    notices = {n.partner_id: n for n in decision.notifications if isinstance(n, PartnerNotice)}
    assert set(notices) == {"school-b", "huisarts-1", "woco"}
    for pid, notice in notices.items():
        assert notice.kind is NoticeKind.CASE_OPENED
        assert notice.case_id == case.id
        assert notice.regiehouder == REGISTRY.contact("school-a")
        assert notice.deadline == case.deadline
        assert notice.signal_ids == {"school-b": (b"s-school-b",), "huisarts-1": (b"s-gp",)}.get(
            pid, (b"s-rent",)
        )
    (briefing,) = [n for n in decision.notifications if isinstance(n, RegiehouderBriefing)]
    assert briefing.partner_id == "school-a"
    assert briefing.kind is NoticeKind.REGIE_ASSIGNED
    assert briefing.signal_ids == (b"s-school-a",)
    assert [(i.contact.partner_id, i.life_domains) for i in briefing.involved] == [
        ("school-b", (LifeDomain.OPGROEIEN,)),
        ("woco", (LifeDomain.RONDKOMEN,)),
    ]


def test_a_gp_signal_never_reveals_the_gp_to_other_partners() -> None:
    """Nobody but the GP learns of the GP's signal: not its id, contact, type or domain."""
    decision = judge(four_partners(), WED)
    for notice in decision.notifications:
        if recipient(notice) == "huisarts-1":
            continue
        text = repr(notice)
        assert "huisarts-1" not in text
        assert PartnerType.HUISARTS.value not in text
        assert "s-gp" not in text
        assert LifeDomain.ZORGEN.value not in text


def test_a_gp_is_shown_to_the_regiehouder_only_when_consent_allows_disclosure() -> None:
    """With the resident's consent to disclose, the regiehouder sees the GP's contact point."""
    decision = judge(four_partners(gp_discloses=True), WED)
    (briefing,) = [n for n in decision.notifications if isinstance(n, RegiehouderBriefing)]
    shown = {i.contact.partner_id: i.life_domains for i in briefing.involved}
    assert shown["huisarts-1"] == (LifeDomain.ZORGEN,)


def test_no_notification_carries_a_reason() -> None:
    """Notifications name life domains at most, never a signal type (no reasons)."""
    decision = judge(four_partners(gp_discloses=True), WED)
    for notice in decision.notifications:
        assert not any(t.value in repr(notice) for t in SignalType)


def test_an_existing_regiehouder_is_kept_for_a_new_signal() -> None:
    """A new signal that would weigh towards another partner leaves the regiehouder in place."""
    first = judge(two_partners(), WED)
    assert first.case is not None and first.case.regiehouder == "school-a"
    later = WED + dt.timedelta(days=1)
    ggd = signal("s3", "ggd", T.ZORGWEKKEND_GEDRAG, later, about="ouder", disclosure_ok=True)
    decision = judge([*two_partners(), ggd], later, first.case)
    assert decision.match is not None and decision.match.outcome is MatchOutcome.UPDATE_CASE
    assert decision.regie is not None
    assert (decision.regie.partner_id, decision.regie.rule) == ("school-a", "keep_existing")
    assert decision.case is not None and decision.case.regiehouder == "school-a"
    assert UpdateCase(first.case.id, (b"s3",), ()) in decision.actions
    (joined,) = [n for n in decision.notifications if recipient(n) == "ggd"]
    assert isinstance(joined, PartnerNotice)
    assert joined.kind is NoticeKind.CASE_OPENED
    assert joined.regiehouder == REGISTRY.contact("school-a")


def test_the_resident_s_preference_is_followed() -> None:
    """The partner the resident asks for coordinates, if registered to coordinate."""
    decision = judge(two_partners(), WED, preference="woco")
    assert decision.regie is not None
    assert (decision.regie.partner_id, decision.regie.rule) == ("woco", "resident_preference")


def test_a_stalled_case_escalates_when_its_deadline_passes_koningsdag_excluded() -> None:
    """A normal case opened the Wednesday before Koningsdag is due the Thursday after; on the
    Friday it goes to the procesregisseur, and a week later without progress to the bestuurder."""
    opened = judge(two_partners(), WED)
    case = opened.case
    assert case is not None and case.status is CaseStatus.ASSIGNED
    assert case.deadline == dt.date(2026, 4, 30)  # Thu 23, Fri 24, Tue 28, Wed 29, Thu 30
    on_time = judge(two_partners(), dt.date(2026, 4, 30), case)
    assert on_time.actions == () and on_time.notifications == ()

    late = judge(two_partners(), dt.date(2026, 5, 1), case)
    assert [a for a in late.actions if isinstance(a, Escalate)] == [
        Escalate(case.id, EscalationLevel.PROCESREGISSEUR, "deadline_passed", dt.date(2026, 5, 8))
    ]
    assert late.case is not None and late.case.status is CaseStatus.ESCALATED
    assert any(
        isinstance(n, EscalationNotice) and n.role is Role.PROCESREGISSEUR
        for n in late.notifications
    )
    still = judge(two_partners(), dt.date(2026, 5, 11), late.case)
    assert [(a.to, a.rule) for a in still.actions if isinstance(a, Escalate)] == [
        (EscalationLevel.BESTUURDER, "second_deadline_passed")
    ]


def test_an_urgent_case_on_christmas_eve_is_due_after_christmas() -> None:
    """An urgent case opened on 24 December is due on 28 December (Christmas and the weekend
    excluded) and escalates on the 29th."""
    eve = dt.date(2026, 12, 24)
    urgent = [
        signal("u1", "school-a", T.ZORG_OVER_LEERLING, eve, about="kind-1", urgency=Urgency.HOOG)
    ]
    opened = judge(urgent, eve)
    assert opened.case is not None and opened.case.deadline == dt.date(2026, 12, 28)
    assert judge(urgent, dt.date(2026, 12, 28), opened.case).actions == ()
    late = judge(urgent, dt.date(2026, 12, 29), opened.case)
    assert late.case is not None and late.case.escalation is EscalationLevel.PROCESREGISSEUR


def test_an_acknowledged_case_does_not_escalate_for_its_deadline() -> None:
    """Once the regiehouder has acknowledged, the response deadline no longer escalates."""
    opened = judge(two_partners(), WED)
    assert opened.case is not None
    ack = engine.apply(
        Acknowledge("school-a"),
        opened.case,
        two_partners(),
        REGISTRY,
        WED,
        policies=POLICIES,
    )
    assert ack.case is not None
    assert judge(two_partners(), dt.date(2026, 6, 1), ack.case).actions == ()


def test_a_decline_escalates_to_the_procesregisseur() -> None:
    """When the regiehouder declines, the case goes to the procesregisseur, who names another."""
    opened = judge(two_partners(), WED)
    assert opened.case is not None
    declined = engine.apply(
        Decline("school-a"), opened.case, two_partners(), REGISTRY, WED, policies=POLICIES
    )
    case = declined.case
    assert case is not None
    assert case.status is CaseStatus.ESCALATED and case.regiehouder is None
    assert [(a.to, a.rule) for a in declined.actions if isinstance(a, Escalate)] == [
        (EscalationLevel.PROCESREGISSEUR, "regiehouder_declined")
    ]
    assert [n.role for n in declined.notifications if isinstance(n, EscalationNotice)] == [
        Role.PROCESREGISSEUR
    ]
    with pytest.raises(FailedPrecondition, match="declined"):
        engine.apply(AssignBy("school-a"), case, two_partners(), REGISTRY, WED, policies=POLICIES)
    assigned = engine.apply(
        AssignBy("woco"), case, two_partners(), REGISTRY, WED, policies=POLICIES
    )
    assert assigned.case is not None
    assert (assigned.case.status, assigned.case.regiehouder) == (CaseStatus.ASSIGNED, "woco")
    kinds = {recipient(n): n.kind for n in assigned.notifications}
    assert kinds == {"woco": NoticeKind.REGIE_ASSIGNED, "school-a": NoticeKind.CASE_UPDATED}


def test_closing_tells_senders_the_outcome_as_a_code_only() -> None:
    """At closure every involved partner learns the outcome code, nothing else new."""
    opened = judge(two_partners(), WED)
    assert opened.case is not None
    closed = engine.apply(
        Close(Outcome.HELPED), opened.case, two_partners(), REGISTRY, WED, policies=POLICIES
    )
    assert closed.case is not None and closed.case.outcome is Outcome.HELPED
    assert {(recipient(n), n.kind, getattr(n, "outcome", None)) for n in closed.notifications} == {
        ("school-a", NoticeKind.CASE_CLOSED, Outcome.HELPED),
        ("woco", NoticeKind.CASE_CLOSED, Outcome.HELPED),
    }


def test_a_single_arrears_signal_goes_to_the_outreach_list() -> None:
    """One creditor's arrears make no case but an outreach entry, added once."""
    rent = [signal("r1", "woco", T.HUURACHTERSTAND, WED)]
    decision = judge(rent, WED)
    assert decision.match is not None and decision.match.outcome is MatchOutcome.OUTREACH
    assert decision.case is None
    assert decision.actions == (AddToOutreach((b"r1",), "single_arrears"),)
    assert [
        (n.partner_id, n.kind) for n in decision.notifications if isinstance(n, PartnerNotice)
    ] == [("woco", NoticeKind.OUTREACH)]
    again = judge(rent, WED, on_outreach=frozenset({b"r1"}))
    assert again.actions == () and again.notifications == ()


def test_two_creditors_make_a_case() -> None:
    """Arrears with two creditors in one period open a case."""
    arrears = [
        signal("r1", "woco", T.HUURACHTERSTAND, WED),
        signal("e1", "energie-a", T.ENERGIEACHTERSTAND, WED),
    ]
    decision = judge(arrears, WED, on_outreach=frozenset({b"r1"}))
    assert decision.match is not None
    assert (decision.match.outcome, decision.match.rule) == (
        MatchOutcome.OPEN_CASE,
        "multiple_creditors",
    )
    assert decision.case is not None and decision.case.regiehouder == "woco"
    assert LeaveOutreach((b"r1",)) in decision.actions


def test_duplicate_suppression_keeps_the_higher_urgency() -> None:
    """Two signals of one partner, type and child count once, urgently; both ids join the case."""
    twice = [
        signal("d1", "school-a", T.ZORG_OVER_LEERLING, WED, about="kind-1"),
        signal("d2", "school-a", T.ZORG_OVER_LEERLING, WED, about="kind-1", urgency=Urgency.HOOG),
    ]
    decision = judge(twice, WED)
    assert decision.match is not None
    assert decision.match.facts.signals == 1 and decision.match.facts.urgent_signals == 1
    assert decision.match.rule == "urgent_signal"
    assert decision.case is not None
    assert decision.case.signal_ids == {b"d1", b"d2"}
    assert decision.case.deadline == dt.date(2026, 4, 23)  # one working day


def test_signals_outside_the_window_do_not_count() -> None:
    """A signal older than the window (180 days) does not help make a new case."""
    old = signal("old", "woco", T.WOONOVERLAST, WED - dt.timedelta(days=181), disclosure_ok=True)
    fresh = signal("new", "school-a", T.SCHOOLVERZUIM, WED, about="kind-1")
    assert judge([old, fresh], WED).match.outcome is MatchOutcome.NO_CASE  # type: ignore[union-attr]
    just_in = dataclasses.replace(old, observed_on=WED - dt.timedelta(days=180))
    assert judge([just_in, fresh], WED).match.outcome is MatchOutcome.OPEN_CASE  # type: ignore[union-attr]


def test_signals_already_in_an_open_case_keep_counting_after_the_window() -> None:
    """The window governs new cases; the signals of an open case stay in it until they expire."""
    opened = judge(two_partners(), WED)
    assert opened.case is not None
    much_later = WED + dt.timedelta(days=400)
    decision = judge(two_partners(), much_later, opened.case)
    assert decision.match is not None and decision.match.outcome is MatchOutcome.UPDATE_CASE
    assert decision.case is not None and decision.case.signal_ids == opened.case.signal_ids


def test_a_withdrawn_signal_no_longer_counts_and_an_unstarted_case_closes() -> None:
    """When a withdrawal leaves no basis before anyone took the case on, it closes (UNJUSTIFIED)
    and the remaining sender learns the code."""
    opened = judge(two_partners(), WED)
    assert opened.case is not None
    school_only = two_partners()[:1]
    decision = judge(school_only, WED + dt.timedelta(days=1), opened.case)
    assert decision.match is not None and decision.match.outcome is MatchOutcome.BASIS_LOST
    assert CloseCase(opened.case.id, Outcome.UNJUSTIFIED, "basis_lost") in decision.actions
    assert decision.case is not None and decision.case.status is CaseStatus.CLOSED
    assert [(recipient(n), n.kind) for n in decision.notifications] == [
        ("school-a", NoticeKind.CASE_CLOSED)
    ]
    # The closed case used the school's signal: on its own it makes nothing new.
    after = judge(school_only, WED + dt.timedelta(days=2), decision.case)
    assert after.actions == () and after.match is not None
    assert after.match.outcome is MatchOutcome.NO_CASE


def test_a_case_losing_its_basis_after_contact_goes_to_its_regiehouder_for_review() -> None:
    """After acknowledgement a case without basis stays open, and its regiehouder decides."""
    opened = judge(two_partners(), WED)
    assert opened.case is not None
    ack = engine.apply(
        Acknowledge("school-a"),
        opened.case,
        two_partners(),
        REGISTRY,
        WED,
        policies=POLICIES,
    )
    assert ack.case is not None
    decision = judge(two_partners()[:1], WED, ack.case)
    assert ReviewCase(ack.case.id, "basis_lost") in decision.actions
    assert decision.case is not None and decision.case.status is CaseStatus.ACKNOWLEDGED
    assert [(recipient(n), n.kind) for n in decision.notifications] == [
        ("school-a", NoticeKind.REVIEW)
    ]


def test_a_revoked_consent_stops_the_gp_signal_counting() -> None:
    """A GP signal whose consent is revoked no longer counts towards the case."""
    signals = [
        signal("s1", "school-a", T.SCHOOLVERZUIM, WED, about="kind-1"),
        signal("g1", "huisarts-1", T.ZORGSIGNAAL_HUISARTS, WED, about="kind-1"),
    ]
    opened = judge(signals, WED)
    assert opened.case is not None and "huisarts-1" in opened.case.involved
    revoked = [signals[0], dataclasses.replace(signals[1], consent_ok=False)]
    decision = judge(revoked, WED, opened.case)
    assert decision.case is not None and decision.case.status is CaseStatus.CLOSED
    assert all(recipient(n) != "huisarts-1" for n in decision.notifications)


@pytest.mark.parametrize(
    "signals",
    [four_partners(), two_partners(), two_partners(urgency=Urgency.HOOG)],
    ids=["four-partners", "two-partners", "urgent"],
)
def test_judging_its_own_result_again_decides_nothing_new(signals: list[ActiveSignal]) -> None:
    """Run again on the case it produced, the judgement adds no action and no notification."""
    first = judge(signals, WED)
    again = judge(signals, WED, first.case)
    assert again.case == first.case
    assert again.actions == () and again.notifications == ()


def test_the_decision_does_not_depend_on_the_order_of_signals() -> None:
    """The same signals in another order give the same decision."""
    signals = four_partners()
    shuffled = signals[:]
    random.Random(7).shuffle(shuffled)
    assert judge(signals, WED) == judge(shuffled, WED)
