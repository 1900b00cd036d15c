"""The operator interface's gRPC edge: identify the member of staff, convert, call the desk."""

from __future__ import annotations

import grpc

from hub.operator import serde
from hub.operator.desk import Desk, subject
from hub.registry import Registry
from hub.staff import StaffMember, StaffRegistry
from seinhuis import logs
from seinhuis.errors import PermissionDenied
from seinhuis.transport import peer_common_name
from seinhuis.v1 import operator_pb2, operator_pb2_grpc

log = logs.get_logger(__name__)


def identify_staff(
    staff: StaffRegistry, partners: Registry, context: grpc.ServicerContext
) -> StaffMember:
    """The member of staff behind the verified client certificate. A partner's certificate, or
    one nobody registered as staff, is refused with one message."""
    name = peer_common_name(context)
    member = staff.by_certificate_cn(name)
    if member is None:
        reason = "partner certificate" if partners.by_certificate_cn(name) else "not staff"
        log.info("hub.staff_refused", method="operator", reason=reason)
        raise PermissionDenied("only registered municipal staff may use the operator service")
    return member


class OperatorServicer(operator_pb2_grpc.OperatorServiceServicer):
    def __init__(self, *, desk: Desk, staff: StaffRegistry, partners: Registry) -> None:
        self._desk = desk
        self._staff = staff
        self._partners = partners

    def _member(self, context: grpc.ServicerContext) -> StaffMember:
        return identify_staff(self._staff, self._partners, context)

    def ListCases(
        self, request: operator_pb2.ListCasesRequest, context: grpc.ServicerContext
    ) -> operator_pb2.ListCasesResponse:
        member = self._member(context)
        lines = self._desk.list_cases(member, serde.status_from_proto(request.status))
        return operator_pb2.ListCasesResponse(cases=[serde.summary_to_proto(c) for c in lines])

    def GetCase(
        self, request: operator_pb2.GetCaseRequest, context: grpc.ServicerContext
    ) -> operator_pb2.GetCaseResponse:
        found = self._desk.get_case(self._member(context), request.case_ref)
        return operator_pb2.GetCaseResponse(case_detail=serde.detail_to_proto(found))

    def Acknowledge(
        self, request: operator_pb2.AcknowledgeRequest, context: grpc.ServicerContext
    ) -> operator_pb2.AcknowledgeResponse:
        done = self._desk.acknowledge(self._member(context), request.case_ref)
        return operator_pb2.AcknowledgeResponse(case_detail=serde.detail_to_proto(done))

    def Reassign(
        self, request: operator_pb2.ReassignRequest, context: grpc.ServicerContext
    ) -> operator_pb2.ReassignResponse:
        done = self._desk.reassign(self._member(context), request.case_ref, request.partner_id)
        return operator_pb2.ReassignResponse(case_detail=serde.detail_to_proto(done))

    def Escalate(
        self, request: operator_pb2.EscalateRequest, context: grpc.ServicerContext
    ) -> operator_pb2.EscalateResponse:
        done = self._desk.escalate(self._member(context), request.case_ref)
        return operator_pb2.EscalateResponse(case_detail=serde.detail_to_proto(done))

    def Close(
        self, request: operator_pb2.CloseRequest, context: grpc.ServicerContext
    ) -> operator_pb2.CloseResponse:
        member = self._member(context)
        outcome = serde.outcome_from_proto(request.outcome)
        done = self._desk.close(member, request.case_ref, outcome)
        return operator_pb2.CloseResponse(case_detail=serde.detail_to_proto(done))

    def VerifyAudit(
        self, request: operator_pb2.VerifyAuditRequest, context: grpc.ServicerContext
    ) -> operator_pb2.VerifyAuditResponse:
        return serde.verification_to_proto(self._desk.verify_audit(self._member(context)))

    def WhoLooked(
        self, request: operator_pb2.WhoLookedRequest, context: grpc.ServicerContext
    ) -> operator_pb2.WhoLookedResponse:
        member = self._member(context)
        which = request.WhichOneof("subject")
        asked = subject(
            person=bytes(request.person_pseudonym) if which == "person_pseudonym" else None,
            household=bytes(request.household_key) if which == "household_key" else None,
        )
        looks = self._desk.who_looked(member, asked)
        return operator_pb2.WhoLookedResponse(looks=[serde.look_to_proto(x) for x in looks])
