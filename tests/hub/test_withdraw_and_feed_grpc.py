"""Withdraw and the partner feed over a real server: own signals only, erase or mark, resume."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import grpc
import pytest

from seinhuis.v1 import feed_pb2, intake_pb2, vocabulary_pb2
from tests.hub.builders import ggd_signal_pb, new_id, seal
from tests.hub.conftest import Hub

UNJUSTIFIED = vocabulary_pb2.WITHDRAW_REASON_UNJUSTIFIED
RESOLVED = vocabulary_pb2.WITHDRAW_REASON_RESOLVED
UNSPECIFIED = vocabulary_pb2.WITHDRAW_REASON_UNSPECIFIED


def send(hub: Hub, partner_id: str = "ggd-a") -> bytes:
    envelope = seal(hub.keys(partner_id), hub.sealing_key, ggd_signal_pb())
    return bytes(hub.intake(partner_id).Submit(intake_pb2.SubmitRequest(envelope=envelope)).id)


def withdraw(
    hub: Hub, partner_id: str, message_id: bytes, reason: vocabulary_pb2.WithdrawReason.ValueType
) -> None:
    hub.intake(partner_id).Withdraw(intake_pb2.WithdrawRequest(id=message_id, reason=reason))


def test_unjustified_withdrawal_erases_and_a_replay_stays_refused(hub: Hub) -> None:
    """The sender's UNJUSTIFIED withdrawal erases the signal; resending its id is ALREADY_EXISTS."""
    envelope = seal(hub.keys("ggd-a"), hub.sealing_key, ggd_signal_pb())
    stub = hub.intake("ggd-a")
    message_id = bytes(stub.Submit(intake_pb2.SubmitRequest(envelope=envelope)).id)
    withdraw(hub, "ggd-a", message_id, UNJUSTIFIED)
    assert hub.store.get_signal(message_id) is None
    with pytest.raises(grpc.RpcError) as info:
        stub.Submit(intake_pb2.SubmitRequest(envelope=envelope))
    assert info.value.code() is grpc.StatusCode.ALREADY_EXISTS
    assert hub.store.list_signals() == []


def test_resolved_withdrawal_keeps_the_signal_marked(hub: Hub) -> None:
    """RESOLVED keeps the signal, marked withdrawn."""
    message_id = send(hub)
    withdraw(hub, "ggd-a", message_id, RESOLVED)
    stored = hub.store.get_signal(message_id)
    assert stored is not None and stored.withdrawn_at is not None


@pytest.mark.parametrize(
    ("caller", "pick_id", "reason", "code"),
    [
        ("ggd-b", lambda own: own, UNJUSTIFIED, grpc.StatusCode.NOT_FOUND),
        ("ggd-a", lambda own: new_id(), UNJUSTIFIED, grpc.StatusCode.NOT_FOUND),
        ("ggd-a", lambda own: own[:8], UNJUSTIFIED, grpc.StatusCode.INVALID_ARGUMENT),
        ("ggd-a", lambda own: own, UNSPECIFIED, grpc.StatusCode.INVALID_ARGUMENT),
        ("stranger", lambda own: own, UNJUSTIFIED, grpc.StatusCode.UNAUTHENTICATED),
    ],
    ids=["other-partners", "unknown-id", "short-id", "no-reason", "unregistered-peer"],
)
def test_withdrawals_that_are_not_allowed_change_nothing(
    hub: Hub,
    caller: str,
    pick_id: Callable[[bytes], bytes],
    reason: vocabulary_pb2.WithdrawReason.ValueType,
    code: grpc.StatusCode,
) -> None:
    """Only the sender withdraws its own signal, with a reason; everything else is refused."""
    own = send(hub)
    with pytest.raises(grpc.RpcError) as info:
        withdraw(hub, caller, pick_id(own), reason)
    assert info.value.code() is code
    stored = hub.store.get_signal(own)
    assert stored is not None and stored.withdrawn_at is None


def _take(
    responses: Iterator[feed_pb2.SubscribeResponse], n: int
) -> list[feed_pb2.SubscribeResponse]:
    """The next n withdrawal notifications; the judge's case notices in between are skipped."""
    out: list[feed_pb2.SubscribeResponse] = []
    while len(out) < n:
        response = next(responses)
        if response.WhichOneof("notification") == "signal_withdrawn":
            out.append(response)
    return out


def test_the_feed_resumes_from_a_cursor_after_a_disconnect(hub: Hub) -> None:
    """A new subscription after the last cursor gets exactly the notifications added since."""
    ids = [send(hub) for _ in range(3)]
    send(hub, "ggd-b")
    withdraw(hub, "ggd-a", ids[0], UNJUSTIFIED)
    withdraw(hub, "ggd-a", ids[1], RESOLVED)
    first = hub.feed("ggd-a").Subscribe(feed_pb2.SubscribeRequest(after_cursor=0))
    got = _take(first, 2)
    assert [(n.signal_withdrawn.id, n.signal_withdrawn.reason) for n in got] == [
        (ids[0], UNJUSTIFIED),
        (ids[1], RESOLVED),
    ]
    assert 0 < got[0].cursor < got[1].cursor
    first.cancel()
    withdraw(hub, "ggd-a", ids[2], UNJUSTIFIED)
    resumed = hub.feed("ggd-a").Subscribe(feed_pb2.SubscribeRequest(after_cursor=got[-1].cursor))
    (third,) = _take(resumed, 1)
    assert third.signal_withdrawn.id == ids[2] and third.cursor > got[-1].cursor
    assert third.created_at.seconds > 0
    resumed.cancel()


def test_a_live_subscription_receives_new_notifications_only_for_its_partner(hub: Hub) -> None:
    """Notifications appended while subscribed arrive promptly; another partner's never do."""
    mine, theirs = send(hub), send(hub, "ggd-b")
    responses = hub.feed("ggd-a").Subscribe(feed_pb2.SubscribeRequest(after_cursor=0))
    received: list[feed_pb2.SubscribeResponse] = []
    reader = threading.Thread(target=lambda: received.extend(_take(responses, 1)))
    reader.start()
    time.sleep(0.2)
    withdraw(hub, "ggd-b", theirs, RESOLVED)
    withdraw(hub, "ggd-a", mine, RESOLVED)
    reader.join(timeout=5)
    assert [n.signal_withdrawn.id for n in received] == [mine]
    responses.cancel()


def test_stopping_the_hub_ends_open_subscriptions(start_hub: Callable[..., Hub]) -> None:
    """An open feed stream ends promptly when the hub stops, instead of hanging."""
    hub = start_hub()
    responses = hub.feed("ggd-a").Subscribe(feed_pb2.SubscribeRequest(after_cursor=0))
    time.sleep(0.2)
    started = time.perf_counter()
    hub.service.stop(grace=5)
    assert list(responses) == []
    assert time.perf_counter() - started < 3
