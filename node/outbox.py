"""The outbox: every accepted message is durable before the node answers, then delivered once.

A message is stored as its serialized payload (pseudonyms only) with an id fixed at acceptance.
States: PENDING -> DELIVERED | REFUSED | WITHDRAWN; DELIVERED -> WITHDRAWN. The payload is
erased as soon as a message leaves PENDING: the node keeps only what status lookups need.

Concurrent accepts are committed together (group commit): one fsync covers every accept that
arrived while the previous commit was running, so durability does not cap throughput.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from node import db, serde
from node.model import DeliveryState, Payload, Signal, SignalStatus
from seinhuis import message_ids
from seinhuis.errors import AlreadyExists, FailedPrecondition, NotFound, SeinhuisError
from seinhuis.vocabulary import WithdrawReason

ID_BYTES = message_ids.ID_BYTES
#: How long a withdrawal waits for a batch in flight to come back before giving up.
IN_FLIGHT_WAIT_S = 120.0
_PENDING = DeliveryState.PENDING.value
#: Host parameters per IN (...) query, well below SQLite's limit.
_SQL_CHUNK = 900


@dataclass(frozen=True)
class Outgoing:
    """A message to accept: its pseudonymous payload and the partner's optional reference."""

    payload: Payload
    partner_reference: str = ""


@dataclass(frozen=True)
class PendingMessage:
    """A message claimed for delivery."""

    id: bytes
    kind: str
    payload: bytes
    attempts: int


@dataclass(frozen=True)
class Result:
    """The hub's answer for one envelope: a google.rpc.Code and its message."""

    id: bytes
    code: int
    message: str = ""


#: google.rpc.Code values the node treats as acknowledgement.
CODE_OK = 0
CODE_ALREADY_EXISTS = 6


@dataclass(frozen=True)
class _Row:
    """An Outgoing, serialized in the caller's thread before it joins a group commit."""

    kind: str
    payload: bytes
    digest: bytes
    reference: str | None
    signal_type: str

    @classmethod
    def of(cls, item: Outgoing) -> _Row:
        kind, payload = serde.payload_to_bytes(item.payload)
        digested = payload
        if isinstance(item.payload, Signal) and item.payload.consent_receipt is not None:
            # A retried call gets a fresh consent receipt: the same signal all the same.
            _, digested = serde.payload_to_bytes(replace(item.payload, consent_receipt=None))
        return cls(
            kind=kind,
            payload=payload,
            digest=hashlib.sha256(kind.encode() + b"\x00" + digested).digest(),
            reference=item.partner_reference or None,
            signal_type=item.payload.signal_type.value if isinstance(item.payload, Signal) else "",
        )


@dataclass
class _Ticket:
    items: Sequence[_Row]
    result: list[bytes | SeinhuisError] | None = None
    error: BaseException | None = None
    done: bool = False


class Outbox:
    """The node's durable queue of outgoing messages, and its partner-reference map."""

    def __init__(self, path: Path) -> None:
        self._conn = db.connect(path, synchronous="FULL")
        self._writer = db.Writer(self._conn, path)
        self._lock = threading.RLock()
        self._commit_cv = threading.Condition()
        self._queue: list[_Ticket] = []
        self._committing = False
        self._flight_cv = threading.Condition()
        self._in_flight: set[bytes] = set()
        #: Bumped on every accept; delivery waits for it to change.
        self._accepted_cv = threading.Condition()
        self._accepted_seq = 0

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            self._writer.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._writer.transaction() as conn:
            yield conn

    # --- accepting ------------------------------------------------------------------------

    def accept(self, item: Outgoing) -> bytes:
        """Store one message durably and return its id; a reused reference is AlreadyExists."""
        (result,) = self.accept_many([item])
        if isinstance(result, SeinhuisError):
            raise result
        return result

    def accept_many(self, items: Sequence[Outgoing]) -> list[bytes | SeinhuisError]:
        """Store messages durably in one transaction; per item its id or why it was refused."""
        ticket = _Ticket([_Row.of(item) for item in items])
        with self._commit_cv:
            self._queue.append(ticket)
            while not ticket.done:
                if self._committing:
                    self._commit_cv.wait()
                    continue
                # Become the leader: commit everything queued so far, ours included.
                self._committing = True
                batch, self._queue = self._queue, []
                self._commit_cv.release()
                try:
                    self._commit(batch)
                finally:
                    self._commit_cv.acquire()
                    self._committing = False
                    self._commit_cv.notify_all()
        if ticket.error is not None:
            raise ticket.error
        assert ticket.result is not None
        return ticket.result

    def _commit(self, batch: list[_Ticket]) -> None:
        try:
            with self._transaction() as conn:
                outcomes = self._insert_all(conn, [row for t in batch for row in t.items])
            for ticket in batch:
                ticket.result, outcomes = (
                    outcomes[: len(ticket.items)],
                    outcomes[len(ticket.items) :],
                )
        except BaseException as exc:
            for ticket in batch:
                ticket.result, ticket.error = None, exc
        finally:
            for ticket in batch:
                ticket.done = True
        with self._accepted_cv:
            self._accepted_seq += 1
            self._accepted_cv.notify_all()

    def _insert_all(
        self, conn: sqlite3.Connection, rows: Sequence[_Row]
    ) -> list[bytes | SeinhuisError]:
        known = self._known_references(conn, [r.reference for r in rows if r.reference])
        now = db.now_micros()
        outcomes: list[bytes | SeinhuisError] = []
        inserts = []
        for row in rows:
            if row.reference is not None and row.reference in known:
                message_id, digest = known[row.reference]
                if digest == row.digest:
                    # The partner retried a call whose answer it missed: same message, same id.
                    outcomes.append(message_id)
                else:
                    outcomes.append(
                        AlreadyExists("partner_reference: already used for another signal")
                    )
                continue
            # Time-ordered, so the hub's id indexes grow at one end (see seinhuis.message_ids).
            message_id = message_ids.time_ordered()
            if row.reference is not None:
                known[row.reference] = (message_id, row.digest)
            inserts.append(
                (
                    message_id,
                    row.kind,
                    row.signal_type,
                    row.payload,
                    row.digest,
                    _PENDING,
                    now,
                    row.reference,
                )
            )
            outcomes.append(message_id)
        conn.executemany(
            "INSERT INTO outbox (id, kind, signal_type, payload, digest, state, accepted_at,"
            " partner_reference) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            inserts,
        )
        return outcomes

    @staticmethod
    def _known_references(
        conn: sqlite3.Connection, references: Sequence[str]
    ) -> dict[str, tuple[bytes, bytes]]:
        known: dict[str, tuple[bytes, bytes]] = {}
        unique = list(dict.fromkeys(references))
        for start in range(0, len(unique), _SQL_CHUNK):
            chunk = unique[start : start + _SQL_CHUNK]
            marks = ",".join("?" * len(chunk))
            for reference, message_id, digest in conn.execute(
                "SELECT partner_reference, id, digest FROM outbox"  # noqa: S608 - only ?s
                f" WHERE partner_reference IN ({marks})",
                chunk,
            ):
                known[reference] = (bytes(message_id), bytes(digest))
        return known

    def accepted_seq(self) -> int:
        with self._accepted_cv:
            return self._accepted_seq

    def wait_for_accept(self, seen: int, timeout: float) -> int:
        """Block until something is accepted after `seen` (or timeout); the new sequence."""
        with self._accepted_cv:
            self._accepted_cv.wait_for(lambda: self._accepted_seq != seen, timeout)
            return self._accepted_seq

    def wake(self) -> None:
        """Wake anyone in wait_for_accept, e.g. to let a stopping sender notice."""
        with self._accepted_cv:
            self._accepted_seq += 1
            self._accepted_cv.notify_all()

    # --- delivering -----------------------------------------------------------------------

    def claim(self, limit: int) -> list[PendingMessage]:
        """The oldest pending messages, marked in flight until their results are recorded."""
        with self._flight_cv, self._lock:
            rows = self._conn.execute(
                "SELECT id, kind, payload, attempts FROM outbox WHERE state = ?"
                " ORDER BY seq LIMIT ?",
                (_PENDING, limit + len(self._in_flight)),
            ).fetchall()
            claimed = [
                PendingMessage(bytes(r[0]), r[1], bytes(r[2]), r[3])
                for r in rows
                if bytes(r[0]) not in self._in_flight
            ][:limit]
            self._in_flight.update(m.id for m in claimed)
            return claimed

    def record_results(self, results: Sequence[Result]) -> tuple[int, list[Result]]:
        """Mark OK/ALREADY_EXISTS delivered and the rest refused; (delivered, refused)."""
        now = db.now_micros()
        delivered, refused = 0, []
        with self._transaction() as conn:
            for r in results:
                if r.code in (CODE_OK, CODE_ALREADY_EXISTS):
                    conn.execute(
                        "UPDATE outbox SET state = ?, attempts = attempts + 1, delivered_at = ?,"
                        " payload = NULL WHERE id = ? AND state = ?",
                        (DeliveryState.DELIVERED.value, now, r.id, _PENDING),
                    )
                    delivered += 1
                else:
                    conn.execute(
                        "UPDATE outbox SET state = ?, attempts = attempts + 1, refusal_code = ?,"
                        " refusal_message = ?, payload = NULL WHERE id = ? AND state = ?",
                        (DeliveryState.REFUSED.value, r.code, r.message[:1000], r.id, _PENDING),
                    )
                    refused.append(r)
        self._release([r.id for r in results])
        return delivered, refused

    def record_failure(self, ids: Sequence[bytes]) -> None:
        """Count a failed attempt (transport error); the messages stay pending."""
        with self._transaction() as conn:
            conn.executemany(
                "UPDATE outbox SET attempts = attempts + 1 WHERE id = ? AND state = ?",
                [(i, _PENDING) for i in ids],
            )
        self._release(ids)

    def release(self, ids: Sequence[bytes]) -> None:
        """Give claimed messages back without counting an attempt."""
        self._release(ids)

    def _release(self, ids: Sequence[bytes]) -> None:
        with self._flight_cv:
            self._in_flight.difference_update(ids)
            self._flight_cv.notify_all()

    def pending_count(self) -> int:
        with self._lock:
            (n,) = self._conn.execute(
                "SELECT COUNT(*) FROM outbox WHERE state = ?", (_PENDING,)
            ).fetchone()
            return int(n)

    # --- withdrawing and looking up -------------------------------------------------------

    def resolve(self, *, message_id: bytes = b"", reference: str = "") -> bytes:
        """The id of a message given its id or the partner's reference; else NotFound."""
        with self._lock:
            if message_id:
                row = self._conn.execute(
                    "SELECT id FROM outbox WHERE id = ?", (message_id,)
                ).fetchone()
            else:
                row = self._conn.execute(
                    "SELECT id FROM outbox WHERE partner_reference = ?", (reference,)
                ).fetchone()
        if row is None:
            raise NotFound("no such signal at this node")
        return bytes(row[0])

    def withdraw_if_pending(self, message_id: bytes, reason: WithdrawReason) -> DeliveryState:
        """Withdraw a message that was never sent; returns the state it was in before.

        A message in flight is waited for first, so that a withdrawal never races a delivery.
        Only PENDING and REFUSED messages change here; DELIVERED needs the hub first.
        """
        with self._flight_cv:
            if not self._flight_cv.wait_for(
                lambda: message_id not in self._in_flight, IN_FLIGHT_WAIT_S
            ):
                raise FailedPrecondition("the signal is being delivered; try again shortly")
            state = self.status(message_id).state
            if state in (DeliveryState.PENDING, DeliveryState.REFUSED):
                self._set_withdrawn(message_id, reason, (state,))
            return state

    def mark_withdrawn(self, message_id: bytes, reason: WithdrawReason) -> None:
        """Record that the hub confirmed the withdrawal of a delivered message."""
        self._set_withdrawn(message_id, reason, (DeliveryState.DELIVERED, DeliveryState.WITHDRAWN))

    def _set_withdrawn(
        self, message_id: bytes, reason: WithdrawReason, from_states: Sequence[DeliveryState]
    ) -> None:
        first, second = (*from_states, from_states[0])[:2]
        with self._transaction() as conn:
            conn.execute(
                "UPDATE outbox SET state = ?, withdrawn_at = ?, withdraw_reason = ?,"
                " payload = NULL WHERE id = ? AND state IN (?, ?)",
                (
                    DeliveryState.WITHDRAWN.value,
                    db.now_micros(),
                    reason.value,
                    message_id,
                    first.value,
                    second.value,
                ),
            )

    def status(self, message_id: bytes) -> SignalStatus:
        """Where a message stands; NotFound if this node never accepted it."""
        with self._lock:
            row = self._conn.execute(
                "SELECT id, state, attempts, accepted_at, delivered_at, refusal_code,"
                " refusal_message, partner_reference, withdraw_reason FROM outbox WHERE id = ?",
                (message_id,),
            ).fetchone()
        if row is None:
            raise NotFound("no such signal at this node")
        return SignalStatus(
            id=bytes(row[0]),
            state=DeliveryState(row[1]),
            attempts=row[2],
            accepted_at=db.from_micros(row[3]),
            delivered_at=db.from_micros(row[4]) if row[4] is not None else None,
            refusal_code=row[5],
            refusal_message=row[6],
            partner_reference=row[7] or "",
            withdraw_reason=WithdrawReason(row[8]) if row[8] else None,
        )

    def counts(self) -> dict[DeliveryState, int]:
        """How many messages are in each state."""
        with self._lock:
            rows = self._conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state")
            found = {DeliveryState(s): int(n) for s, n in rows}
        return {s: found.get(s, 0) for s in DeliveryState}
