"""Delivery to the hub: a sender thread that drains the outbox, and a feed follower thread.

The sender signs and seals each pending message at send time (fresh signed_at, the id fixed at
acceptance), sends a batch over IntakeService.SubmitStream, and records the hub's answer per
envelope. A failed call keeps the batch pending and backs off exponentially with jitter. The
follower subscribes to the partner feed from the stored cursor and reconnects likewise.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from node import serde
from node.inbox import CASE_KINDS, KIND_SIGNAL_EXPIRED, KIND_SIGNAL_WITHDRAWN, Inbox
from node.model import Notification
from node.outbox import Outbox, PendingMessage, Result
from seinhuis import logs, metrics
from seinhuis.crypto.envelope import Sealer
from seinhuis.errors import CATALOG, InvalidArgument, SeinhuisError, Unavailable
from seinhuis.serde import enum_to_proto
from seinhuis.v1 import (
    envelope_pb2,
    feed_pb2,
    feed_pb2_grpc,
    intake_pb2,
    intake_pb2_grpc,
    vocabulary_pb2,
)
from seinhuis.vocabulary import WithdrawReason

log = logs.get_logger(__name__)

#: Per-envelope codes that say "not now" rather than "never": the message stays pending.
#: (RESOURCE_EXHAUSTED is the hub's rate limit; refusing on it would lose signals in a burst.)
TRANSIENT_CODES = frozenset(
    {
        grpc.StatusCode.RESOURCE_EXHAUSTED.value[0],
        grpc.StatusCode.UNAVAILABLE.value[0],
        grpc.StatusCode.ABORTED.value[0],
        grpc.StatusCode.DEADLINE_EXCEEDED.value[0],
    }
)
_BY_STATUS = {status: cls for cls, status in CATALOG.items()}


@dataclass(frozen=True)
class Backoff:
    """Exponential back-off with jitter: attempt n waits up to initial * 2**(n-1), capped."""

    initial_s: float = 0.1
    max_s: float = 10.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        ceiling = min(self.max_s, self.initial_s * 2.0 ** min(max(attempt - 1, 0), 30))
        # Jitter in the upper half: spreads reconnecting nodes without ever retrying at once.
        jitter: float = (rng or random).uniform(0.5, 1.0)
        return ceiling * jitter


def _error_from_rpc(exc: grpc.RpcError) -> SeinhuisError:
    """The SeinhuisError matching a failed call to the hub, with the hub's public message."""
    code: grpc.StatusCode = exc.code()
    details: str = exc.details() or code.name
    cls = _BY_STATUS.get(code.name)
    if cls is None or cls is Unavailable:
        return Unavailable(f"the hub is not reachable ({code.name})")
    return cls(f"hub: {details}")


def _thread(target: Callable[[], None], name: str) -> threading.Thread:
    # Run in a copy of the creator's context, so log lines keep the bound service name.
    context = contextvars.copy_context()
    return threading.Thread(target=context.run, args=(target,), name=name, daemon=True)


class HubClient:
    """The node's calls to the hub's IntakeService over mutual TLS."""

    def __init__(self, channel: grpc.Channel, *, timeout_s: float = 30.0) -> None:
        self._stub = intake_pb2_grpc.IntakeServiceStub(channel)
        self._timeout = timeout_s
        self._lock = threading.Lock()
        self._current: set[grpc.Future[Any]] = set()  # one per sending thread

    def submit_stream(self, envelopes: Iterable[envelope_pb2.SealedEnvelope]) -> list[Any]:
        """Send envelopes as one stream; the hub's EnvelopeResult per envelope.

        `envelopes` is consumed lazily by gRPC's sending thread, so sealing the next ones
        overlaps with the hub checking the previous ones; they travel many per message.
        """
        requests = _batched_requests(envelopes)
        future = self._stub.SubmitStream.future(requests, timeout=self._timeout)
        with self._lock:
            self._current.add(future)
        try:
            response: intake_pb2.SubmitStreamResponse = future.result()
        finally:
            with self._lock:
                self._current.discard(future)
        return list(response.results)

    def cancel(self) -> None:
        """Cancel the calls in progress, so a stopping node does not wait for the hub."""
        with self._lock:
            for future in self._current:
                future.cancel()

    def withdraw(self, message_id: bytes, reason: WithdrawReason) -> None:
        """Withdraw a delivered signal at the hub; raises the hub's refusal as SeinhuisError."""
        request = intake_pb2.WithdrawRequest(
            id=message_id, reason=enum_to_proto(reason, vocabulary_pb2.WithdrawReason)
        )
        try:
            self._stub.Withdraw(request, timeout=self._timeout)
        except grpc.RpcError as exc:
            raise _error_from_rpc(exc) from None


#: Envelopes per stream message: big enough to spread gRPC's per-message cost, small enough
#: (about 40 KiB) to keep the hub checking while the node still seals.
ENVELOPES_PER_MESSAGE = 100


def _batched_requests(
    envelopes: Iterable[envelope_pb2.SealedEnvelope],
) -> Iterator[intake_pb2.SubmitStreamRequest]:
    chunk: list[envelope_pb2.SealedEnvelope] = []
    for envelope in envelopes:
        chunk.append(envelope)
        if len(chunk) == ENVELOPES_PER_MESSAGE:
            yield intake_pb2.SubmitStreamRequest(envelopes=chunk)
            chunk = []
    if chunk:
        yield intake_pb2.SubmitStreamRequest(envelopes=chunk)


class Sender:
    """The background threads that drain the outbox to the hub.

    `streams` threads each claim their own batch and stream it, so while the hub checks and
    stores one batch the next is already being sealed and sent: neither side waits for the
    other. Each message is in one claim at a time; order between batches is not kept, and
    nothing at the hub depends on it (ids make delivery idempotent, the judgement orders by
    observation dates).
    """

    def __init__(
        self,
        outbox: Outbox,
        hub: HubClient,
        sealer: Sealer,
        *,
        batch_size: int = 500,
        streams: int = 2,
        backoff: Backoff = Backoff(),
        idle_poll_s: float = 1.0,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._outbox = outbox
        self._hub = hub
        self._sealer = sealer
        self._batch_size = batch_size
        self._batch_limit = batch_size
        self._backoff = backoff
        # Wake up now and then even without an accept here: the import fast path may have
        # filled the outbox from another process.
        self._idle_poll_s = idle_poll_s
        self._clock = clock
        self._stop = threading.Event()
        self._last_code = ""
        self._threads = [_thread(self._run, f"node-sender-{i}") for i in range(streams)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._hub.cancel()
        self._outbox.wake()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout)

    def _run(self) -> None:
        failures = 0
        seen = self._outbox.accepted_seq()
        while not self._stop.is_set():
            try:
                failures, seen = self._step(failures, seen)
            except Exception as exc:  # the thread must survive anything, even a broken log
                with contextlib.suppress(Exception):
                    log.error("node.thread_crashed", thread="sender", error_type=type(exc).__name__)
                self._stop.wait(self._backoff.max_s)

    def _step(self, failures: int, seen: int) -> tuple[int, int]:
        """One batch: (consecutive failures, last accept seen) afterwards."""
        batch = self._outbox.claim(self._batch_limit)
        if not batch:
            return failures, self._outbox.wait_for_accept(seen, self._idle_poll_s)
        try:
            ok = self.send_batch(batch, attempt=failures + 1)
        finally:
            self._outbox.release([m.id for m in batch])  # a no-op once results are recorded
        if ok:
            return 0, seen
        failures += 1
        delay = self._backoff.delay(failures)
        log.warning(
            "node.delivery_failed",
            attempt=failures,
            code=self._last_code,
            backoff_s=round(delay, 3),
            pending=self._outbox.pending_count(),
        )
        self._stop.wait(delay)
        return failures, seen

    def send_batch(self, batch: Sequence[PendingMessage], *, attempt: int = 1) -> bool:
        """Send one batch and record the outcome; False if it must be retried later."""
        signed_at = self._clock()
        envelopes = (
            self._sealer.seal(serde.statement(m.id, m.kind, m.payload, signed_at)) for m in batch
        )
        started = time.perf_counter()
        try:
            answers = self._hub.submit_stream(envelopes)
        except grpc.RpcError as exc:
            metrics.NODE_DELIVERY_SECONDS.labels("failed").observe(time.perf_counter() - started)
            code = exc.code()
            self._last_code = code.name if code is not None else "UNKNOWN"
            if code is grpc.StatusCode.RESOURCE_EXHAUSTED:
                # The hub may take fewer envelopes per stream than we send: send fewer.
                self._batch_limit = max(1, len(batch) // 2)
            self._outbox.record_failure([m.id for m in batch])
            return False
        metrics.NODE_DELIVERY_SECONDS.labels("answered").observe(time.perf_counter() - started)
        by_index = {int(a.index): a for a in answers}
        final: list[Result] = []
        retry: list[bytes] = []
        for i, m in enumerate(batch):
            a = by_index.get(i)
            if a is None or a.code in TRANSIENT_CODES:
                retry.append(m.id)
            else:
                final.append(Result(m.id, int(a.code), str(a.message)))
        self._batch_limit = min(self._batch_size, self._batch_limit * 2)
        delivered, refused = self._outbox.record_results(final)
        if retry:
            self._last_code = "TRANSIENT"
            self._outbox.record_failure(retry)
        if delivered:
            log.info("node.delivered", count=delivered, attempt=attempt)
        for r in refused:
            log.warning("node.delivery_refused", id=r.id, code=r.code)
        return not retry


class FeedFollower:
    """The background thread that follows the hub's partner feed into the inbox."""

    def __init__(
        self, inbox: Inbox, channel: grpc.Channel, *, backoff: Backoff = Backoff()
    ) -> None:
        self._inbox = inbox
        self._stub = feed_pb2_grpc.PartnerFeedServiceStub(channel)
        self._backoff = backoff
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._call: Any = None
        self._thread = _thread(self._run, "node-feed")

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._lock:
            if self._call is not None:
                self._call.cancel()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            code = "END_OF_STREAM"
            try:
                after = self._inbox.cursor()
                call = self._stub.Subscribe(feed_pb2.SubscribeRequest(after_cursor=after))
                with self._lock:
                    self._call = call
                if self._stop.is_set():
                    call.cancel()
                log.info("node.feed_subscribed", after_cursor=after)
                for response in call:
                    self.handle(response)
                    failures = 0
            except grpc.RpcError as exc:
                status = exc.code()
                code = status.name if status is not None else "UNKNOWN"
            except Exception as exc:
                log.error("node.thread_crashed", thread="feed", error_type=type(exc).__name__)
                code = "INTERNAL"
            finally:
                with self._lock:
                    self._call = None
            if self._stop.is_set():
                return
            failures += 1
            delay = self._backoff.delay(failures)
            log.info(
                "node.feed_disconnected", attempt=failures, code=code, backoff_s=round(delay, 3)
            )
            self._stop.wait(delay)

    def handle(self, response: feed_pb2.SubscribeResponse) -> None:
        """Store one notification and advance the cursor."""
        which: str = response.WhichOneof("notification") or "unknown"
        if which in CASE_KINDS:
            # Case notices keep their content, so the inbox can map them to our references.
            if self._inbox.store_response(response):
                log.info("node.feed_notification", cursor=int(response.cursor), kind=which)
            return
        reason = None
        if which == KIND_SIGNAL_WITHDRAWN:
            message_id = bytes(response.signal_withdrawn.id)
            try:
                reason = serde.withdraw_reason_from_proto(response.signal_withdrawn.reason)
            except InvalidArgument:
                reason = None  # unspecified or newer than this node: the withdrawal still counts
        elif which == KIND_SIGNAL_EXPIRED:
            message_id = bytes(response.signal_expired.id)
        else:
            # A kind this node does not know yet: keep the cursor moving, remember it happened.
            message_id = b""
        created = (
            response.created_at.ToDatetime(dt.UTC)
            if response.HasField("created_at")
            else dt.datetime.now(dt.UTC)
        )
        notification = Notification(
            cursor=int(response.cursor),
            created_at=created,
            kind=which,
            id=message_id,
            reason=reason,
            partner_reference="",
        )
        if self._inbox.store(notification):
            log.info("node.feed_notification", cursor=notification.cursor, kind=which)
