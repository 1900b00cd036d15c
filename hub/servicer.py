"""The hub's gRPC edge: intake (Submit, SubmitStream, Withdraw) and the partner feed.

Thin by design: identify the TLS peer, rate-limit, hand envelopes to hub.intake, store the
accepted ones in one transaction per chunk, and answer only after the commit.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator

import grpc

from hub.domain import ID_BYTES, ReceivedSignal, kind_of
from hub.intake import Intake, Verdict
from hub.registry import Partner, Registry
from hub.serde import notification_to_proto, withdraw_reason_from_proto
from hub.store import HubStore, Outcome
from seinhuis import logs, metrics
from seinhuis.errors import (
    AlreadyExists,
    InvalidArgument,
    ResourceExhausted,
    SeinhuisError,
    Unauthenticated,
)
from seinhuis.ratelimit import RateLimiter
from seinhuis.transport import peer_common_name
from seinhuis.v1 import envelope_pb2, feed_pb2, feed_pb2_grpc, intake_pb2, intake_pb2_grpc

log = logs.get_logger(__name__)

#: A sealed signal envelope is well under 1 KiB; anything far larger is not one.
MAX_SEALED_BYTES = 16 * 1024
#: Envelopes per storage transaction within a stream; bounds memory whatever the stream length.
CHUNK_SIZE = 500
#: Cursors are signed 64-bit integers in storage; a larger one is no cursor the hub gave out.
MAX_CURSOR = 2**63 - 1


def _already_exists() -> AlreadyExists:
    return AlreadyExists("this message was received before")


def identify(registry: Registry, context: grpc.ServicerContext) -> Partner:
    """The registered partner behind the verified client certificate, else Unauthenticated."""
    partner = registry.by_certificate_cn(peer_common_name(context))
    if partner is None:
        log.info("hub.envelope_refused", code="UNAUTHENTICATED", reason="unknown peer certificate")
        metrics.hub_refused(metrics.UNREGISTERED, {Unauthenticated: 1})
        raise Unauthenticated("", detail="unknown peer certificate")
    return partner


def _code(error: SeinhuisError) -> int:
    """The google.rpc.Code number of an error's status."""
    value: tuple[int, str] = grpc.StatusCode[error.status].value
    return value[0]


class IntakeServicer(intake_pb2_grpc.IntakeServiceServicer):
    """Receives envelopes and withdrawals from partner nodes."""

    def __init__(
        self,
        *,
        intake: Intake,
        registry: Registry,
        store: HubStore,
        limiter: RateLimiter,
        max_envelopes_per_stream: int,
        clock: Callable[[], dt.datetime],
        chunk_size: int = CHUNK_SIZE,
        wake_judge: Callable[[], None] = lambda: None,
    ) -> None:
        self._intake = intake
        self._registry = registry
        self._store = store
        self._limiter = limiter
        self._max_envelopes = max_envelopes_per_stream
        self._clock = clock
        self._chunk_size = chunk_size
        # The store queues households in the same transaction; this only says "look now".
        self._wake_judge = wake_judge

    def Submit(
        self, request: intake_pb2.SubmitRequest, context: grpc.ServicerContext
    ) -> intake_pb2.SubmitResponse:
        partner = identify(self._registry, context)
        first_arrival = time.perf_counter()
        verdict = self._check(partner, request.envelope)
        if verdict.error is not None:
            metrics.hub_refused(partner.type, {type(verdict.error): 1})
            raise verdict.error
        (result,) = self._store_chunk(partner, [(0, verdict)], first_arrival)
        if result.code != 0:
            raise _already_exists()
        return intake_pb2.SubmitResponse(id=verdict.id)

    def SubmitStream(
        self,
        request_iterator: Iterator[intake_pb2.SubmitStreamRequest],
        context: grpc.ServicerContext,
    ) -> intake_pb2.SubmitStreamResponse:
        partner = identify(self._registry, context)
        results: list[intake_pb2.EnvelopeResult] = []
        pending: list[tuple[int, Verdict]] = []
        refused: dict[type[SeinhuisError], int] = {}  # for metrics, counted once per stream
        first_arrival = 0.0
        for index, envelope in enumerate(stream_envelopes(request_iterator)):
            if index >= self._max_envelopes:
                # Chunks already committed stay stored; the node's retry then gets ALREADY_EXISTS.
                raise ResourceExhausted(
                    f"a stream may hold at most {self._max_envelopes} envelopes"
                )
            verdict = self._check(partner, envelope)
            if verdict.error is not None:
                results.append(_result(index, verdict.id, verdict.error))
                refused[type(verdict.error)] = refused.get(type(verdict.error), 0) + 1
                continue
            if not pending:
                first_arrival = time.perf_counter()
            pending.append((index, verdict))
            if len(pending) >= self._chunk_size:
                results.extend(self._store_chunk(partner, pending, first_arrival))
                pending = []
        results.extend(self._store_chunk(partner, pending, first_arrival))
        metrics.hub_refused(partner.type, refused)
        results.sort(key=lambda r: r.index)
        return intake_pb2.SubmitStreamResponse(results=results)

    def Withdraw(
        self, request: intake_pb2.WithdrawRequest, context: grpc.ServicerContext
    ) -> intake_pb2.WithdrawResponse:
        partner = identify(self._registry, context)
        if not self._limiter.take(partner.id):
            raise ResourceExhausted("rate limit exceeded; retry later")
        if len(request.id) != ID_BYTES:
            raise InvalidArgument(f"must be {ID_BYTES} bytes", field="id")
        reason = withdraw_reason_from_proto(request.reason)
        # The store queues the signal's household for judgement with the withdrawal.
        self._store.withdraw(partner.id, bytes(request.id), reason, self._clock())
        self._wake_judge()
        log.info("hub.signal_withdrawn", id=bytes(request.id), partner=partner.id, reason=reason)
        return intake_pb2.WithdrawResponse(id=request.id)

    def _check(self, partner: Partner, envelope: envelope_pb2.SealedEnvelope) -> Verdict:
        """Rate and size, then the intake checks; every refusal is logged, none is raised."""
        error = self._admit(partner, envelope)
        verdict = (
            Verdict(b"", None, error) if error is not None else self._verify(partner, envelope)
        )
        self._log_refusal(partner, verdict)
        return verdict

    def _admit(
        self, partner: Partner, envelope: envelope_pb2.SealedEnvelope
    ) -> SeinhuisError | None:
        """Rate first (a flood costs no crypto), then size."""
        if not self._limiter.take(partner.id):
            return ResourceExhausted("rate limit exceeded; retry later")
        if envelope.ByteSize() > MAX_SEALED_BYTES:
            return ResourceExhausted(f"an envelope may be at most {MAX_SEALED_BYTES} bytes")
        return None

    def _verify(self, partner: Partner, envelope: envelope_pb2.SealedEnvelope) -> Verdict:
        try:
            return self._intake.check(envelope, partner)
        except Exception as exc:  # one broken envelope must not abort the others
            log.error("rpc.internal_error", method="intake.check", error_type=type(exc).__name__)
            return Verdict(b"", None, SeinhuisError("internal error"))

    @staticmethod
    def _log_refusal(partner: Partner, verdict: Verdict) -> None:
        if verdict.error is not None:
            log.info(
                "hub.envelope_refused",
                id=verdict.id or None,
                partner=partner.id,
                code=verdict.error.status,
                reason=verdict.error.detail,
            )

    def _store_chunk(
        self, partner: Partner, pending: list[tuple[int, Verdict]], first_arrival: float
    ) -> list[intake_pb2.EnvelopeResult]:
        """Store accepted items in one transaction; results only once it has committed."""
        if not pending:
            return []
        items = [v.item for _, v in pending if v.item is not None]
        outcomes = self._store.add_batch(items)
        self._wake_judge()  # add_batch queued the stored items' households in its transaction
        results = []
        duplicates = 0
        stored_types: dict[str | None, int] = {}  # for metrics, counted once per batch
        for (index, verdict), item, outcome in zip(pending, items, outcomes, strict=True):
            if outcome is Outcome.ALREADY_EXISTS:
                duplicates += 1
                log.debug("hub.envelope_duplicate", id=item.id, partner=partner.id)
                results.append(_result(index, verdict.id, _already_exists()))
                continue
            signal_type = item.signal.signal_type if isinstance(item, ReceivedSignal) else None
            stored_types[signal_type] = stored_types.get(signal_type, 0) + 1
            # Per envelope at debug: at thousands a second, formatting the line costs more
            # than checking the envelope; the batch line below is the one kept at info.
            log.debug(
                "hub.envelope_accepted",
                id=item.id,
                partner=partner.id,
                kind=kind_of(item),
                signal_type=signal_type,
            )
            results.append(intake_pb2.EnvelopeResult(index=index, id=verdict.id, code=0))
        log.info(
            "hub.batch_stored",
            partner=partner.id,
            stored=len(items) - duplicates,
            duplicates=duplicates,
        )
        metrics.hub_stored(partner.type, stored_types, duplicates, first_arrival)
        return results


def _result(index: int, message_id: bytes, error: SeinhuisError) -> intake_pb2.EnvelopeResult:
    return intake_pb2.EnvelopeResult(
        index=index, id=message_id, code=_code(error), message=error.message
    )


class FeedServicer(feed_pb2_grpc.PartnerFeedServiceServicer):
    """Streams each partner's notifications: the stored ones after its cursor, then new ones."""

    def __init__(self, *, registry: Registry, store: HubStore, poll_s: float = 1.0) -> None:
        self._registry = registry
        self._store = store
        self._poll_s = poll_s
        self._stopping = threading.Event()

    def shutdown(self) -> None:
        """End every open subscription promptly (the server is stopping)."""
        self._stopping.set()
        self._store.wake()

    def Subscribe(
        self, request: feed_pb2.SubscribeRequest, context: grpc.ServicerContext
    ) -> Iterator[feed_pb2.SubscribeResponse]:
        partner = identify(self._registry, context)
        cursor = request.after_cursor
        if cursor > MAX_CURSOR:
            raise InvalidArgument(f"must be at most {MAX_CURSOR}", field="after_cursor")
        log.info("hub.feed_subscribed", partner=partner.id, after_cursor=cursor)
        # A cancelled client should not keep a worker waiting until the next poll.
        context.add_callback(self._store.wake)
        while context.is_active() and not self._stopping.is_set():
            for notification in self._store.wait_for_notifications(
                partner.id, cursor, self._poll_s
            ):
                yield notification_to_proto(notification)
                cursor = notification.cursor


def stream_envelopes(
    requests: Iterator[intake_pb2.SubmitStreamRequest],
) -> Iterator[envelope_pb2.SealedEnvelope]:
    """Every envelope of a stream, in order, whether sent one or many per message."""
    for request in requests:
        if request.HasField("envelope"):
            yield request.envelope
        yield from request.envelopes
