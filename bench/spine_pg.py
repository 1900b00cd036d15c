"""Spine on PostgreSQL: a node's outbox into one hub, and into two hubs sharing one database.

The same path as bench/spine.py (node.delivery.Sender claims a batch of 500 from the outbox,
signs, seals and streams it over mutual TLS with IntakeService.SubmitStream; the hub answers
after its commit), with the hub's store on PostgreSQL 15 instead of SQLite:

* this section starts its own throwaway cluster (seinhuis.devpg: initdb, a server on a free
  loopback port, run as the `postgres` user, fsync off) and removes it at the end;
* 1 hub: the real hub process (`seinhuis hub serve`, the Layout's hub.toml with the cluster's
  database, its judge in a process of its own), fed by one node;
* 2 hubs: a second hub process on the same database (Layout hub-2) starts after the 1-hub
  rounds; another node lists both hub addresses and spreads its streams over them (gRPC round
  robin, as partners do in production).

Each setting is measured against its floor in the same run, the rounds alternating: the floor
for 1 hub is one open+verify-only hub (bench.floor_hub), for 2 hubs two of them with a node
spreading its streams over both. A round's time runs from committing N signals to the node's
outbox to the last `delivered_at` it recorded; figures are medians over the rounds.

CPU per signal (/proc, user + system): the hub processes with their judge processes, read
after the judges emptied the judgement queue; and the PostgreSQL server (the postmaster, its
live backends and what its exited children used). With two hubs both judges drain one queue.
The second hub's share of the 2-hub intake comes from the hubs' own Prometheus counters.

Targets: issue 6 asks only that these figures be reported; none is set.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import psycopg

from bench import net, spine
from bench.report import Figure
from node.outbox import Outbox
from seinhuis import devpg
from seinhuis.keys_cli import PartnerSpec
from seinhuis.network import Launcher, Layout, Running, hub_names
from seinhuis.vocabulary import PartnerType

SECTION = "spine-pg"
RATE_1 = "signals/s into hub PostgreSQL, 1 hub process (real node delivery)"
RATE_2 = "signals/s into hub PostgreSQL, 2 hub processes (one node, round robin)"
HUB_CPU_1 = "hub CPU per stored signal, 1 hub (intake and judge processes)"
HUB_CPU_2 = "hub CPU per stored signal, 2 hubs (both hubs' intake and judge processes)"
JUDGE_CPU_1 = "of which the judge process, 1 hub"
JUDGE_CPU_2 = "of which the judge processes, 2 hubs"
PG_CPU_1 = "PostgreSQL server CPU per stored signal, 1 hub"
PG_CPU_2 = "PostgreSQL server CPU per stored signal, 2 hubs"
SHARE_2 = "second hub's share of the signals stored in the 2-hub rounds"
FIGURES = (
    RATE_1,
    RATE_2,
    HUB_CPU_1,
    HUB_CPU_2,
    JUDGE_CPU_1,
    JUDGE_CPU_2,
    PG_CPU_1,
    PG_CPU_2,
    SHARE_2,
)
TARGET = "none set (issue 6: reported only)"
FLOOR_1 = "open+verify-only hub"
FLOOR_2 = "2 open+verify-only hubs"

ONE_HUB = PartnerSpec("ggd-pg-1", PartnerType.GGD)
TWO_HUBS = PartnerSpec("ggd-pg-2", PartnerType.GGD)
FLOOR = PartnerSpec("ggd-pg-floor", PartnerType.GGD)
_PENDING = "SELECT COUNT(*) FROM outbox WHERE state = 'PENDING'"
_STORED_METRIC = "seinhuis_hub_signals_stored_total"
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Sizes:
    signals_per_round: int
    rounds: int  # per side and setting
    warmup: int


FULL = Sizes(signals_per_round=10_000, rounds=3, warmup=500)
QUICK = Sizes(signals_per_round=1_000, rounds=2, warmup=200)


@dataclass(frozen=True)
class _Round:
    n: int
    seconds: float
    #: CPU seconds during the round: the hub or floor processes with their children, those
    #: children alone (the hubs' judges), and PostgreSQL.
    server_cpu: float
    judge_cpu: float
    pg_cpu: float

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

    def deliver(
        self,
        n: int,
        cpu: Callable[[], _Cpu],
        settle: Callable[[], None] = lambda: None,
    ) -> _Round:
        """Seconds from committing n signals to the node recording the last one delivered, and
        the CPU spent on them: `settle` waits for the work the hubs do after acknowledging
        (their judges) before CPU is read."""
        before = net.scalar(self.database, "SELECT COALESCE(MAX(seq), 0) FROM outbox")
        items = spine._payloads(n)  # the spine's GGD signals: pseudonyms only
        cpu_before = cpu()
        self.outbox.accept_many(items)
        start = time.time()
        limit = 60 + n / 100
        if not net.wait_until(lambda: net.scalar(self.database, _PENDING) == 0, timeout=limit):
            raise RuntimeError(f"{self.name}: still pending after {limit:.0f} s")
        refused = net.scalar(
            self.database,
            "SELECT COUNT(*) FROM outbox WHERE seq > ? AND state != 'DELIVERED'",
            (before,),
        )
        if refused:
            raise RuntimeError(f"{self.name}: {refused} signals not delivered (see outbox)")
        settle()
        cpu_after = cpu()
        last = net.scalar(
            self.database, "SELECT MAX(delivered_at) FROM outbox WHERE seq > ?", (before,)
        )
        return _Round(
            n=n,
            seconds=last / 1e6 - start,
            server_cpu=cpu_after.server - cpu_before.server,
            judge_cpu=cpu_after.children - cpu_before.children,
            pg_cpu=cpu_after.pg - cpu_before.pg,
        )


@dataclass(frozen=True)
class _Setting:
    """One measured setting: hub processes and their floor, each with its node."""

    label: str
    hub_node: _Node
    hub_pids: tuple[int, ...]
    floor_node: _Node
    floor_pids: tuple[int, ...]


def _start_node(
    layout: Layout, launcher: Launcher, partner: PartnerSpec, name: str, hub_ports: list[int]
) -> _Node:
    folder = layout.root / "bench-nodes" / name
    database = folder / "node.db"
    config = net.write_node_config(
        folder / "node.toml",
        layout,
        partner,
        hub_port=hub_ports,
        pseudonym_port=spine.UNUSED_PORT,
        database=database,
        idle_poll_s=0.02,
    )
    run = net.start(launcher, name, "node", config)
    return _Node(name, run, database, Outbox(database))


@dataclass(frozen=True)
class _Cpu:
    """CPU seconds used so far: servers with their children, the children alone, PostgreSQL."""

    server: float
    children: float
    pg: float


def _stat(pid: int) -> tuple[float, float]:
    """(own CPU seconds, CPU seconds of reaped children) of a process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    # After "pid (comm)": utime, stime, cutime, cstime are fields 14-17 (1-based).
    own = (int(fields[11]) + int(fields[12])) / _TICKS
    return own, (int(fields[13]) + int(fields[14])) / _TICKS


def _cpu_reader(pids: Sequence[int], postmaster: int) -> Callable[[], _Cpu]:
    """The PostgreSQL server's CPU: the postmaster and its live children (backends, background
    workers), plus the children it has reaped (short-lived backends, autovacuum)."""

    def read() -> _Cpu:
        totals = [net.cpu_seconds(p) for p in pids]
        own = [_stat(p)[0] for p in pids]
        pg = net.cpu_seconds(postmaster) + _stat(postmaster)[1]
        return _Cpu(sum(totals), sum(totals) - sum(own), pg)

    return read


def _scalar(conn: psycopg.Connection[tuple[object, ...]], query: str) -> int:
    row = conn.execute(query).fetchone()
    return int(row[0]) if row is not None and isinstance(row[0], int) else 0


def _stored_counter(hub: Running) -> float:
    """The hub process's count of stored signals (its Prometheus counter, all labels)."""
    with urllib.request.urlopen(hub.metrics_url, timeout=30) as response:  # noqa: S310 (loopback)
        text = response.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(_STORED_METRIC + "{")
    )


def _warm_up(setting: _Setting, n: int, settle: Callable[[], None]) -> None:
    """Connections, TLS handshakes, the database's caches (CPU not counted)."""
    setting.hub_node.deliver(n, lambda: _Cpu(0, 0, 0), settle)
    setting.floor_node.deliver(n, lambda: _Cpu(0, 0, 0))


def _measure(
    setting: _Setting,
    sizes: Sizes,
    postmaster: int,
    settle: Callable[[], None],
    say: Callable[[str], None],
) -> tuple[list[_Round], list[_Round]]:
    """Floor and hub rounds in turn: (hub rounds, floor rounds)."""
    hub_cpu = _cpu_reader(setting.hub_pids, postmaster)
    floor_cpu = _cpu_reader(setting.floor_pids, postmaster)
    hub_rounds: list[_Round] = []
    floor_rounds: list[_Round] = []
    for i in range(sizes.rounds):
        floor_rounds.append(setting.floor_node.deliver(sizes.signals_per_round, floor_cpu))
        hub_rounds.append(setting.hub_node.deliver(sizes.signals_per_round, hub_cpu, settle))
        say(
            f"  spine-pg {setting.label} round {i + 1}/{sizes.rounds}:"
            f" floor {floor_rounds[-1].rate:,.0f}/s, hub {hub_rounds[-1].rate:,.0f}/s"
        )
    return hub_rounds, floor_rounds


def run(*, quick: bool = False, progress: bool = True) -> list[Figure]:
    sizes = QUICK if quick else FULL
    say = net.say if progress else net.quiet
    with (
        tempfile.TemporaryDirectory(prefix="seinhuis-bench-spine-pg-") as tmp,
        devpg.cluster() as server,
    ):
        database_url = server.create_database("bench_spine")
        postmaster = server.postmaster_pid()
        if postmaster is None:
            raise RuntimeError("the PostgreSQL server is not running")
        layout = net.create_network(Path(tmp) / "net", [ONE_HUB, TWO_HUBS, FLOOR])
        for name in hub_names(2):
            layout.write_hub_config(database_url=database_url, name=name)
        launcher = Launcher(layout)
        floors: list[net.Floor] = []
        nodes: list[_Node] = []
        try:
            with devpg.connect(database_url) as pg:
                # Processes start side by side: one by one would take most of a quick run.
                with ThreadPoolExecutor(3) as pool:
                    hub_started = pool.submit(
                        net.start, launcher, "hub", "hub", layout.hub_dir / "hub.toml"
                    )
                    floors_started = [
                        pool.submit(net.start_floor_hub, layout, FLOOR.id, name=name)
                        for name in ("floor", "floor-2")
                    ]
                # Every floor that started is stopped at the end, also when another did not.
                floors = [f.result() for f in floors_started if f.exception() is None]
                first = hub_started.result()
                floor_ports = [f.result().port for f in floors_started]
                floor_pids = tuple(f.process.pid for f in floors)
                with ThreadPoolExecutor(3) as pool:
                    nodes_started = [
                        pool.submit(_start_node, layout, launcher, *args)
                        for args in (
                            (ONE_HUB, "node-1-hub", [first.port]),
                            (FLOOR, "node-1-floor", floor_ports[:1]),
                            (FLOOR, "node-2-floors", floor_ports),
                        )
                    ]
                nodes += [f.result() for f in nodes_started if f.exception() is None]
                for f in nodes_started:
                    f.result()

                def settle() -> None:
                    if not net.wait_until(
                        lambda: _scalar(pg, "SELECT COUNT(*) FROM hub_judge_queue") == 0,
                        timeout=300,
                    ):
                        raise RuntimeError("the hubs' judges did not catch up within 300 s")

                one = _Setting("1 hub", nodes[0], (first.process.pid,), nodes[1], floor_pids[:1])
                _warm_up(one, sizes.warmup, settle)
                one_hub, one_floor = _measure(one, sizes, postmaster, settle, say)

                second = net.start(launcher, "hub-2", "hub", layout.root / "hub-2" / "hub.toml")
                ports = [first.port, second.port]
                nodes.append(_start_node(layout, launcher, TWO_HUBS, "node-2-hubs", ports))
                two = _Setting(
                    "2 hubs",
                    nodes[3],
                    (first.process.pid, second.process.pid),
                    nodes[2],
                    floor_pids,
                )
                _warm_up(two, sizes.warmup, settle)
                counted = [_stored_counter(first), _stored_counter(second)]
                two_hubs, two_floors = _measure(two, sizes, postmaster, settle, say)
                took = [
                    _stored_counter(h) - c for h, c in zip((first, second), counted, strict=True)
                ]

                stored = _scalar(pg, "SELECT COUNT(*) FROM hub_signals")
                expected = 2 * (sizes.warmup + sizes.rounds * sizes.signals_per_round)
                if stored != expected:
                    raise RuntimeError(f"the hubs hold {stored} signals, expected {expected}")
        finally:
            _stop(launcher, floors)
            for node in nodes:
                node.outbox.close()
    share = took[1] / sum(took) * 100 if sum(took) else 0.0
    return [
        _rate(RATE_1, one_hub, one_floor, FLOOR_1),
        _rate(RATE_2, two_hubs, two_floors, FLOOR_2),
        _cpu(HUB_CPU_1, one_hub, one_floor, FLOOR_1),
        _cpu(HUB_CPU_2, two_hubs, two_floors, FLOOR_2),
        Figure(SECTION, JUDGE_CPU_1, _per_signal_us(one_hub, "judge"), "us CPU/signal"),
        Figure(SECTION, JUDGE_CPU_2, _per_signal_us(two_hubs, "judge"), "us CPU/signal"),
        Figure(SECTION, PG_CPU_1, _per_signal_us(one_hub, "pg"), "us CPU/signal"),
        Figure(SECTION, PG_CPU_2, _per_signal_us(two_hubs, "pg"), "us CPU/signal"),
        Figure(SECTION, SHARE_2, share, "%"),
    ]


def _stop(launcher: Launcher, floors: list[net.Floor]) -> None:
    """Stop every process at once (SIGTERM, then SIGKILL after a while), hubs before the
    cluster goes."""
    processes: list[Running | net.Floor] = [*launcher.running, *floors]
    with ThreadPoolExecutor(max(1, len(processes))) as pool:
        list(pool.map(lambda p: p.stop(), processes))
    launcher.stop_all()


def _rate(name: str, hub: list[_Round], floor: list[_Round], floor_name: str) -> Figure:
    return Figure(
        SECTION,
        name,
        statistics.median(r.rate for r in hub),
        "signals/s",
        floor=statistics.median(r.rate for r in floor),
        floor_name=floor_name,
        target=TARGET,
    )


def _cpu(name: str, hub: list[_Round], floor: list[_Round], floor_name: str) -> Figure:
    return Figure(
        SECTION,
        name,
        _per_signal_us(hub, "server"),
        "us CPU/signal",
        floor=_per_signal_us(floor, "server"),
        floor_name=floor_name,
    )


def _per_signal_us(rounds: list[_Round], part: Literal["server", "judge", "pg"]) -> float:
    """Median CPU microseconds per signal of one part of the rounds' CPU."""

    def seconds(r: _Round) -> float:
        return {"server": r.server_cpu, "judge": r.judge_cpu, "pg": r.pg_cpu}[part]

    return statistics.median(seconds(r) / r.n * 1e6 for r in rounds)
