"""The store's aggregated reads for the dashboard, on every backend: counts per day, and per
case its dates, codes, first briefing, first acknowledgement and escalations, written through
the store's own write methods (as the judge and the operator desk write them)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.audit import ActorRole, AuditAction, AuditDraft
from hub.domain import CaseNotice, NotificationKind, ReceivedSignal, Signal
from hub.judgement.model import Case, CaseStatus, EscalationLevel, Facts, Outcome
from hub.judgement.notifications import EscalationNotice, NoticeKind, Role
from hub.store import HubStore, MemoryHubStore, SqlHubStore
from hub.store.base import CaseWrite, NewNotice, SignalKind, SignalTally, case_id_bytes
from seinhuis.vocabulary import LegalBasis, LifeDomain, PartnerType, SignalType, Urgency

DAY = dt.date(2027, 3, 1)
T0 = dt.datetime.combine(DAY, dt.time(9), dt.UTC)
SCHOOL = SignalKind(PartnerType.SCHOOL, LifeDomain.LEREN, LegalBasis.JEUGDWET_VERWIJSINDEX)
GP = SignalKind(PartnerType.HUISARTS, LifeDomain.ZORGEN, LegalBasis.TOESTEMMING)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HubStore]:
    backend: HubStore
    if request.param == "memory":
        backend = MemoryHubStore()
    elif request.param == "sqlite":
        backend = SqlHubStore(f"sqlite:///{tmp_path / 'hub.db'}")
    else:
        backend = SqlHubStore(request.getfixturevalue("postgres_url"))
    yield backend
    backend.close()


def _signal(kind: SignalKind, at: dt.datetime, home: bytes) -> ReceivedSignal:
    signal_type = {
        PartnerType.SCHOOL: SignalType.SCHOOLVERZUIM,
        PartnerType.HUISARTS: SignalType.ZORGSIGNAAL_HUISARTS,
    }[kind.partner_type]
    return ReceivedSignal(
        id=os.urandom(16),
        partner_id=kind.partner_type.value.lower(),
        partner_type=kind.partner_type,
        received_at=at,
        signal=Signal(
            signal_type=signal_type,
            life_domain=kind.life_domain,
            urgency=Urgency.NORMAAL,
            legal_basis=kind.legal_basis,
            observed_on=at.date(),
            keep_until=at.date() + dt.timedelta(days=365),
            person_pseudonym=os.urandom(32),
            address_pseudonym=home,
            key_version=1,
            arrears=None,
        ),
    )


def _open(store: HubStore, ref: str, at: dt.datetime, *, briefed: bool = True) -> Case:
    """A case of a school's and a GP's signal, opened at `at` (its regiehouder briefed then)."""
    home = os.urandom(32)
    signals = [_signal(SCHOOL, at, home), _signal(GP, at, home)]
    store.add_batch(signals)
    case = Case(
        id=ref,
        household=home,
        status=CaseStatus.ASSIGNED if briefed else CaseStatus.OPEN,
        opened_on=at.date(),
        signal_ids=frozenset(s.id for s in signals),
        involved=frozenset({"school", "huisarts"}),
        summary=Facts(signals=2, partners=2, life_domains=2),
        life_domains=frozenset({LifeDomain.LEREN, LifeDomain.ZORGEN}),
        regiehouder="team" if briefed else None,
        deadline=at.date() + dt.timedelta(days=5) if briefed else None,
    )
    notices = (
        NewNotice(
            "team",
            NotificationKind.REGIEHOUDER_BRIEFING,
            CaseNotice("REGIE_ASSIGNED", case_id_bytes(ref), "ASSIGNED", (), "team", None),
        ),
    )
    store.judge_household(
        home, [home], [], lambda _s: CaseWrite(case=case, notices=notices if briefed else ()), at
    )
    return case


def _update(store: HubStore, case: Case, at: dt.datetime) -> None:
    store.judge_household(case.household, [case.household], [], lambda _s: CaseWrite(case=case), at)


def _escalate(store: HubStore, notice: EscalationNotice, at: dt.datetime) -> None:
    """An escalation notice as the judge writes it: with its judgement of the case."""
    case = store.get_case(case_id_bytes(notice.case_id))
    assert case is not None
    home = case.household
    store.judge_household(home, [home], [], lambda _s: CaseWrite(escalations=(notice,)), at)


def test_signals_are_counted_per_day_of_arrival_domain_and_kind_of_partner(
    store: HubStore,
) -> None:
    home = os.urandom(32)
    store.add_batch(
        [_signal(SCHOOL, T0, home) for _ in range(3)]
        + [_signal(SCHOOL, T0 + dt.timedelta(hours=14), home)]  # 23:00 UTC: still that day
        + [_signal(GP, T0 + dt.timedelta(days=1), home) for _ in range(2)]
        + [_signal(SCHOOL, T0 - dt.timedelta(days=10), home)]
    )
    since = dt.datetime.combine(DAY, dt.time(), dt.UTC)
    assert store.signal_tallies(since) == [
        SignalTally(DAY, LifeDomain.LEREN, PartnerType.SCHOOL, 4),
        SignalTally(DAY + dt.timedelta(days=1), LifeDomain.ZORGEN, PartnerType.HUISARTS, 2),
    ]
    assert store.signal_tallies(since + dt.timedelta(days=3)) == []


def test_case_facts_tell_when_a_case_was_briefed_taken_on_escalated_and_closed(
    store: HubStore,
) -> None:
    taken_on = _open(store, "C-000000000000000000a1", T0)
    escalated = _open(store, "C-000000000000000000a2", T0 + dt.timedelta(minutes=1))
    unassigned = _open(store, "C-000000000000000000a3", T0, briefed=False)
    ack = T0 + dt.timedelta(hours=2)
    for at in (ack, ack + dt.timedelta(days=1)):  # the first acknowledgement counts
        store.append_audit(
            AuditDraft("anna", ActorRole.OPERATOR, AuditAction.ACKNOWLEDGE, case_ref=taken_on.id),
            at,
        )
    closed_on = DAY + dt.timedelta(days=3)
    _update(
        store,
        dataclasses.replace(
            taken_on, status=CaseStatus.CLOSED, outcome=Outcome.HELPED, closed_on=closed_on
        ),
        T0 + dt.timedelta(days=3),
    )
    escalated_at = T0 + dt.timedelta(days=7)
    for kind in (NoticeKind.ESCALATED, NoticeKind.REVIEW):  # only escalations count
        _escalate(
            store,
            EscalationNotice(
                Role.PROCESREGISSEUR,
                kind,
                escalated.id,
                EscalationLevel.PROCESREGISSEUR,
                "deadline_passed",
                None,
                (),
                DAY + dt.timedelta(days=12),
            ),
            escalated_at,
        )
    _update(
        store,
        dataclasses.replace(
            escalated,
            status=CaseStatus.ESCALATED,
            escalation=EscalationLevel.PROCESREGISSEUR,
            escalated_on=escalated_at.date(),
            escalation_deadline=DAY + dt.timedelta(days=12),
        ),
        escalated_at,
    )
    facts = {f.ref: f for f in store.case_facts(T0 - dt.timedelta(days=1))}
    assert set(facts) == {taken_on.id, escalated.id, unassigned.id}
    a, b, c = facts[taken_on.id], facts[escalated.id], facts[unassigned.id]
    assert (a.status, a.outcome, a.closed_on) == (CaseStatus.CLOSED, Outcome.HELPED, closed_on)
    assert a.opened_at == T0 and a.regiehouder_at == T0, "opened and briefed at once"
    assert a.acknowledged_at == ack
    assert a.signal_kinds == frozenset({SCHOOL, GP}), "the figures decide what shows"
    assert b.escalations == ((escalated_at, EscalationLevel.PROCESREGISSEUR),)
    assert (b.status, b.escalation) == (CaseStatus.ESCALATED, EscalationLevel.PROCESREGISSEUR)
    assert b.escalation_deadline == DAY + dt.timedelta(days=12)
    assert b.acknowledged_at is None
    assert c.regiehouder_at is None and c.deadline is None
    # Later: the closed case is out of the window, the open ones stay; so do escalations after.
    later = {f.ref: f for f in store.case_facts(T0 + dt.timedelta(days=5))}
    assert set(later) == {escalated.id, unassigned.id}
    assert later[escalated.id].escalations == b.escalations
    assert store.case_facts(escalated_at + dt.timedelta(days=1))[0].escalations == ()
