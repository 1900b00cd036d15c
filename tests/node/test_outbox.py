"""The outbox: durable at acceptance, idempotent on the partner's reference, safe to withdraw."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import pytest

from node.model import DeliveryState, Signal, Subject
from node.outbox import Outbox, Outgoing, Result
from seinhuis import message_ids
from seinhuis.errors import AlreadyExists, NotFound
from seinhuis.vocabulary import LegalBasis, LifeDomain, SignalType, Urgency, WithdrawReason

TODAY = dt.date(2026, 11, 22)


def signal(n: int = 0) -> Signal:
    return Signal(
        signal_type=SignalType.ZORGWEKKEND_GEDRAG,
        life_domain=LifeDomain.ZORGEN,
        urgency=Urgency.NORMAAL,
        legal_basis=LegalBasis.TOESTEMMING,
        observed_on=TODAY,
        keep_until=TODAY + dt.timedelta(days=700),
        subject=Subject(bytes([n]) * 32, bytes([n + 1]) * 32, 1),
    )


def test_an_accepted_message_survives_closing_and_reopening(db_path: Path) -> None:
    """Reopening the database finds the message pending, payload intact, id unchanged."""
    box = Outbox(db_path)
    message_id = box.accept(Outgoing(signal(), partner_reference="ref-1"))
    box.close()
    reopened = Outbox(db_path)
    (pending,) = reopened.claim(10)
    assert pending.id == message_id and len(message_id) == 16
    assert pending.kind == "signal" and pending.payload
    assert reopened.status(message_id).state is DeliveryState.PENDING
    assert reopened.resolve(reference="ref-1") == message_id
    reopened.close()


def test_the_database_runs_in_wal_with_full_sync(outbox: Outbox, db_path: Path) -> None:
    """WAL for concurrent readers, synchronous=FULL so an answer means durable."""
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert outbox._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_a_retry_with_the_same_reference_gets_the_same_id(outbox: Outbox) -> None:
    """A partner that missed the answer and retries does not create a second signal."""
    first = outbox.accept(Outgoing(signal(), partner_reference="case-7"))
    assert outbox.accept(Outgoing(signal(), partner_reference="case-7")) == first
    with pytest.raises(AlreadyExists, match="partner_reference"):
        outbox.accept(Outgoing(signal(9), partner_reference="case-7"))
    assert outbox.counts()[DeliveryState.PENDING] == 1


def test_concurrent_accepts_are_all_stored(outbox: Outbox) -> None:
    """Group commit: many threads accepting at once each get their own durable id."""
    ids: list[bytes] = []
    lock = threading.Lock()

    def work(k: int) -> None:
        for i in range(25):
            message_id = outbox.accept(Outgoing(signal(), partner_reference=f"t{k}-{i}"))
            with lock:
                ids.append(message_id)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 200
    assert outbox.pending_count() == 200


def test_results_mark_delivered_or_refused_and_erase_the_payload(outbox: Outbox) -> None:
    """OK and ALREADY_EXISTS deliver; another code refuses and keeps code and message."""
    a, b, c = (outbox.accept(Outgoing(signal(i))) for i in range(3))
    assert {m.id for m in outbox.claim(10)} == {a, b, c}
    delivered, refused = outbox.record_results(
        [Result(a, 0), Result(b, 6), Result(c, 7, "catalogue rule: may not send")]
    )
    assert delivered == 2 and [r.id for r in refused] == [c]
    assert outbox.status(a).state is DeliveryState.DELIVERED
    assert outbox.status(a).delivered_at is not None
    assert outbox.status(b).state is DeliveryState.DELIVERED
    status = outbox.status(c)
    assert (status.state, status.refusal_code, status.attempts) == (DeliveryState.REFUSED, 7, 1)
    assert status.refusal_message == "catalogue rule: may not send"
    rows = outbox._conn.execute("SELECT COUNT(*) FROM outbox WHERE payload IS NOT NULL")
    assert rows.fetchone()[0] == 0


def test_a_transport_failure_keeps_messages_pending(outbox: Outbox) -> None:
    """record_failure counts an attempt and gives the batch back."""
    message_id = outbox.accept(Outgoing(signal()))
    outbox.claim(10)
    assert outbox.claim(10) == []  # in flight
    outbox.record_failure([message_id])
    (again,) = outbox.claim(10)
    assert again.attempts == 1 and outbox.status(message_id).state is DeliveryState.PENDING


def test_withdrawing_a_pending_message_means_it_is_never_sent(outbox: Outbox) -> None:
    """A withdrawn pending message is never claimed for delivery."""
    message_id = outbox.accept(Outgoing(signal()))
    before = outbox.withdraw_if_pending(message_id, WithdrawReason.UNJUSTIFIED)
    assert before is DeliveryState.PENDING
    assert outbox.claim(10) == []
    status = outbox.status(message_id)
    assert status.state is DeliveryState.WITHDRAWN
    assert status.withdraw_reason is WithdrawReason.UNJUSTIFIED


def test_a_withdrawal_waits_for_a_batch_in_flight(outbox: Outbox) -> None:
    """A message being sent is withdrawn only after its result is known, so never both."""
    message_id = outbox.accept(Outgoing(signal()))
    outbox.claim(10)
    outcome: list[DeliveryState] = []
    t = threading.Thread(
        target=lambda: outcome.append(
            outbox.withdraw_if_pending(message_id, WithdrawReason.RESOLVED)
        )
    )
    t.start()
    t.join(0.2)
    assert t.is_alive() and outcome == []
    outbox.record_results([Result(message_id, 0)])
    t.join(5)
    assert outcome == [DeliveryState.DELIVERED]
    # Delivered: the domain must now ask the hub before marking it withdrawn.
    assert outbox.status(message_id).state is DeliveryState.DELIVERED


def test_unknown_ids_and_references_are_not_found(outbox: Outbox) -> None:
    """Looking up what this node never accepted is NotFound."""
    with pytest.raises(NotFound):
        outbox.status(bytes(16))
    with pytest.raises(NotFound):
        outbox.resolve(reference="nope")


def test_message_ids_are_uuidv7_in_the_order_they_were_accepted(outbox: Outbox) -> None:
    """Ids carry their acceptance time up front, so later ids sort after earlier ones (the
    hub's id indexes then grow at one end instead of everywhere)."""
    before = time.time_ns() // 1_000_000
    first = outbox.accept(Outgoing(signal(1)))
    time.sleep(0.003)
    later = outbox.accept_many([Outgoing(signal(2)), Outgoing(signal(3))])
    after = time.time_ns() // 1_000_000
    ids = [first, *(i for i in later if isinstance(i, bytes))]
    assert len(ids) == 3
    for message_id in ids:
        as_uuid = uuid.UUID(bytes=message_id)
        assert (as_uuid.variant, as_uuid.version) == (uuid.RFC_4122, 7)
        assert before <= message_ids.unix_ms(message_id) <= after
    assert first < min(ids[1:])
    assert len(set(ids)) == 3
