"""Spine: signals per second from a node's outbox into the hub's SQLite, against a floor hub.

What runs (every service its own process, so no two share a GIL):

* the real hub (`seinhuis hub serve`, started by seinhuis.network.Launcher; SQLite, the
  Layout's hub.toml with its default limits, its judge in a process of its own), and the
  floor hub (bench.floor_hub: the same TLS and keys, only opens and verifies, answers OK);
* two real nodes (`seinhuis node serve`), one delivering to each. Their own delivery path does
  the work: node.delivery.Sender claims a batch (500) from the outbox, signs and seals each
  statement (Sealer), streams it over mutual TLS (IntakeService.SubmitStream) and records the
  hub's answers in the outbox.

A round puts N signals into one node's outbox in one transaction (from this process, as the
import fast path does), then waits until none is pending. Its time runs from that commit to the
last `delivered_at` the node recorded, so polling does not count. Floor and real rounds
alternate; the figures are medians. The hub answers only after its commit, so a delivered
signal is in the hub's SQLite; the hub's row count is checked at the end.

Each round also reads the CPU seconds (/proc) the node and the hub or floor process used (the
hub's with its judge process, after the judge has caught up with the round's signals): CPU per
signal hardly moves with other load on the machine, and says which side the time goes to.
The node's Sender streams two batches at once (while the hub checks and stores one, the next is
sealed and sent), so on two cores the rate is bound by the busier side, not by their sum.
`python -m bench.profile_spine` splits each side's CPU into stages.

Unary latency: this process calls IntakeService.Submit once at a time (sealed beforehand, so
only the round trip counts) on the hub and on the floor, in alternating blocks.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import grpc

from bench import net
from bench.report import Figure
from node import serde
from node.model import Signal, Subject
from node.outbox import Outbox, Outgoing
from seinhuis import catalogue as catalogue_module
from seinhuis import transport
from seinhuis.crypto import keys
from seinhuis.crypto.envelope import Sealer
from seinhuis.keys_cli import PartnerSpec
from seinhuis.network import Launcher, Layout, Running
from seinhuis.transport import TlsFiles
from seinhuis.v1 import envelope_pb2, intake_pb2, intake_pb2_grpc
from seinhuis.vocabulary import PartnerType, SignalType, Urgency

SECTION = "spine"
RATE = "signals/s into hub SQLite (real node delivery: outbox > Sender > SubmitStream)"
P50 = "Submit round trip p50 (sequential unary)"
P99 = "Submit round trip p99 (sequential unary)"
HUB_CPU = "hub CPU per stored signal (intake and judge processes)"
NODE_CPU = "node process CPU per delivered signal (sign, seal, stream, record)"
FIGURES = (RATE, HUB_CPU, NODE_CPU, P50, P99)
FLOOR_NAME = "open+verify-only hub"

REAL = PartnerSpec("ggd-spine", PartnerType.GGD)
FLOOR = PartnerSpec("ggd-floor", PartnerType.GGD)
#: No signal pseudonymises anything here; the nodes need a pseudonym target, never dialled.
UNUSED_PORT = 9
_PENDING = "SELECT COUNT(*) FROM outbox WHERE state = 'PENDING'"
_QUEUED = "SELECT COUNT(*) FROM hub_judge_queue"


@dataclass(frozen=True)
class Sizes:
    signals_per_round: int
    rounds: int  # per side
    unary_blocks: int  # per side
    unary_calls_per_block: int


FULL = Sizes(signals_per_round=10_000, rounds=3, unary_blocks=5, unary_calls_per_block=200)
QUICK = Sizes(signals_per_round=2_000, rounds=2, unary_blocks=2, unary_calls_per_block=30)


def _payloads(n: int) -> list[Outgoing]:
    """GGD signals as the node stores them: pseudonyms only (random 32 bytes; the hub checks
    the length, not the point)."""
    rule = catalogue_module.load().check_sender(PartnerType.GGD, SignalType.ZORGWEKKEND_GEDRAG)
    observed = dt.date.today() - dt.timedelta(days=7)
    keep = rule.keep_until(observed, None)
    return [
        Outgoing(
            Signal(
                signal_type=rule.signal_type,
                life_domain=rule.life_domain,
                urgency=Urgency.NORMAAL,
                legal_basis=rule.legal_basis,
                observed_on=observed,
                keep_until=keep,
                subject=Subject(os.urandom(32), os.urandom(32), 1),
            )
        )
        for _ in range(n)
    ]


@dataclass(frozen=True)
class _Round:
    n: int
    seconds: float
    #: CPU seconds (user + system) of the node and of the hub or floor during the round; the
    #: node's include the short wait for its next idle poll, the polls themselves are tiny.
    node_cpu: float
    server_cpu: float

    @property
    def rate(self) -> float:
        return self.n / self.seconds


@dataclass
class _Node:
    """A running node process and this process's handle on its outbox."""

    name: str
    run: Running
    database: Path
    outbox: Outbox

    def deliver(self, n: int, server_pid: int, settle: Callable[[], None] = lambda: None) -> _Round:
        """Seconds from committing n signals to the node recording the last one delivered,
        and the CPU seconds the node and the server process(es) spent on them: `settle` waits
        for the work a server does after acknowledging (the hub's judge) before CPU is read."""
        before = net.scalar(self.database, "SELECT COALESCE(MAX(seq), 0) FROM outbox")
        items = _payloads(n)
        cpu_before = net.cpu_seconds(self.run.process.pid), net.cpu_seconds(server_pid)
        self.outbox.accept_many(items)
        start = time.time()
        if not net.wait_until(
            lambda: net.scalar(self.database, _PENDING) == 0, timeout=60 + n / 100
        ):
            raise RuntimeError(f"{self.name}: still pending after {60 + n / 100:.0f} s")
        refused = net.scalar(
            self.database,
            "SELECT COUNT(*) FROM outbox WHERE seq > ? AND state != 'DELIVERED'",
            (before,),
        )
        if refused:
            raise RuntimeError(f"{self.name}: {refused} signals not delivered (see outbox)")
        settle()
        node_cpu, server_cpu = net.cpu_seconds(self.run.process.pid), net.cpu_seconds(server_pid)
        last = net.scalar(
            self.database, "SELECT MAX(delivered_at) FROM outbox WHERE seq > ?", (before,)
        )
        return _Round(
            n=n,
            seconds=last / 1e6 - start,
            node_cpu=node_cpu - cpu_before[0],
            server_cpu=server_cpu - cpu_before[1],
        )


def _judged(database: Path) -> Callable[[], None]:
    """Waits until the hub's judge has judged everything queued (its CPU then counts too)."""

    def wait() -> None:
        if not net.wait_until(lambda: net.scalar(database, _QUEUED) == 0, timeout=300):
            raise RuntimeError("the hub's judge did not catch up within 300 s")

    return wait


def _start_node(
    layout: Layout, launcher: Launcher, partner: PartnerSpec, name: str, hub_port: int
) -> _Node:
    folder = layout.root / "bench-nodes" / name
    database = folder / "node.db"
    config = net.write_node_config(
        folder / "node.toml",
        layout,
        partner,
        hub_port=hub_port,
        pseudonym_port=UNUSED_PORT,
        database=database,
        idle_poll_s=0.02,
    )
    run = net.start(launcher, name, "node", config)
    return _Node(name, run, database, Outbox(database))


def _unary_client(
    layout: Layout, partner: PartnerSpec, port: int
) -> tuple[grpc.Channel, intake_pb2_grpc.IntakeServiceStub, Sealer]:
    folder = layout.node_dir(partner.id)
    tls = TlsFiles(layout.root / "ca" / "ca.crt", folder / "tls.crt", folder / "tls.key")
    channel = transport.secure_channel(f"127.0.0.1:{port}", tls, server_name="hub")
    sealer = Sealer(
        partner_id=partner.id,
        signing_key=keys.load_signing_key(folder / "signing.key"),
        hub_id="hub",
        hub_public=keys.load_sealing_public(folder / "hub-sealing.pub"),
    )
    return channel, intake_pb2_grpc.IntakeServiceStub(channel), sealer


def _unary_block(stub: intake_pb2_grpc.IntakeServiceStub, sealer: Sealer, n: int) -> list[float]:
    """n sequential Submit calls; their round trips in ms (sealing happens before the clock)."""
    now = dt.datetime.now(dt.UTC)
    envelopes: list[envelope_pb2.SealedEnvelope] = []
    for item in _payloads(n):
        kind, payload = serde.payload_to_bytes(item.payload)
        envelopes.append(sealer.seal(serde.statement(os.urandom(16), kind, payload, now)))
    times = []
    for envelope in envelopes:
        request = intake_pb2.SubmitRequest(envelope=envelope)
        start = time.perf_counter()
        stub.Submit(request, timeout=30)
        times.append((time.perf_counter() - start) * 1000)
    return times


def run(*, quick: bool = False, progress: bool = True) -> list[Figure]:
    sizes = QUICK if quick else FULL
    say = net.say if progress else net.quiet
    with tempfile.TemporaryDirectory(prefix="seinhuis-bench-spine-") as tmp:
        layout = net.create_network(Path(tmp) / "net", [REAL, FLOOR])
        launcher = Launcher(layout)
        floor_hub: net.Floor | None = None
        nodes: list[_Node] = []
        channels: list[grpc.Channel] = []
        try:
            hub = net.start(launcher, "hub", "hub", layout.hub_dir / "hub.toml")
            floor_hub = net.start_floor_hub(layout, FLOOR.id)
            real = _start_node(layout, launcher, REAL, "node-real", hub.port)
            floor = _start_node(layout, launcher, FLOOR, "node-floor", floor_hub.port)
            nodes = [real, floor]
            # Warm up: connections, TLS handshakes, first allocations, the hub's tables.
            real.deliver(500, hub.process.pid)
            floor.deliver(500, floor_hub.process.pid)
            real_rounds: list[_Round] = []
            floor_rounds: list[_Round] = []
            n = sizes.signals_per_round
            judged = _judged(layout.hub_dir / "hub.db")
            for i in range(sizes.rounds):
                floor_rounds.append(floor.deliver(n, floor_hub.process.pid))
                real_rounds.append(real.deliver(n, hub.process.pid, judged))
                say(
                    f"  spine round {i + 1}/{sizes.rounds}: floor {floor_rounds[-1].rate:,.0f}/s,"
                    f" hub {real_rounds[-1].rate:,.0f}/s"
                )
            stored = net.scalar(layout.hub_dir / "hub.db", "SELECT COUNT(*) FROM hub_signals")
            expected = 500 + sizes.rounds * n
            if stored != expected:
                raise RuntimeError(f"the hub holds {stored} signals, expected {expected}")

            hub_channel, hub_stub, hub_sealer = _unary_client(layout, REAL, hub.port)
            floor_channel, floor_stub, floor_sealer = _unary_client(layout, FLOOR, floor_hub.port)
            channels = [hub_channel, floor_channel]
            _unary_block(hub_stub, hub_sealer, 10)
            _unary_block(floor_stub, floor_sealer, 10)
            hub_ms: list[float] = []
            floor_ms: list[float] = []
            for _ in range(sizes.unary_blocks):
                floor_ms += _unary_block(floor_stub, floor_sealer, sizes.unary_calls_per_block)
                hub_ms += _unary_block(hub_stub, hub_sealer, sizes.unary_calls_per_block)
        finally:
            for channel in channels:
                channel.close()
            launcher.stop_all()
            if floor_hub is not None:
                floor_hub.stop()
            for node in nodes:
                node.outbox.close()
    return [
        Figure(
            SECTION,
            RATE,
            statistics.median(r.rate for r in real_rounds),
            "signals/s",
            floor=statistics.median(r.rate for r in floor_rounds),
            floor_name=FLOOR_NAME,
            target=">= 2,000/s and >= 0.6 of floor",
        ),
        Figure(
            SECTION,
            HUB_CPU,
            _per_signal_us(real_rounds, server=True),
            "us CPU/signal",
            floor=_per_signal_us(floor_rounds, server=True),
            floor_name=FLOOR_NAME,
        ),
        Figure(
            SECTION,
            NODE_CPU,
            _per_signal_us(real_rounds, server=False),
            "us CPU/signal",
            floor=_per_signal_us(floor_rounds, server=False),
            floor_name="same node, floor hub",
        ),
        Figure(
            SECTION,
            P50,
            statistics.median(hub_ms),
            "ms",
            floor=statistics.median(floor_ms),
            floor_name=FLOOR_NAME,
        ),
        Figure(
            SECTION,
            P99,
            net.percentile(hub_ms, 99),
            "ms",
            floor=net.percentile(floor_ms, 99),
            floor_name=FLOOR_NAME,
        ),
    ]


def _per_signal_us(rounds: list[_Round], *, server: bool) -> float:
    return statistics.median((r.server_cpu if server else r.node_cpu) / r.n * 1e6 for r in rounds)
