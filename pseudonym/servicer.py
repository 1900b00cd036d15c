"""The gRPC edge of the pseudonymisation service: identify the caller, convert, call, convert."""

from __future__ import annotations

import grpc

from pseudonym import serde
from pseudonym.evaluation import Evaluator
from seinhuis import metrics
from seinhuis.errors import SeinhuisError, Unauthenticated
from seinhuis.transport import peer_common_name
from seinhuis.v1 import pseudonym_pb2, pseudonym_pb2_grpc


class UnknownCaller(Unauthenticated):
    fixed_message = "the caller presented no certificate common name"


def _caller(context: grpc.ServicerContext) -> str:
    name = peer_common_name(context)
    if not name:
        raise UnknownCaller("no CN")
    return name


class PseudonymServicer(pseudonym_pb2_grpc.PseudonymServiceServicer):
    def __init__(self, evaluator: Evaluator) -> None:
        self._evaluator = evaluator

    def Evaluate(
        self, request: pseudonym_pb2.EvaluateRequest, context: grpc.ServicerContext
    ) -> pseudonym_pb2.EvaluateResponse:
        caller = _caller(context)
        kind = serde.kind_from_proto(request.kind)
        try:
            # The repeated field goes in as is: copying 10000 elements would cost more than it
            # saves.
            result = self._evaluator.evaluate(caller, kind, request.blinded_elements)
        except SeinhuisError as exc:
            metrics.PSEUDONYM_QUERIES.labels("evaluate", kind.value, exc.status).inc()
            raise
        metrics.PSEUDONYM_QUERIES.labels("evaluate", kind.value, "OK").inc()
        metrics.PSEUDONYM_ELEMENTS.labels(kind.value).inc(len(result.elements))
        return pseudonym_pb2.EvaluateResponse(
            key_version=result.key_version, evaluated_elements=result.elements
        )

    def GetKeyInfo(
        self, request: pseudonym_pb2.GetKeyInfoRequest, context: grpc.ServicerContext
    ) -> pseudonym_pb2.GetKeyInfoResponse:
        caller = _caller(context)
        info = self._evaluator.key_info(caller)
        return pseudonym_pb2.GetKeyInfoResponse(
            current_version=info.current_version, versions=info.versions
        )

    def GetRekeyFactor(
        self, request: pseudonym_pb2.GetRekeyFactorRequest, context: grpc.ServicerContext
    ) -> pseudonym_pb2.GetRekeyFactorResponse:
        caller = _caller(context)
        kind = serde.kind_from_proto(request.kind)
        try:
            factor = self._evaluator.rekey_factor(
                caller, kind, request.from_version, request.to_version
            )
        except SeinhuisError as exc:
            metrics.PSEUDONYM_QUERIES.labels("rekey_factor", kind.value, exc.status).inc()
            raise
        metrics.PSEUDONYM_QUERIES.labels("rekey_factor", kind.value, "OK").inc()
        return pseudonym_pb2.GetRekeyFactorResponse(factor=factor)
