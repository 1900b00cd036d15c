"""Exactly once under crashes: SIGKILL the hub or a node mid-stream, restart it, count at the hub.

Real processes on loopback with mutual TLS (tests/e2e/conftest.py). One school node accepts
signals through its local API; the tests kill a process while delivery (or acceptance) is in
full flight, restart it on the same port, wait until the node's outbox is drained, and then
compare what the node acknowledged with what the hub holds: every acknowledged id exactly once,
and nothing the node did not accept.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from hub.store import HubStore
from seinhuis.keys_cli import PartnerSpec
from seinhuis.network import Running
from seinhuis.v1 import node_pb2, node_pb2_grpc, vocabulary_pb2
from seinhuis.vocabulary import PartnerType

from .conftest import Network

pytestmark = pytest.mark.slow

SCHOOL = PartnerSpec("school-test", PartnerType.SCHOOL)
TOTAL = 10_000
#: Envelopes per delivery stream: TOTAL goes out as 20 streams of about a second each on a
#: small machine, so the hub's count climbs in steps that polling sees between 0 and TOTAL.
BATCH_SIZE = 500
#: Synthetic pupils: few enough that the node's pseudonym cache answers almost every signal.
PEOPLE = 100
#: Concurrent SubmitSignal calls (the node's server has 16 workers).
CLIENTS = 16
#: Kill once the hub holds this many: streams are stored already and most are still to come.
KILL_AT = 3_000
#: Generous: a loaded two-core CI machine delivers a few hundred signals a second.
SUBMIT_TIMEOUT_S = 240.0
DELIVERY_TIMEOUT_S = 240.0
API_SAMPLE = 200


def _test_bsns(n: int) -> list[str]:
    """The first n test citizen numbers: 999 followed by digits that pass the elfproef."""
    found: list[str] = []
    candidate = 0
    while len(found) < n:
        digits = f"999{candidate:05d}"
        candidate += 1
        check = sum(int(d) * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if check < 10:  # a remainder of 10 has no check digit
            found.append(digits + str(check))
    return found


def _requests(n: int) -> list[node_pb2.SubmitSignalRequest]:
    """n SCHOOLVERZUIM signals (citizen number, birth date and address) about PEOPLE pupils."""
    pupils = [
        node_pb2.LocalSubject(
            bsn=bsn,
            birth_date=vocabulary_pb2.Date(year=2013, month=1 + p % 12, day=1 + p % 28),
            postcode=f"{3500 + p:04d} KL",
            house_number=1 + p,
        )
        for p, bsn in enumerate(_test_bsns(PEOPLE))
    ]
    return [
        node_pb2.SubmitSignalRequest(
            signal_type=vocabulary_pb2.SIGNAL_TYPE_SCHOOLVERZUIM,
            urgency=vocabulary_pb2.URGENCY_NORMAAL,
            subject=pupils[i % PEOPLE],
        )
        for i in range(n)
    ]


# --- observing the network ------------------------------------------------------------------


def _wait_for(what: str, condition: Callable[[], bool], timeout: float, poll: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)


def _hub_count(store: HubStore) -> int:
    return sum(c.active + c.withdrawn for c in store.count_signals())


def _outbox(net: Network, partner_id: str) -> dict[bytes, str]:
    """Every message in the node's outbox and its state, read straight from its SQLite file."""
    path = net.layout.node_dir(partner_id) / "node.db"
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return {bytes(i): str(s) for i, s in conn.execute("SELECT id, state FROM outbox")}
    finally:
        conn.close()


def _pending(net: Network, partner_id: str) -> int:
    return sum(1 for s in _outbox(net, partner_id).values() if s == "PENDING")


def _submit_all(net: Network, requests: list[node_pb2.SubmitSignalRequest]) -> list[bytes]:
    """Submit every request through the node's local API, CLIENTS at a time; the ids."""
    with grpc.insecure_channel(net.nodes[SCHOOL.id].address) as channel:
        stub = node_pb2_grpc.NodeServiceStub(channel)
        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = pool.map(lambda r: stub.SubmitSignal(r, timeout=60), requests)
            return [bytes(a.id) for a in answers]


def _accept_with_hub_away(net: Network) -> list[bytes]:
    """TOTAL signals accepted while the hub is down; then the hub and the node start again.

    The node is restarted so that its fresh channel connects at once: after a long outage a
    gRPC channel waits out its reconnect back-off before it notices the hub is back.
    """
    net.hub.stop()
    ids = _submit_all(net, _requests(TOTAL))
    assert len(set(ids)) == TOTAL
    assert _pending(net, SCHOOL.id) == TOTAL, "nothing may reach the hub while it is down"
    net.restart(net.hub)
    net.restart(net.nodes[SCHOOL.id])
    return ids


def _kill_mid_stream(store: HubStore, victim: Running) -> int:
    """SIGKILL `victim` once the hub holds KILL_AT signals; the hub's count after the kill."""
    _wait_for(
        f"the hub to hold {KILL_AT} signals",
        lambda: _hub_count(store) >= KILL_AT,
        DELIVERY_TIMEOUT_S,
        poll=0.02,
    )
    victim.kill()
    return _hub_count(store)


def _assert_delivered_exactly_once(
    net: Network, store: HubStore, acknowledged: Iterable[bytes]
) -> None:
    """Every acknowledged id stored once; the hub holds exactly what the node delivered."""
    acknowledged = set(acknowledged)
    _wait_for(
        "the node's outbox to drain",
        lambda: _pending(net, SCHOOL.id) == 0,
        DELIVERY_TIMEOUT_S,
        poll=0.2,
    )
    outbox = _outbox(net, SCHOOL.id)
    delivered = {i for i, s in outbox.items() if s == "DELIVERED"}
    assert delivered == set(outbox), "no message may be refused or left pending"
    assert acknowledged <= delivered

    # Through the local API as well, for a sample (a status call per id is slow at this size).
    sample = random.Random(0).sample(sorted(acknowledged), min(API_SAMPLE, len(acknowledged)))
    with grpc.insecure_channel(net.nodes[SCHOOL.id].address) as channel:
        stub = node_pb2_grpc.NodeServiceStub(channel)
        for i in sample:
            status = stub.GetSignalStatus(node_pb2.GetSignalStatusRequest(id=i), timeout=30)
            assert status.state == node_pb2.DELIVERY_STATE_DELIVERED
            assert store.is_seen(i)

    stored = [s.received.id for s in store.list_signals()]
    assert len(stored) == len(set(stored)), "an id is stored twice"
    assert _hub_count(store) == len(stored) == len(delivered)
    assert set(stored) == delivered
    assert not store.is_seen(b"\x00" * 16)


# --- the tests ----------------------------------------------------------------------------


def test_hub_killed_mid_stream_holds_every_signal_exactly_once(
    network_factory: Callable[..., Network],
) -> None:
    """A hub SIGKILLed while 10,000 signals stream in holds exactly those 10,000 after a restart."""
    net = network_factory([SCHOOL], batch_size=BATCH_SIZE)
    ids = _accept_with_hub_away(net)
    store = net.hub_store()
    try:
        at_kill = _kill_mid_stream(store, net.hub)
        assert 0 < at_kill < TOTAL, "the kill must land while delivery is in full flight"
        net.restart(net.hub)
        _assert_delivered_exactly_once(net, store, ids)
        assert _hub_count(store) == TOTAL
    finally:
        store.close()


def test_node_killed_mid_stream_delivers_every_signal_exactly_once(
    network_factory: Callable[..., Network],
) -> None:
    """A node SIGKILLed mid-delivery of 10,000 signals delivers each exactly once when restarted."""
    net = network_factory([SCHOOL], batch_size=BATCH_SIZE)
    ids = _accept_with_hub_away(net)
    store = net.hub_store()
    try:
        at_kill = _kill_mid_stream(store, net.nodes[SCHOOL.id])
        assert 0 < at_kill < TOTAL, "the kill must land while delivery is in full flight"
        net.restart(net.nodes[SCHOOL.id])
        _assert_delivered_exactly_once(net, store, ids)
        assert _hub_count(store) == TOTAL
    finally:
        store.close()


def test_node_killed_while_accepting_delivers_what_it_acknowledged_exactly_once(
    network_factory: Callable[..., Network],
) -> None:
    """A node SIGKILLed amid submissions delivers each acknowledged signal once and nothing more."""
    planned = 6_000
    kill_after = 1_500
    net = network_factory([SCHOOL], batch_size=BATCH_SIZE)
    requests = _requests(planned)
    acknowledged: list[bytes] = []
    failures: list[grpc.StatusCode] = []
    lock = threading.Lock()
    stop = threading.Event()

    with grpc.insecure_channel(net.nodes[SCHOOL.id].address) as channel:
        stub = node_pb2_grpc.NodeServiceStub(channel)

        def client(first: int) -> None:
            for request in requests[first::CLIENTS]:
                if stop.is_set():
                    return
                try:
                    answer = stub.SubmitSignal(request, timeout=60)
                except grpc.RpcError as exc:
                    with lock:
                        failures.append(exc.code())
                    return
                with lock:
                    acknowledged.append(bytes(answer.id))

        with ThreadPoolExecutor(CLIENTS) as pool:
            running = [pool.submit(client, k) for k in range(CLIENTS)]
            try:
                _wait_for(
                    f"{kill_after} acknowledged submissions",
                    lambda: len(acknowledged) >= kill_after,
                    SUBMIT_TIMEOUT_S,
                    poll=0.01,
                )
                net.nodes[SCHOOL.id].kill()
            finally:
                stop.set()
            for future in running:
                future.result()

    assert kill_after <= len(acknowledged) < planned, "the kill must land amid the submissions"
    assert len(set(acknowledged)) == len(acknowledged)
    assert failures, "calls in flight at the kill fail"
    net.restart(net.nodes[SCHOOL.id])
    store = net.hub_store()
    try:
        net.wait_until_delivered(SCHOOL.id, acknowledged, timeout=DELIVERY_TIMEOUT_S)
        _assert_delivered_exactly_once(net, store, acknowledged)
    finally:
        store.close()
