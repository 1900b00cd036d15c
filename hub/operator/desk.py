"""The operator desk: staff's views and actions on cases, each written with its audit entry.

Transport-free: the gRPC servicer (hub.operator.servicer) identifies the member of staff and
calls this. Every read and write goes through the store in one transaction under the case's
household lock (HubStore.staff_case), so an action never interleaves with a judgement of the
same household, and its feed notices, escalation notices and audit entry commit with it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence

from hub.audit import AuditAction, AuditDraft, Look, Subject, SubjectKind, Verification, verify
from hub.judge import registry_view, to_write
from hub.judgement.model import CaseStatus, Outcome
from hub.judgement.policy import Policies
from hub.operator import actions, views
from hub.operator.views import CaseDetail, CaseLine
from hub.registry import Registry
from hub.staff import StaffMember, StaffRole
from hub.store.base import CaseRecord, HubStore, StaffWrite, case_id_bytes
from seinhuis import logs
from seinhuis.errors import InvalidArgument, PermissionDenied

log = logs.get_logger(__name__)

#: A case reference as hub.judgement.engine.case_ref makes it.
CASE_REF = re.compile(r"C-[0-9a-f]{20}")
#: Person pseudonyms and household keys are 32 bytes (an OPRF element).
PSEUDONYM_BYTES = 32


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def check_ref(ref: str) -> str:
    if not CASE_REF.fullmatch(ref):
        raise InvalidArgument("not a case reference (C- and 20 hex digits)", field="case_ref")
    return ref


class Desk:
    """What staff may see and do, on the hub's store."""

    def __init__(
        self,
        store: HubStore,
        registry: Registry,
        policies: Policies,
        *,
        clock: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        self._store = store
        self._registry = registry
        self._policies = policies
        self._clock = clock

    def list_cases(self, member: StaffMember, status: CaseStatus | None = None) -> list[CaseLine]:
        """The cases the member may see, not closed first, then by deadline."""

        def view(records: Sequence[CaseRecord]) -> tuple[list[CaseLine], AuditDraft]:
            return views.list_view(member, records, status)

        shown = self._store.staff_cases(view, self._clock())
        self._log(member, AuditAction.VIEW_LIST, None)
        return shown

    def get_case(self, member: StaffMember, ref: str) -> CaseDetail:
        view = registry_view(self._registry, {})

        def look(record: CaseRecord) -> tuple[CaseDetail, StaffWrite]:
            views.require_sight(member, record.case)
            return views.detail(record, view), StaffWrite(views.case_view_draft(member, record))

        found = self._store.staff_case(case_id_bytes(check_ref(ref)), look, self._clock())
        self._log(member, AuditAction.VIEW_CASE, ref)
        return found

    def acknowledge(self, member: StaffMember, ref: str) -> CaseDetail:
        return self._act(member, ref, actions.AcknowledgeCase())

    def reassign(self, member: StaffMember, ref: str, partner_id: str) -> CaseDetail:
        return self._act(member, ref, actions.ReassignCase(partner_id))

    def escalate(self, member: StaffMember, ref: str) -> CaseDetail:
        return self._act(member, ref, actions.EscalateCase())

    def close(self, member: StaffMember, ref: str, outcome: Outcome) -> CaseDetail:
        return self._act(member, ref, actions.CloseWithOutcome(outcome))

    def verify_audit(self, member: StaffMember) -> Verification:
        """Whether the audit chain holds (any member of staff may check)."""
        return verify(self._store.audit_entries())

    def who_looked(self, member: StaffMember, subject: Subject) -> list[Look]:
        """Who looked at a person's or household's data; operators only, and itself a look."""
        if member.role is not StaffRole.OPERATOR:
            raise PermissionDenied("only an operator may ask who looked at someone's data")
        if len(subject.pseudonym) != PSEUDONYM_BYTES:
            raise InvalidArgument(f"must be {PSEUDONYM_BYTES} bytes", field="subject")
        looks = self._store.who_looked([subject.pseudonym])
        self._store.append_audit(
            AuditDraft(
                actor_id=member.id,
                actor_role=views.actor_role(member),
                action=AuditAction.VIEW_AUDIT,
                detail=AuditDraft.details(kind=subject.kind.value),
                subjects=frozenset({subject}),
            ),
            self._clock(),
        )
        self._log(member, AuditAction.VIEW_AUDIT, None)
        return looks

    def _act(self, member: StaffMember, ref: str, action: actions.StaffAct) -> CaseDetail:
        at = self._clock()
        # Coordinators' loads as the judge reads them: outside the lock, good enough for a
        # capacity check (the judge tolerates the same lag).
        view = registry_view(self._registry, self._store.open_cases_by_regiehouder())

        def decide(record: CaseRecord) -> tuple[CaseDetail, StaffWrite]:
            outcome = actions.act(member, record, action, view, at.date(), self._policies)
            write = StaffWrite(
                audit=outcome.audit,
                case=to_write(outcome.decision, record.case, view),
                escalations=outcome.escalations,
            )
            assert outcome.decision.case is not None
            after = CaseRecord(outcome.decision.case, record.signals, _rule(outcome, record))
            return views.detail(after, view), write

        done = self._store.staff_case(case_id_bytes(check_ref(ref)), decide, at)
        self._log(member, _CODES[type(action)], ref)
        return done

    @staticmethod
    def _log(member: StaffMember, action: AuditAction, ref: str | None) -> None:
        log.info(
            "hub.staff_action", staff=member.id, role=member.role.value, action=action, case=ref
        )


_CODES: dict[type, AuditAction] = {
    actions.AcknowledgeCase: AuditAction.ACKNOWLEDGE,
    actions.ReassignCase: AuditAction.REASSIGN,
    actions.EscalateCase: AuditAction.ESCALATE,
    actions.CloseWithOutcome: AuditAction.CLOSE,
}


def _rule(outcome: actions.StaffOutcome, record: CaseRecord) -> str | None:
    return actions.STAFF_RULE if outcome.escalations else record.escalation_rule


def subject(person: bytes | None = None, household: bytes | None = None) -> Subject:
    """The subject of a who-looked question: a person pseudonym or a household key."""
    if (person is None) == (household is None):
        raise InvalidArgument("give a person pseudonym or a household key", field="subject")
    if person is not None:
        return Subject(SubjectKind.PERSON, person)
    assert household is not None
    return Subject(SubjectKind.HOUSEHOLD, household)
