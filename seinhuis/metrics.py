"""Prometheus metrics: one registry per process, the catalogue of every metric, a gRPC server
interceptor, and the `/metrics` endpoint on a loopback address.

Like the log catalogue (seinhuis.logs), this module lists every metric a service exposes with
the closed set of values each label may take: enum values, status names, the server's own
method names. A value outside its set is counted as "other", so no pseudonym, identifier,
partner id or free text can ever become a label, whatever a caller passes by mistake.
Instrumented code calls `FAMILY.labels(...)` on the families below; the intake paths count
once per batch (`.inc(n)`), never per envelope.
"""

from __future__ import annotations

import ipaddress
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import grpc
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    make_wsgi_app,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from seinhuis.atomic import write_port_file
from seinhuis.errors import CATALOG, ConfigError, SeinhuisError
from seinhuis.vocabulary import IdentifierKind, PartnerType, SignalType

#: The label value for anything outside a label's closed set.
OTHER = "other"

# The *_created samples double the output and say only when the process started.
disable_created_metrics()  # type: ignore[no-untyped-call]
#: Every metric of this process; `/metrics` serves exactly this registry.
REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

_M = TypeVar("_M", Counter, Histogram)

#: gRPC status names (OK, INVALID_ARGUMENT, ...).
STATUS_NAMES = frozenset(code.name for code in grpc.StatusCode)
#: The error catalogue's class names (seinhuis.errors), the "reason" of a refusal.
CATALOG_REASONS = frozenset(cls.__name__ for cls in CATALOG) | {"Internal"}


class Family(Generic[_M]):
    """A labelled metric whose label values come from closed sets.

    `labels(...)` maps any value outside its set to "other" and caches the child, so a call
    costs one dict lookup once a combination has been seen.
    """

    def __init__(self, metric: _M, closed: Iterable[frozenset[str] | None]) -> None:
        self._metric: _M = metric
        #: None: the values come from the server itself (its registered method names).
        self._closed = tuple(closed)
        self._children: dict[tuple[str, ...], _M] = {}

    def labels(self, *values: str) -> _M:
        child = self._children.get(values)
        if child is None:
            safe = tuple(
                v if allowed is None or v in allowed else OTHER
                for v, allowed in zip(values, self._closed, strict=True)
            )
            # Cached under the safe values only: an outside value must not stay in memory.
            child = self._children.get(safe)
            if child is None:
                child = self._children[safe] = self._metric.labels(*safe)
        return child


def _counter(name: str, doc: str, labels: Mapping[str, frozenset[str] | None]) -> Family[Counter]:
    return Family(Counter(name, doc, tuple(labels), registry=REGISTRY), labels.values())


def _histogram(
    name: str,
    doc: str,
    labels: Mapping[str, frozenset[str] | None],
    buckets: tuple[float, ...],
) -> Family[Histogram]:
    metric = Histogram(name, doc, tuple(labels), registry=REGISTRY, buckets=buckets)
    return Family(metric, labels.values())


class CallbackGauge(Collector):
    """A gauge read at scrape time from a callback (e.g. a count in a database).

    A service binds its callback when it starts and unbinds when it stops; the last bound
    callback answers (tests may build several services in one process).
    """

    def __init__(self, name: str, doc: str, label: str, values: frozenset[str]) -> None:
        self._name, self._doc, self._label, self._values = name, doc, label, values
        self._callback: Callable[[], Mapping[str, float]] | None = None
        REGISTRY.register(self)

    def bind(self, callback: Callable[[], Mapping[str, float]]) -> None:
        self._callback = callback

    def unbind(self, callback: Callable[[], Mapping[str, float]] | None = None) -> None:
        if callback is None or self._callback is callback:
            self._callback = None

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return [GaugeMetricFamily(self._name, self._doc, labels=[self._label])]

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(self._name, self._doc, labels=[self._label])
        callback = self._callback
        if callback is not None:
            try:
                read = callback()
            except Exception:  # its source is gone (closed at shutdown): a scrape still works
                return [family]
            found = {v: 0.0 for v in self._values}
            for value, amount in read.items():
                key = value if value in self._values else OTHER
                found[key] = found.get(key, 0.0) + amount
            for value, amount in sorted(found.items()):
                family.add_metric([value], amount)
        return [family]


# --- the catalogue ----------------------------------------------------------------------------

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BATCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_PARTNER_TYPES = frozenset(p.value for p in PartnerType)
#: The partner type label of a caller whose certificate names no registered partner.
UNREGISTERED = "UNREGISTERED"
#: The signal type label of a population fact (BRP), which has no signal type.
POPULATION_EVENT = "POPULATION_EVENT"

# every gRPC server
GRPC_HANDLED = _counter(
    "seinhuis_grpc_server_handled_total",
    "RPCs completed, by method and gRPC status code.",
    {"grpc_service": None, "grpc_method": None, "grpc_code": STATUS_NAMES},
)
GRPC_SECONDS = _histogram(
    "seinhuis_grpc_server_handling_seconds",
    "Time to answer an RPC with a single response (streamed responses are not timed).",
    {"grpc_service": None, "grpc_method": None},
    _LATENCY_BUCKETS,
)

# hub
HUB_SIGNALS = _counter(
    "seinhuis_hub_signals_stored_total",
    "Signals and population facts stored by the hub, by partner type and signal type.",
    {
        "partner_type": _PARTNER_TYPES,
        "signal_type": frozenset(s.value for s in SignalType) | {POPULATION_EVENT},
    },
)
HUB_REFUSED = _counter(
    "seinhuis_hub_envelopes_refused_total",
    "Envelopes and calls the hub refused, by partner type, status code and catalogue reason.",
    {
        "partner_type": _PARTNER_TYPES | {UNREGISTERED},
        "grpc_code": STATUS_NAMES,
        "reason": CATALOG_REASONS,
    },
)
HUB_INTAKE_TO_STORE = _histogram(
    "seinhuis_hub_intake_to_store_seconds",
    "Per stored batch: from the arrival of its first envelope to the commit, by partner type.",
    {"partner_type": _PARTNER_TYPES},
    _LATENCY_BUCKETS,
)

# partner node
NODE_OUTBOX = CallbackGauge(
    "seinhuis_node_outbox_messages",
    "Messages in the node's outbox, by delivery state.",
    "state",
    frozenset({"pending", "delivered", "refused", "withdrawn"}),
)
NODE_DELIVERY_SECONDS = _histogram(
    "seinhuis_node_delivery_batch_seconds",
    "Time to deliver one batch to the hub (sealing and the SubmitStream call), by outcome.",
    {"outcome": frozenset({"answered", "failed"})},
    _BATCH_BUCKETS,
)

# pseudonymisation service
PSEUDONYM_QUERIES = _counter(
    "seinhuis_pseudonym_queries_total",
    "Queries to the pseudonymisation service, by operation, identifier kind and outcome.",
    {
        "operation": frozenset({"evaluate", "rekey_factor"}),
        "kind": frozenset(k.value for k in IdentifierKind),
        "outcome": STATUS_NAMES,
    },
)
PSEUDONYM_ELEMENTS = _counter(
    "seinhuis_pseudonym_elements_evaluated_total",
    "Blinded elements evaluated, by identifier kind.",
    {"kind": frozenset(k.value for k in IdentifierKind)},
)

# consent registry
CONSENT_CHECKS = _counter(
    "seinhuis_consent_checks_total",
    "Consent checks answered, by decision.",
    {"decision": frozenset({"PERMIT", "DENY"})},
)


def reason_of(error: type[BaseException]) -> str:
    """The catalogue class an error class belongs to (its nearest catalogued ancestor)."""
    for cls in error.__mro__:
        if cls in CATALOG:
            return cls.__name__
    return "Internal"


def hub_stored(
    partner_type: str,
    by_signal_type: Mapping[str | None, int],
    duplicates: int,
    first_arrival: float,
) -> None:
    """Count one committed intake batch: one counter call per signal type, never per envelope.

    by_signal_type: stored items per signal type (None: population facts); first_arrival:
    time.perf_counter() when the batch's first envelope arrived.
    """
    for signal_type, n in by_signal_type.items():
        HUB_SIGNALS.labels(partner_type, signal_type or POPULATION_EVENT).inc(n)
    if duplicates:
        HUB_REFUSED.labels(partner_type, "ALREADY_EXISTS", "AlreadyExists").inc(duplicates)
    HUB_INTAKE_TO_STORE.labels(partner_type).observe(time.perf_counter() - first_arrival)


def hub_refused(partner_type: str, by_error: Mapping[type[SeinhuisError], int]) -> None:
    """Count refused envelopes (per error class, summed over a stream)."""
    for error, n in by_error.items():
        HUB_REFUSED.labels(partner_type, error.status, reason_of(error)).inc(n)


# --- the gRPC server interceptor -------------------------------------------------------------


@dataclass(frozen=True)
class _MethodMetrics:
    service: str
    method: str

    def handled(self, code: str) -> None:
        GRPC_HANDLED.labels(self.service, self.method, code).inc()

    def took(self, seconds: float) -> None:
        GRPC_SECONDS.labels(self.service, self.method).observe(seconds)


def _code_of(context: grpc.ServicerContext, failed: bool) -> str:
    # context.abort() and set_code() leave the status on the context; an exception without
    # one is what gRPC answers as UNKNOWN.
    code = getattr(context, "code", lambda: None)()
    if isinstance(code, grpc.StatusCode):
        return code.name
    return "UNKNOWN" if failed else "OK"


class MetricsInterceptor(grpc.ServerInterceptor):
    """Counts every RPC by method and final status, and times single-response RPCs.

    Placed outside the error-mapping interceptor, so it sees the status the caller gets.
    """

    def __init__(self) -> None:
        self._methods: dict[str, _MethodMetrics] = {}

    def _metrics_for(self, full_method: str) -> _MethodMetrics:
        found = self._methods.get(full_method)
        if found is None:
            service, _, method = full_method.lstrip("/").rpartition("/")
            found = _MethodMetrics(service, method)
            self._methods[full_method] = found
        return found

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(handler_call_details)
        if handler is None:
            # Not one of this server's methods: never a label made from the caller's text.
            GRPC_HANDLED.labels(OTHER, OTHER, "UNIMPLEMENTED").inc()
            return None
        m = self._metrics_for(handler_call_details.method)

        def timed(fn: Callable[..., Any]) -> Callable[..., Any]:
            def call(request: Any, context: grpc.ServicerContext) -> Any:
                started = time.perf_counter()
                failed = True
                try:
                    response = fn(request, context)
                    failed = False
                    return response
                finally:
                    m.took(time.perf_counter() - started)
                    m.handled(_code_of(context, failed))

            return call

        def streamed(fn: Callable[..., Any]) -> Callable[..., Any]:
            def call(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                code = "CANCELLED"
                try:
                    yield from fn(request, context)
                    code = _code_of(context, False)
                except GeneratorExit:  # the caller went away
                    raise
                except BaseException:
                    code = _code_of(context, True)
                    raise
                finally:
                    m.handled(code)

            return call

        kwargs = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(timed(handler.unary_unary), **kwargs)
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(timed(handler.stream_unary), **kwargs)
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(streamed(handler.unary_stream), **kwargs)
        if handler.stream_stream:
            return grpc.stream_stream_rpc_method_handler(streamed(handler.stream_stream), **kwargs)
        return handler


# --- the /metrics endpoint -------------------------------------------------------------------

PATH = "/metrics"


def parse_listen(text: str) -> tuple[str, int]:
    """`host:port` on a loopback address (`[::1]:port` for IPv6); ValueError says what is wrong.

    Metrics say how busy each partner type is: they stay on the machine, for a local agent or
    a proxy that authenticates the scraper.
    """
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"must be host:port, is {text!r}")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if host != "localhost":
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(
                f"must be a loopback address (127.0.0.1, [::1], localhost), is {host!r}"
            )
    return host, int(port)


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not events; the service's own log stays the catalogue's."""


def _only_metrics_path(app: Callable[..., Any]) -> Callable[..., Any]:
    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") != PATH:
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [f"not found; metrics are at {PATH}\n".encode()]
        return app(environ, start_response)

    return serve


class Exporter:
    """Serves REGISTRY at http://listen/metrics; off when listen is empty."""

    def __init__(self, listen: str, port_file: Path | None = None) -> None:
        self._listen = listen
        self._port_file = port_file
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def start(self) -> int:
        """Bind and serve in a daemon thread; the bound port (0 when off)."""
        if not self._listen:
            return 0
        host, port = parse_listen(self._listen)
        try:
            self._server = make_server(
                host,
                port,
                _only_metrics_path(make_wsgi_app(REGISTRY)),
                server_class=_Server6 if ":" in host else _Server,
                handler_class=_QuietHandler,
            )
        except OSError as exc:
            raise ConfigError(
                f"metrics_listen: cannot bind {self._listen} ({exc.strerror})"
            ) from exc
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="metrics", daemon=True
        )
        self._thread.start()
        if self._port_file is not None:
            write_port_file(self._port_file, self.port)
        return self.port

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
