"""The node's local gRPC API (NodeService): convert, call node.service, convert back.

It listens on loopback or a unix socket without TLS: it is the partner's own API. When it is
exposed beyond this machine every call but health checks needs `authorization: Bearer <token>`.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

import grpc
from grpc_health.v1 import health

from node import serde
from node.service import Node
from seinhuis.v1 import node_pb2, node_pb2_grpc


class NodeServicer(node_pb2_grpc.NodeServiceServicer):
    """The thin gRPC edge of node.service.Node."""

    def __init__(self, node: Node) -> None:
        self._node = node

    def SubmitSignal(
        self, request: node_pb2.SubmitSignalRequest, context: grpc.ServicerContext
    ) -> node_pb2.SubmitSignalResponse:
        message_id = self._node.submit_signal(serde.local_signal_from_proto(request))
        return node_pb2.SubmitSignalResponse(id=message_id)

    def SubmitPopulationEvent(
        self, request: node_pb2.SubmitPopulationEventRequest, context: grpc.ServicerContext
    ) -> node_pb2.SubmitPopulationEventResponse:
        event = serde.local_population_event_from_proto(request)
        return node_pb2.SubmitPopulationEventResponse(id=self._node.submit_population_event(event))

    def WithdrawSignal(
        self, request: node_pb2.WithdrawSignalRequest, context: grpc.ServicerContext
    ) -> node_pb2.WithdrawSignalResponse:
        reason = serde.withdraw_reason_from_proto(request.reason)
        message_id = self._node.withdraw(
            message_id=request.id, reference=request.partner_reference, reason=reason
        )
        return node_pb2.WithdrawSignalResponse(id=message_id)

    def GetSignalStatus(
        self, request: node_pb2.GetSignalStatusRequest, context: grpc.ServicerContext
    ) -> node_pb2.GetSignalStatusResponse:
        status = self._node.status(message_id=request.id, reference=request.partner_reference)
        return serde.status_to_proto(status)


class BearerTokenInterceptor(grpc.ServerInterceptor):
    """Refuse every call without the configured bearer token (UNAUTHENTICATED)."""

    #: Load balancers probe health without credentials; health reveals nothing.
    OPEN_PREFIXES = (f"/{health.SERVICE_NAME}/",)

    def __init__(self, token: str) -> None:
        if len(token) < 16:
            raise ValueError("the local API token must be at least 16 characters")
        self._expected = f"Bearer {token}".encode()

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(self.OPEN_PREFIXES):
            return handler
        given = b""
        for key, value in handler_call_details.invocation_metadata or ():
            if key == "authorization":
                given = value.encode() if isinstance(value, str) else bytes(value)
        if hmac.compare_digest(given, self._expected):
            return handler
        return _refusing(handler)


def _refusing(handler: grpc.RpcMethodHandler[Any, Any]) -> grpc.RpcMethodHandler[Any, Any]:
    def deny(_request: Any, context: grpc.ServicerContext) -> Any:
        context.abort(grpc.StatusCode.UNAUTHENTICATED, "a valid bearer token is required")

    kwargs = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(deny, **kwargs)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(deny, **kwargs)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(deny, **kwargs)
    return grpc.stream_stream_rpc_method_handler(deny, **kwargs)
