"""The store's promises to the operator interface, on every backend: staff reads and actions
commit with their audit entry (or not at all), escalation notices are kept, the chain verifies,
"who looked" is answered from it, and a tampered SQLite row is caught by its sequence number."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from hub import audit
from hub.audit import ActorRole, AuditAction, AuditDraft, Problem
from hub.domain import CaseNotice, NotificationKind, ReceivedSignal
from hub.judgement.model import Case, CaseStatus, EscalationLevel, Facts
from hub.judgement.notifications import EscalationNotice, NoticeKind, Role
from hub.looks import who_looked
from hub.store import HubStore, MemoryHubStore, SqlHubStore
from hub.store.base import CaseRecord, CaseWrite, NewNotice, StaffWrite, case_id_bytes
from seinhuis.errors import FailedPrecondition, NotFound
from tests.hub.builders import NOW, pseudonym, received_signal


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HubStore]:
    backend: HubStore = (
        MemoryHubStore() if request.param == "memory" else SqlHubStore(f"sqlite:///{tmp_path}/h.db")
    )
    yield backend
    backend.close()


def _signal(home: bytes, person: bytes | None) -> ReceivedSignal:
    s = received_signal()
    return dataclasses.replace(
        s,
        signal=dataclasses.replace(s.signal, address_pseudonym=home, person_pseudonym=person),
    )


def _case_of(home: bytes, signals: Sequence[ReceivedSignal], ref: str) -> Case:
    return Case(
        id=ref,
        household=home,
        status=CaseStatus.ASSIGNED,
        opened_on=NOW.date(),
        signal_ids=frozenset(s.id for s in signals),
        involved=frozenset({"ggd-a"}),
        summary=Facts(signals=len(signals), partners=1),
        regiehouder="team-noord",
        regie_rule="domain_weight",
        deadline=NOW.date() + dt.timedelta(days=7),
    )


def _stored_case(store: HubStore, ref: str) -> tuple[Case, bytes, bytes]:
    """A case with one signal about one person at one address; returns it, address, person."""
    home, person = pseudonym(), pseudonym()
    signal = _signal(home, person)
    store.add_batch([signal])
    case = _case_of(home, [signal], ref)
    store.judge_household(home, [home], [person], lambda _: CaseWrite(case=case), NOW)
    return case, home, person


def _draft(
    action: AuditAction, case: Case | None, subjects: frozenset[audit.Subject]
) -> AuditDraft:
    return AuditDraft(
        actor_id="anna",
        actor_role=ActorRole.OPERATOR,
        action=action,
        case_ref=case.id if case is not None else None,
        subjects=subjects,
    )


REF_A = "C-aaaaaaaaaaaaaaaaaaaa"
REF_B = "C-bbbbbbbbbbbbbbbbbbbb"


def test_a_staff_action_writes_case_notices_escalation_and_audit_together(store: HubStore) -> None:
    case, home, person = _stored_case(store, REF_A)
    cid = case_id_bytes(case.id)
    seen: list[CaseRecord] = []

    def act(record: CaseRecord) -> tuple[str, StaffWrite]:
        seen.append(record)
        closed = dataclasses.replace(record.case, status=CaseStatus.ESCALATED)
        escalated = dataclasses.replace(closed, escalation=EscalationLevel.PROCESREGISSEUR)
        notice = NewNotice(
            "ggd-a",
            NotificationKind.CASE_NOTICE,
            CaseNotice("CASE_UPDATED", cid, "ESCALATED", (), "team", escalated.deadline),
        )
        esc = EscalationNotice(
            Role.PROCESREGISSEUR,
            NoticeKind.ESCALATED,
            case.id,
            EscalationLevel.PROCESREGISSEUR,
            "staff",
            None,
            (),
            None,
        )
        subjects = audit.household_subjects(record.case.household, [person])
        write = StaffWrite(
            audit=_draft(AuditAction.ESCALATE, case, subjects),
            case=CaseWrite(case=escalated, notices=(notice,)),
            escalations=(esc,),
        )
        return "done", write

    assert store.staff_case(cid, act, NOW) == "done"
    # The record holds the case and its stored signals.
    assert seen[0].case == case and len(seen[0].signals) == 1
    after = store.get_case(cid)
    assert after is not None and after.status is CaseStatus.ESCALATED
    assert next(n.case for n in store.notifications_after("ggd-a", 0)) is not None
    [record] = store.escalation_records(case.id)
    assert (record.role, record.kind, record.level, record.rule) == (
        "PROCESREGISSEUR",
        "ESCALATED",
        1,
        "staff",
    )
    [entry] = store.audit_entries()
    assert (entry.seq, entry.action, entry.case_ref, entry.actor_id) == (
        1,
        AuditAction.ESCALATE,
        case.id,
        "anna",
    )
    assert {s.pseudonym for s in entry.subjects} == {home, person}
    assert audit.verify(store.audit_entries()).intact

    # The newest escalation's rule comes with the case from now on.
    def look(r: CaseRecord) -> tuple[str | None, StaffWrite]:
        return r.escalation_rule, StaffWrite(_draft(AuditAction.VIEW_CASE, case, frozenset()))

    assert store.staff_case(cid, look, NOW) == "staff"


def test_a_refused_action_writes_nothing_not_even_its_audit_entry(store: HubStore) -> None:
    case, _, _ = _stored_case(store, REF_A)

    def refuse(record: CaseRecord) -> tuple[None, StaffWrite]:
        raise FailedPrecondition("no")

    with pytest.raises(FailedPrecondition):
        store.staff_case(case_id_bytes(case.id), refuse, NOW)
    assert store.audit_entries() == []
    with pytest.raises(NotFound):
        store.staff_case(case_id_bytes(REF_B), refuse, NOW)


def test_a_listing_is_audited_with_whose_data_it_showed(store: HubStore) -> None:
    _a, home_a, person_a = _stored_case(store, REF_A)
    _b, home_b, person_b = _stored_case(store, REF_B)

    def view(records: Sequence[CaseRecord]) -> tuple[list[str], AuditDraft]:
        shown = [r for r in records if r.case.id == REF_B]
        subjects = audit.household_subjects(home_b, [person_b])
        return [r.case.id for r in shown], _draft(AuditAction.VIEW_LIST, None, subjects)

    assert store.staff_cases(view, NOW) == [REF_B]
    [entry] = store.audit_entries()
    assert entry.action is AuditAction.VIEW_LIST and entry.case_ref is None
    # Who looked: the person and household of the case shown, not the other one.
    assert [(x.actor_role, x.action) for x in who_looked(store, persons=[person_b])] == [
        (ActorRole.OPERATOR, AuditAction.VIEW_LIST)
    ]
    assert [x.seq for x in who_looked(store, households=[home_b])] == [1]
    assert who_looked(store, persons=[person_a], households=[home_a]) == []


def test_escalation_notices_from_the_judge_are_kept_and_audited_by_the_hub_with_the_case(
    store: HubStore,
) -> None:
    case, home, person = _stored_case(store, REF_A)
    notice = EscalationNotice(
        Role.PROCESREGISSEUR,
        NoticeKind.ESCALATED,
        case.id,
        EscalationLevel.PROCESREGISSEUR,
        "multi_complex",
        None,
        (),
        NOW.date(),
    )
    # Written in the judgement's own transaction, so a crash cannot keep the case but lose the
    # notice.
    escalated = dataclasses.replace(case, escalation=EscalationLevel.PROCESREGISSEUR)
    store.judge_household(
        home, [home], [person], lambda _: CaseWrite(case=escalated, escalations=(notice,)), NOW
    )
    stored = store.get_case(case_id_bytes(case.id))
    assert stored is not None and stored.escalation is EscalationLevel.PROCESREGISSEUR
    [record] = store.escalation_records()
    assert (record.case_ref, record.rule, record.deadline) == (case.id, "multi_complex", NOW.date())
    [entry] = store.audit_entries()
    assert (entry.actor_id, entry.actor_role, entry.action) == (
        "hub",
        ActorRole.HUB,
        AuditAction.ESCALATION_NOTICE,
    )
    assert entry.detail_map["rule"] == "multi_complex"
    assert [x.action for x in store.who_looked([person])] == [AuditAction.ESCALATION_NOTICE]
    assert [x.action for x in store.who_looked([home])] == [AuditAction.ESCALATION_NOTICE]


def test_who_looked_still_answers_after_one_rotation_and_another(store: HubStore) -> None:
    """Entries keep the pseudonyms they were hashed with; after each re-key "who looked" finds
    them from the person's and household's current pseudonyms, and the chain still holds."""
    _, home_a, person_a = _stored_case(store, REF_A)
    subjects = audit.household_subjects(home_a, [person_a])
    store.append_audit(_draft(AuditAction.VIEW_AUDIT, None, subjects), NOW)
    first = {home_a: pseudonym(), person_a: pseudonym()}
    store.rekey(1, 2, lambda _kind, p: first[p])
    _, home_b, person_b = _stored_case(store, REF_B)  # at key version 1: a late delivery
    second = {**{first[p]: pseudonym() for p in first}, home_b: pseudonym(), person_b: pseudonym()}
    store.rekey(2, 3, lambda _kind, p: second[p])
    store.rekey(1, 3, lambda _kind, p: second[p])

    now_person, now_home = second[first[person_a]], second[first[home_a]]
    assert [x.action for x in store.who_looked([now_person])] == [AuditAction.VIEW_AUDIT]
    assert [x.action for x in store.who_looked([now_home])] == [AuditAction.VIEW_AUDIT]
    assert store.who_looked([second[person_b]]) == []
    assert audit.verify(store.audit_entries()).intact


def test_entries_chain_across_kinds_of_writes(store: HubStore) -> None:
    case, _, _ = _stored_case(store, REF_A)
    store.append_audit(_draft(AuditAction.VIEW_AUDIT, None, frozenset()), NOW)
    store.staff_cases(lambda r: (None, _draft(AuditAction.VIEW_LIST, None, frozenset())), NOW)
    store.staff_case(
        case_id_bytes(case.id),
        lambda r: (None, StaffWrite(_draft(AuditAction.VIEW_CASE, case, frozenset()))),
        NOW + dt.timedelta(seconds=1),
    )
    entries = store.audit_entries()
    assert [e.seq for e in entries] == [1, 2, 3]
    assert [e.action for e in entries] == [
        AuditAction.VIEW_AUDIT,
        AuditAction.VIEW_LIST,
        AuditAction.VIEW_CASE,
    ]
    assert audit.verify(entries).intact


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        ("UPDATE hub_audit SET actor_id = 'mallory' WHERE seq = 2", Problem.HASH_MISMATCH),
        ("UPDATE hub_audit SET action = 'view_list' WHERE seq = 2", Problem.HASH_MISMATCH),
        ("DELETE FROM hub_audit_subjects WHERE seq = 2", Problem.HASH_MISMATCH),
        ("DELETE FROM hub_audit WHERE seq = 2", Problem.MISSING_ENTRY),
    ],
)
def test_a_tampered_sqlite_row_breaks_the_chain_at_its_seq(
    tmp_path: Path, statement: str, problem: Problem
) -> None:
    url_path = tmp_path / "hub.db"
    store = SqlHubStore(f"sqlite:///{url_path}")
    try:
        case, _, person = _stored_case(store, REF_A)
        subjects = audit.household_subjects(case.household, [person])
        for action in (AuditAction.VIEW_LIST, AuditAction.VIEW_CASE, AuditAction.CLOSE):
            store.append_audit(_draft(action, case, subjects), NOW)
        assert audit.verify(store.audit_entries()).intact
        conn = sqlite3.connect(url_path)
        try:
            conn.execute("PRAGMA foreign_keys=OFF")
            conn.execute(statement)
            conn.commit()
        finally:
            conn.close()
        result = audit.verify(store.audit_entries())
        assert (result.intact, result.first_broken, result.problem) == (False, 2, problem)
    finally:
        store.close()
