"""The hub survives a PostgreSQL restart during load and loses nothing.

A school node streams signals to a hub on PostgreSQL; while delivery is in full flight the
database server goes away, is kept down until the hub has answered the node UNAVAILABLE, and
is started again. It goes away in two ways: stopped (fast: open transactions aborted, clients
disconnected), or SIGKILLed as in a crash (its start then replays the write-ahead log). The hub
process never exits; afterwards every signal the node accepted is at the hub exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest

from hub.store import HubStore
from seinhuis.db import DatabaseUnavailable
from seinhuis.keys_cli import PartnerSpec
from seinhuis.v1 import node_pb2, node_pb2_grpc, vocabulary_pb2
from seinhuis.vocabulary import PartnerType
from tests.e2e.pg_network import PgNetwork, start_network, stop, synthetic_bsns
from tests.pg import PostgresServer

pytestmark = pytest.mark.slow

SCHOOL = PartnerSpec("school-test", PartnerType.SCHOOL)
TOTAL = 2_000
#: Small streams: many commits, so the stop lands between and inside them.
BATCH_SIZE = 100
STOP_AT = 300
PUPILS = 50
CLIENTS = 16
TIMEOUT_S = 240.0


def _requests() -> list[node_pb2.SubmitSignalRequest]:
    pupils = [
        node_pb2.LocalSubject(
            bsn=bsn,
            birth_date=vocabulary_pb2.Date(year=2013, month=1 + p % 12, day=1 + p % 28),
            postcode=f"{3600 + p:04d}KL",
            house_number=1 + p,
        )
        for p, bsn in enumerate(synthetic_bsns(PUPILS))
    ]
    return [
        node_pb2.SubmitSignalRequest(
            signal_type=vocabulary_pb2.SIGNAL_TYPE_SCHOOLVERZUIM,
            urgency=vocabulary_pb2.URGENCY_NORMAAL,
            subject=pupils[i % PUPILS],
        )
        for i in range(TOTAL)
    ]


def _wait_for(what: str, condition: Callable[[], bool], poll: float = 0.05) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(poll)


def _count(store: HubStore) -> int:
    try:
        return sum(c.active + c.withdrawn for c in store.count_signals())
    except DatabaseUnavailable:
        return -1


@pytest.mark.parametrize("how", ["stopped", "killed"])
def test_hub_survives_a_postgres_restart_under_load_and_loses_nothing(
    tmp_path: Path, postgres: PostgresServer, postgres_url: str, how: str
) -> None:
    if not postgres.owned:
        pytest.skip("the PostgreSQL server is not this session's own (SEINHUIS_TEST_POSTGRES_URL)")
    net: PgNetwork = start_network(
        tmp_path / "net", postgres_url, [SCHOOL], hubs=1, batch_size=BATCH_SIZE
    )
    hub = net.hubs[0]
    store = net.hub_store()
    try:
        with (
            grpc.insecure_channel(net.nodes[SCHOOL.id].address) as channel,
            ThreadPoolExecutor(CLIENTS) as pool,
        ):
            stub = node_pb2_grpc.NodeServiceStub(channel)
            answers = pool.map(lambda r: stub.SubmitSignal(r, timeout=120), _requests())

            _wait_for(f"the hub to hold {STOP_AT} signals", lambda: _count(store) >= STOP_AT)
            if how == "killed":
                postgres.kill()  # SIGKILL of the postmaster; its backends exit on their own
            else:
                postgres.stop("fast")
            try:
                _wait_for(
                    "the hub to answer UNAVAILABLE while its database is down",
                    lambda: bool(_unavailable_answers(net)),
                    poll=0.2,
                )
            finally:
                postgres.start()
            accepted = [bytes(a.id) for a in answers]

        assert len(set(accepted)) == TOTAL
        _wait_for(
            "the node's outbox to drain",
            lambda: all(s != "PENDING" for s in net.outbox(SCHOOL.id).values()),
            poll=0.2,
        )
        assert hub.alive(), "the hub process exited"
        outbox = net.outbox(SCHOOL.id)
        assert {i for i, s in outbox.items() if s == "DELIVERED"} == set(accepted)
        stored = [s.received.id for s in store.list_signals()]
        assert len(stored) == len(set(stored)), "a signal is stored twice"
        assert set(stored) == set(accepted)
        assert _count(store) == TOTAL
    finally:
        store.close()
        stop(net)


def _unavailable_answers(net: PgNetwork) -> list[dict[str, object]]:
    """The hub's refusals for want of its database, as its log records them."""
    return [
        e
        for e in net.hub_log_events(net.hubs[0], "rpc.failed")
        if e.get("code") == "UNAVAILABLE" and e.get("error") == "DatabaseUnavailable"
    ]
