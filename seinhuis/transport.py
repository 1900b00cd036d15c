"""gRPC at the edge: mutual TLS, server construction, health and reflection, error mapping.

Servicers stay thin: they convert, call the domain, convert back. Errors raised by the domain
are SeinhuisError subclasses; the interceptor here turns them into the catalog's status and
public message, and turns anything unexpected into INTERNAL with the details only in the log.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from seinhuis import logs
from seinhuis.errors import InvalidArgument, SeinhuisError
from seinhuis.metrics import MetricsInterceptor

log = logs.get_logger(__name__)

#: Largest message any Seinhuis server accepts; a signal envelope is well under 1 KiB.
DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024

_CHANNEL_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.max_send_message_length", DEFAULT_MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", DEFAULT_MAX_MESSAGE_BYTES),
    ("grpc.enable_retries", 1),
    # gRPC's default reconnect back-off grows to 120 s, which would override a node's own
    # delivery back-off and leave it idle long after the hub is back.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2_000),
]


@dataclass(frozen=True)
class TlsFiles:
    """PEM files for one side of a mutually authenticated TLS connection."""

    ca_cert: Path
    cert: Path
    key: Path

    def read(self) -> tuple[bytes, bytes, bytes]:
        return self.ca_cert.read_bytes(), self.cert.read_bytes(), self.key.read_bytes()


def server_credentials(
    tls: TlsFiles, *, require_client_auth: bool = True
) -> grpc.ServerCredentials:
    ca, cert, key = tls.read()
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=ca, require_client_auth=require_client_auth
    )


def secure_channel(
    target: str, tls: TlsFiles, *, server_name: str | None = None, options: Sequence[Any] = ()
) -> grpc.Channel:
    """A channel that presents our certificate and trusts only the configured CA."""
    ca, cert, key = tls.read()
    creds = grpc.ssl_channel_credentials(
        root_certificates=ca, private_key=key, certificate_chain=cert
    )
    opts = list(_CHANNEL_OPTIONS) + list(options)
    if server_name:
        opts.append(("grpc.ssl_target_name_override", server_name))
    return grpc.secure_channel(target, creds, options=opts)


def peer_common_name(context: grpc.ServicerContext) -> str | None:
    """The subject common name of the verified client certificate, if any."""
    values = context.auth_context().get("x509_common_name")
    if not values:
        return None
    return bytes(values[0]).decode("utf-8", errors="strict")


def _abort_for(exc: BaseException, context: grpc.ServicerContext, method: str) -> None:
    if isinstance(exc, grpc.RpcError) and not context.is_active():
        # The caller went away (cancelled, or its process died) mid-call: not our failure.
        log.info("rpc.cancelled", method=method)
        return
    if isinstance(exc, SeinhuisError):
        log.info("rpc.failed", method=method, code=exc.status, error=type(exc).__name__)
        context.abort(grpc.StatusCode[exc.status], exc.message)
    log.error("rpc.internal_error", method=method, error_type=type(exc).__name__)
    context.abort(grpc.StatusCode.INTERNAL, "internal error")


class ErrorMappingInterceptor(grpc.ServerInterceptor):
    """Translate SeinhuisError into the catalog's status; anything else into INTERNAL."""

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method

        def wrap_unary(fn: Callable[..., Any]) -> Callable[..., Any]:
            def call(request: Any, context: grpc.ServicerContext) -> Any:
                try:
                    return fn(request, context)
                except Exception as exc:
                    if _already_aborted(context):
                        raise
                    _abort_for(exc, context, method)

            return call

        def wrap_stream(fn: Callable[..., Any]) -> Callable[..., Any]:
            def call(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                try:
                    yield from fn(request, context)
                except Exception as exc:
                    if _already_aborted(context):
                        raise
                    _abort_for(exc, context, method)

            return call

        kwargs = {
            "request_deserializer": _tolerant(handler.request_deserializer),
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary:
            fn = _decoded_request(handler.unary_unary, handler.request_deserializer)
            return grpc.unary_unary_rpc_method_handler(wrap_unary(fn), **kwargs)
        if handler.stream_unary:
            fn = _decoded_requests(handler.stream_unary, handler.request_deserializer)
            return grpc.stream_unary_rpc_method_handler(wrap_unary(fn), **kwargs)
        if handler.unary_stream:
            fn = _decoded_request(handler.unary_stream, handler.request_deserializer)
            return grpc.unary_stream_rpc_method_handler(wrap_stream(fn), **kwargs)
        if handler.stream_stream:
            fn = _decoded_requests(handler.stream_stream, handler.request_deserializer)
            return grpc.stream_stream_rpc_method_handler(wrap_stream(fn), **kwargs)
        return handler


class _Undecodable:
    """Stands in for request bytes that are not the method's message."""


_UNDECODABLE = _Undecodable()


def _tolerant(deserialize: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    # gRPC answers a request it cannot decode with INTERNAL; it is the caller's mistake, so
    # the handler gets a marker instead and answers INVALID_ARGUMENT.
    if deserialize is None:
        return None

    def parse(raw: bytes) -> Any:
        try:
            return deserialize(raw)
        except Exception:
            return _UNDECODABLE

    return parse


def _undecodable(deserialize: Callable[[bytes], Any] | None) -> InvalidArgument:
    message_type = getattr(getattr(deserialize, "__self__", None), "DESCRIPTOR", None)
    name = getattr(message_type, "full_name", "") or "the method's request message"
    return InvalidArgument(f"the request is not a valid {name}")


def _decoded_request(
    fn: Callable[..., Any], deserialize: Callable[[bytes], Any] | None
) -> Callable[..., Any]:
    def call(request: Any, context: grpc.ServicerContext) -> Any:
        if request is _UNDECODABLE:
            raise _undecodable(deserialize)
        return fn(request, context)

    return call


def _decoded_requests(
    fn: Callable[..., Any], deserialize: Callable[[bytes], Any] | None
) -> Callable[..., Any]:
    def checked(requests: Iterator[Any]) -> Iterator[Any]:
        for request in requests:
            if request is _UNDECODABLE:
                raise _undecodable(deserialize)
            yield request

    def call(requests: Iterator[Any], context: grpc.ServicerContext) -> Any:
        return fn(checked(requests), context)

    return call


class CaptureInterceptor(grpc.ServerInterceptor):
    """Append every request exactly as received (method, raw bytes) to a file.

    For audits and the privacy tests, which prove that nothing a service received holds an
    identifier. Off unless configured; it records only what the service receives anyway.
    Each record: 2-byte method length, method, 4-byte message length, message (big-endian).
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("ab")
        self._lock = threading.Lock()

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(handler_call_details)
        if handler is None or handler.request_deserializer is None:
            return handler
        method = handler_call_details.method.encode()
        deserialize = handler.request_deserializer

        def capture(raw: bytes) -> Any:
            record = struct.pack(">H", len(method)) + method + struct.pack(">I", len(raw)) + raw
            with self._lock:
                self._file.write(record)
                self._file.flush()
            return deserialize(raw)

        return handler._replace(request_deserializer=capture)  # type: ignore[attr-defined,no-any-return]


def read_captured(path: Path) -> Iterator[tuple[str, bytes]]:
    """The (method, raw request) records a CaptureInterceptor wrote."""
    data = path.read_bytes() if path.exists() else b""
    offset = 0
    while offset < len(data):
        (n,) = struct.unpack_from(">H", data, offset)
        method = data[offset + 2 : offset + 2 + n].decode()
        offset += 2 + n
        (m,) = struct.unpack_from(">I", data, offset)
        yield method, data[offset + 4 : offset + 4 + m]
        offset += 4 + m


def _already_aborted(context: grpc.ServicerContext) -> bool:
    # context.abort() raises a bare Exception after setting the status; let that through.
    return getattr(context, "code", lambda: None)() is not None


def build_server(
    *,
    max_workers: int = 16,
    interceptors: Iterable[grpc.ServerInterceptor] = (),
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    capture_file: Path | None = None,
) -> grpc.Server:
    """A server with metrics and our error mapping outermost, and conservative message limits.

    The metrics interceptor sits outside the error mapping, so it counts the status callers get.
    """
    capture = [CaptureInterceptor(capture_file)] if capture_file is not None else []
    return grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers),
        interceptors=[*capture, MetricsInterceptor(), ErrorMappingInterceptor(), *interceptors],
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
            ("grpc.so_reuseport", 0),
        ],
    )


def add_health_and_reflection(
    server: grpc.Server, service_names: Sequence[str]
) -> health.HealthServicer:
    """Register gRPC health checking and server reflection for the given services."""
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    for name in service_names:
        servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        [*service_names, reflection.SERVICE_NAME, health.SERVICE_NAME], server
    )
    return servicer


def full_service_name(pb2_module: Any, service: str) -> str:
    """The fully qualified name of a service declared in a generated module."""
    return str(pb2_module.DESCRIPTOR.services_by_name[service].full_name)
