"""Match latency: a case-completing signal's acknowledgement by the hub to the case notice on
the partner feed, at half the maximum ingest rate measured in the same run, against a floor.

What runs (every service its own process, as in bench/spine.py): the real hub (Layout's
hub.toml: SQLite, `judge = "process"`, so its judge drains the durable judgement queue in the
hub database in a process of its own, woken by the intake after each stored batch) and two
real nodes, a school's and a woningcorporatie's. A sociaal team is registered (no node) as
the fallback regiehouder. Each node follows its partner feed, as every node does, and stamps
each notification as it stores it in its inbox for the partner's systems (`received_at`): the
samples are read from the nodes' inboxes, so nothing but the nodes subscribes.

1. Maximum ingest: both nodes deliver a burst of background signals at once (committed to their
   outboxes from this process, as the spine does). Two rates per burst, over the seconds from
   that commit: until the last `delivered_at` the nodes recorded (taken in), and until the
   hub's judgement queue is empty again (taken in and judged). The judge yields the CPU to the
   intake, so during a burst the queue absorbs what it cannot judge yet: the first rate is what
   the hub takes in for a while, the second what it can keep up with, its maximum ingest.
2. The latency run, in segments: each segment follows a burst of its own and is paced at half
   that burst's maximum ingest, so the pace follows the host's speed, which on a shared machine
   drifts by tens of percent within a minute. Every 50 ms this process adds to the outboxes
   what the pace says is due. Most of it is background: single signals at random pseudonyms
   (SCHOOLVERZUIM and ZORG_OVER_LEERLING from the school, WOONOVERLAST from the
   woningcorporatie), which the judge reads and leaves alone. A few times a second a pair is
   started: the school's SCHOOLVERZUIM at a fresh address pseudonym, and half a second later the
   woningcorporatie's HUURACHTERSTAND (contact attempted, written reminder sent) at the same
   address. Two partners, two life domains: policies/matching.yaml opens a case, and both
   partners get a case notice (CaseNotice or, for the regiehouder, RegiehouderBriefing) whose
   signal_ids hold their own signal's id. The samples of all segments are pooled.
3. A sample per involved partner per case: from the moment the completing signal (the later of
   the pair) was acknowledged, as its node recorded it (`delivered_at`, taken as the hub's
   answer arrives), to the partner's node storing the first case notice carrying that partner's
   signal id. The split uses the notice's `created_at`, which the judge stamps when it judges:
   acknowledgement > judged, and judged > on the feed. Progress (stderr) also shows the CPU the
   hub's intake and judge processes used during the run and the length of the judgement queue,
   sampled each second.

WOONOVERLAST rests on consent; this hub has no consent registry configured, so it takes the
signal without a receipt, as it takes the spine's GGD signals.

The floor: the transport part of the same path, under the same load: a notice the hub appends
without judging, on the same feed to the same node. During the run this process withdraws
delivered background signals of the school (IntakeService.Withdraw, with the school's
certificate); the hub stamps the SignalWithdrawn notice (`created_at`) and appends it in the
withdrawal's own transaction, and its sample runs from that stamp to the school's node storing
the notice: commit, feed wake-up, stream, the node's inbox write. (Timed from the Withdraw
answer instead it would be about zero: the hub answers and streams the notice at the same
moment, after the same commit.) What the match latency adds on top is judging: the queue and the
judge's wake-up, the household reads, the case write, and a notice written by another process
(the judge's) finding its way to the feed.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import os
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from bench import net
from bench.report import Figure
from bench.spine import _Node, _start_node
from node import inbox as inbox_module
from node.model import Arrears, Signal, Subject
from node.outbox import Outgoing
from seinhuis import catalogue as catalogue_module
from seinhuis import transport
from seinhuis.keys_cli import PartnerSpec
from seinhuis.network import Launcher, Layout, Running
from seinhuis.transport import TlsFiles
from seinhuis.v1 import feed_pb2, intake_pb2, intake_pb2_grpc, vocabulary_pb2
from seinhuis.vocabulary import PartnerType, SignalType, Urgency

SECTION = "match"
TAKEN_IN_RATE = "max rate taken in (acknowledged), school + woco nodes at once"
MAX_RATE = "max ingest: taken in and judged (each latency segment is paced at half its burst's)"
PACED_RATE = "ingest during the latency run (background + case pairs)"
P50 = "match latency p50: hub ack of completing signal > case notice on partner feed"
P99 = "match latency p99: hub ack of completing signal > case notice on partner feed"
JUDGED_P50 = "match latency p50, part 1: hub ack > judged (the notice's created_at)"
FEED_P50 = "match latency p50, part 2: judged > notice on the partner feed"
FIGURES = (TAKEN_IN_RATE, MAX_RATE, PACED_RATE, P50, P99, JUDGED_P50, FEED_P50)
FLOOR_NAME = "withdrawal: hub stamp > SignalWithdrawn on the same feed"

SCHOOL = PartnerSpec("school-match", PartnerType.SCHOOL)
WOCO = PartnerSpec("woco-match", PartnerType.WONINGCORPORATIE)
#: Registered only (no node): the regiehouder once the school's and woco's capacity is taken.
TEAM = PartnerSpec("team-match", PartnerType.SOCIAAL_TEAM)

#: How often this process tops the outboxes up to the pace.
TICK_S = 0.05
#: The completing signal follows the pair's first one by this much: judged apart, as in life.
PAIR_GAP_S = 0.5
#: How long after its acceptance a background signal may be withdrawn (delivered by then).
WITHDRAW_AFTER_S = 3.0


@dataclass(frozen=True)
class Sizes:
    burst: int  # signals per maximum-ingest burst, over both nodes
    segments: int  # a burst, then a latency segment paced at half its maximum ingest
    seconds: float  # the latency run, over all segments
    cases_per_s: float
    withdrawals_per_s: float


FULL = Sizes(burst=10_000, segments=3, seconds=60.0, cases_per_s=2.0, withdrawals_per_s=2.0)
QUICK = Sizes(burst=2_000, segments=1, seconds=10.0, cases_per_s=3.0, withdrawals_per_s=3.0)


@functools.cache
def _catalogue() -> catalogue_module.Catalogue:
    return catalogue_module.load()  # tens of milliseconds: once, not per signal


def _signal(
    signal_type: SignalType, partner_type: PartnerType, address: bytes, person: bytes | None
) -> Outgoing:
    rule = _catalogue().check_sender(partner_type, signal_type)
    observed = dt.date.today() - dt.timedelta(days=3)
    arrears = Arrears(123_456, 3, True, True) if rule.arrears else None
    return Outgoing(
        Signal(
            signal_type=signal_type,
            life_domain=rule.life_domain,
            urgency=Urgency.NORMAAL,
            legal_basis=rule.legal_basis,
            observed_on=observed,
            keep_until=rule.keep_until(observed, None),
            # A woningcorporatie may not process citizen numbers: no person pseudonym.
            subject=Subject(person or b"", address, 1),
            arrears=arrears,
        )
    )


def _background(partner: PartnerSpec, n: int, start: int = 0) -> list[Outgoing]:
    """Single signals at random pseudonyms: judged, never part of a case or outreach."""
    if partner.type is PartnerType.SCHOOL:
        kinds = (SignalType.SCHOOLVERZUIM, SignalType.ZORG_OVER_LEERLING)
        return [
            _signal(kinds[(start + i) % 2], partner.type, os.urandom(32), os.urandom(32))
            for i in range(n)
        ]
    return [_signal(SignalType.WOONOVERLAST, partner.type, os.urandom(32), None) for _ in range(n)]


@dataclass
class _Inbox:
    """What a partner's own node received on its feed: its inbox, with the node's arrival
    stamps (`received_at`, taken as it stores each notification for the partner's systems)."""

    partner: PartnerSpec
    database: Path

    def _rows(
        self, sql: str, params: tuple[str, ...] = ()
    ) -> list[tuple[int, int, str, bytes, bytes | None]]:
        with closing(sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)) as db:
            return db.execute(sql, params).fetchall()

    def case_notices(self) -> dict[bytes, tuple[float, float]]:
        """Per signal id: (arrival, created_at) of the first case notice that carries it."""
        first: dict[bytes, tuple[float, float]] = {}
        rows = self._rows(
            "SELECT i.received_at, i.created_at, i.kind, i.id, c.payload FROM inbox i"
            " JOIN inbox_case c ON c.cursor = i.cursor ORDER BY i.cursor"
        )
        for received, created, kind, _case_id, payload in rows:
            notice: feed_pb2.CaseNotice | feed_pb2.RegiehouderBriefing
            if kind == inbox_module.KIND_CASE_NOTICE:
                notice = feed_pb2.CaseNotice.FromString(payload or b"")
            elif kind == inbox_module.KIND_REGIEHOUDER_BRIEFING:
                notice = feed_pb2.RegiehouderBriefing.FromString(payload or b"")
            else:
                continue
            if not notice.case_id:  # an outreach notice: no case
                continue
            for signal_id in notice.signal_ids:
                first.setdefault(bytes(signal_id), (received / 1e6, created / 1e6))
        return first

    def withdrawals(self) -> dict[bytes, tuple[float, float]]:
        """Per withdrawn signal id: (arrival, created_at) of its SignalWithdrawn notice."""
        rows = self._rows(
            "SELECT received_at, created_at, kind, id, NULL FROM inbox WHERE kind = ?"
            " ORDER BY cursor",
            (inbox_module.KIND_SIGNAL_WITHDRAWN,),
        )
        found: dict[bytes, tuple[float, float]] = {}
        for received, created, _kind, signal_id, _ in rows:
            found.setdefault(bytes(signal_id), (received / 1e6, created / 1e6))
        return found


def _channel(layout: Layout, partner: PartnerSpec, port: int) -> grpc.Channel:
    folder = layout.node_dir(partner.id)
    tls = TlsFiles(layout.root / "ca" / "ca.crt", folder / "tls.crt", folder / "tls.key")
    return transport.secure_channel(f"127.0.0.1:{port}", tls, server_name="hub")


def _delivered_at(node: _Node, ids: Sequence[bytes]) -> dict[bytes, float]:
    """When the node recorded each message delivered (the hub's answer), in seconds."""
    found: dict[bytes, float] = {}
    with closing(sqlite3.connect(f"file:{node.database}?mode=ro", uri=True, timeout=30)) as conn:
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            query = f"SELECT id, delivered_at FROM outbox WHERE id IN ({marks})"  # noqa: S608
            for signal_id, at in conn.execute(query, chunk):
                if at is not None:
                    found[bytes(signal_id)] = at / 1e6
    return found


def _accept(node: _Node, items: Sequence[Outgoing]) -> list[bytes]:
    ids = []
    for result in node.outbox.accept_many(items):
        if not isinstance(result, bytes):
            raise RuntimeError(f"{node.name}: the outbox refused a signal: {result}")
        ids.append(result)
    return ids


def _drained(nodes: Sequence[_Node]) -> bool:
    return all(
        net.scalar(n.database, "SELECT COUNT(*) FROM outbox WHERE state = 'PENDING'") == 0
        for n in nodes
    )


@dataclass(frozen=True)
class _BurstRates:
    taken_in: float  # signals/s until the last was acknowledged
    judged: float  # signals/s until the last household was judged too


def _burst(school: _Node, woco: _Node, n: int, hub_db: Path) -> _BurstRates:
    """Both nodes deliver n signals between them at once; signals per second taken in, and
    taken in and judged."""
    before = {
        x.name: net.scalar(x.database, "SELECT COALESCE(MAX(seq), 0) FROM outbox")
        for x in (school, woco)
    }
    items = {school.name: _background(SCHOOL, n // 2), woco.name: _background(WOCO, n - n // 2)}
    _accept(school, items[school.name])
    _accept(woco, items[woco.name])
    start = time.time()
    if not net.wait_until(lambda: _drained((school, woco)), timeout=60 + n / 100):
        raise RuntimeError(f"a burst of {n} signals was still pending after {60 + n / 100:.0f} s")
    last = 0.0
    for node in (school, woco):
        refused = net.scalar(
            node.database,
            "SELECT COUNT(*) FROM outbox WHERE seq > ? AND state != 'DELIVERED'",
            (before[node.name],),
        )
        if refused:
            raise RuntimeError(f"{node.name}: {refused} signals not delivered (see its outbox)")
        last = max(
            last,
            net.scalar(
                node.database,
                "SELECT MAX(delivered_at) FROM outbox WHERE seq > ?",
                (before[node.name],),
            )
            / 1e6,
        )
    if not net.wait_until(lambda: _queue_length(hub_db) == 0, timeout=300, interval=0.02):
        raise RuntimeError(f"the judge did not judge a burst of {n} signals within 300 s")
    return _BurstRates(taken_in=n / (last - start), judged=n / (time.time() - start))


def _first_case(school: _Node, woco: _Node, inboxes: Sequence[_Inbox]) -> None:
    """One case pair, judged and on both feeds."""
    address = os.urandom(32)
    ids = _accept(
        school, [_signal(SignalType.SCHOOLVERZUIM, SCHOOL.type, address, os.urandom(32))]
    ) + _accept(woco, [_signal(SignalType.HUURACHTERSTAND, WOCO.type, address, None)])

    def noticed() -> bool:
        return set(ids) <= set(inboxes[0].case_notices()) | set(inboxes[1].case_notices())

    if not net.wait_until(noticed, timeout=60, interval=0.1):
        raise RuntimeError("the warm-up case's notices did not arrive within 60 s")


def _queue_length(hub_db: Path) -> int:
    return int(net.scalar(hub_db, "SELECT COUNT(*) FROM hub_judge_queue"))


@dataclass
class _Run:
    """What the paced segments sent: case pairs (school id, woco id) and the withdrawals'
    acks."""

    pairs: list[tuple[bytes, bytes]] = field(default_factory=list)
    withdrawn: list[bytes] = field(default_factory=list)  # ids the hub accepted a withdrawal of
    school_background: list[tuple[float, bytes]] = field(default_factory=list)
    sent: int = 0
    #: Each segment's start and end in the nodes' clock (time.time()).
    windows: list[tuple[float, float]] = field(default_factory=list)
    #: len(pairs) at the end of each segment.
    segment_ends: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: Households waiting in the hub's judgement queue, sampled once a second.
    backlog: list[int] = field(default_factory=list)
    #: CPU seconds during the segments: the hub's intake process, and its judge process.
    intake_cpu: float = 0.0
    judge_cpu: float = 0.0


def _paced(
    school: _Node,
    woco: _Node,
    hub: Running,
    rate: float,
    seconds: float,
    sizes: Sizes,
    withdraw: _Withdrawer,
    run: _Run,
) -> None:
    """One segment, added to `run`: top the outboxes up to `rate` every TICK_S for `seconds`;
    start case pairs and withdrawals at their own pace meanwhile."""
    hub_db = hub.config.parent / "hub.db"
    cpu_before = _hub_cpu(hub.process.pid)
    next_sample = 0.0
    pending: dict[int, bytes] = {}  # case pair number -> address, awaiting its second signal
    firsts: dict[int, bytes] = {}  # pair number -> the school signal's id
    opened = completed = sent = 0
    started, wall_started = time.monotonic(), time.time()
    withdraw.start(run, sizes.withdrawals_per_s)
    while True:
        now = time.monotonic() - started
        if now >= seconds:
            break
        if now >= next_sample:
            run.backlog.append(_queue_length(hub_db))
            next_sample += 1.0
        for_school: list[Outgoing] = []
        for_woco: list[Outgoing] = []
        new_pairs: list[int] = []
        while opened <= now * sizes.cases_per_s:
            address = os.urandom(32)
            pending[opened] = address
            for_school.append(
                _signal(SignalType.SCHOOLVERZUIM, SCHOOL.type, address, os.urandom(32))
            )
            new_pairs.append(opened)
            opened += 1
        completing: list[int] = []
        while completed < opened and completed / sizes.cases_per_s + PAIR_GAP_S <= now:
            for_woco.append(
                _signal(SignalType.HUURACHTERSTAND, WOCO.type, pending.pop(completed), None)
            )
            completing.append(completed)
            completed += 1
        due = int(rate * now) - sent - len(for_school) - len(for_woco)
        background_school = max(0, due) // 2
        background_woco = max(0, due) - background_school
        for_school += _background(SCHOOL, background_school, run.sent + sent)
        for_woco += _background(WOCO, background_woco)
        school_ids = _accept(school, for_school) if for_school else []
        woco_ids = _accept(woco, for_woco) if for_woco else []
        accepted_at = time.time()
        for number, signal_id in zip(new_pairs, school_ids, strict=False):
            firsts[number] = signal_id
        for number, signal_id in zip(completing, woco_ids, strict=False):
            run.pairs.append((firsts.pop(number), signal_id))
        run.school_background += [(accepted_at, i) for i in school_ids[len(new_pairs) :]]
        sent += len(for_school) + len(for_woco)
        time.sleep(max(0.0, started + now + TICK_S - time.monotonic()))
    run.windows.append((wall_started, time.time()))
    run.sent += sent
    cpu_after = _hub_cpu(hub.process.pid)
    run.intake_cpu += cpu_after[0] - cpu_before[0]
    run.judge_cpu += cpu_after[1] - cpu_before[1]
    withdraw.stop()
    # Pairs still open at the end: complete them, so every started case is measured.
    rest = sorted(pending)
    if rest:
        woco_ids = _accept(
            woco, [_signal(SignalType.HUURACHTERSTAND, WOCO.type, pending[k], None) for k in rest]
        )
        run.pairs += [(firsts.pop(k), i) for k, i in zip(rest, woco_ids, strict=True)]
        run.sent += len(rest)
    run.segment_ends.append(len(run.pairs))


def _settle(
    nodes: Sequence[_Node], feeds: Sequence[_Inbox], run: _Run, say: Callable[[str], None]
) -> None:
    """Wait until everything sent so far is delivered and its notices are on the feeds."""
    if not net.wait_until(lambda: _drained(nodes), timeout=120):
        raise RuntimeError("the nodes did not deliver everything within 120 s")
    wanted = {s for pair in run.pairs for s in pair}

    def all_noticed() -> bool:
        got = set(feeds[0].case_notices()) | set(feeds[1].case_notices())
        return wanted <= got and set(run.withdrawn) <= set(feeds[0].withdrawals())

    if not net.wait_until(all_noticed, timeout=60, interval=0.2):
        say("  match: not every case or withdrawal notice arrived within 60 s")


def _hub_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds so far of the hub's own process and of its children (the judge process)."""
    try:
        children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        children = []
    judge = sum(net.cpu_seconds(c) for c in children)
    return net.cpu_seconds(pid) - judge, judge


class _Withdrawer:
    """Withdraws delivered background signals of the school at a steady pace (a thread)."""

    def __init__(self, channel: grpc.Channel) -> None:
        self._stub = intake_pb2_grpc.IntakeServiceStub(channel)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # run.school_background up to here is withdrawn or skipped, over all segments.
        self._taken = 0

    def start(self, run: _Run, per_s: float) -> None:
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, args=(run, per_s), name="withdraw", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def _loop(self, run: _Run, per_s: float) -> None:
        while not self._stop.wait(1 / per_s):
            ready = [
                i
                for at, i in run.school_background[self._taken :]
                if at < time.time() - WITHDRAW_AFTER_S
            ]
            if not ready:
                continue
            # The oldest eligible one; skip ahead so withdrawals spread over the run.
            signal_id = ready[0]
            self._taken += max(1, len(ready) // 2)
            request = intake_pb2.WithdrawRequest(
                id=signal_id, reason=vocabulary_pb2.WITHDRAW_REASON_RESOLVED
            )
            try:
                self._stub.Withdraw(request, timeout=30)
            except grpc.RpcError as exc:
                run.errors.append(f"Withdraw: {exc.code()}")
                continue
            run.withdrawn.append(signal_id)


def run(*, quick: bool = False, progress: bool = True) -> list[Figure]:
    sizes = QUICK if quick else FULL
    say = net.say if progress else net.quiet
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="seinhuis-bench-match-") as tmp:
        layout = net.create_network(Path(tmp) / "net", [SCHOOL, WOCO, TEAM])
        launcher = Launcher(layout)
        nodes: list[_Node] = []
        channels: list[grpc.Channel] = []
        try:
            hub = net.start(launcher, "hub", "hub", layout.hub_dir / "hub.toml")
            school = _start_node(layout, launcher, SCHOOL, "node-school", hub.port)
            woco = _start_node(layout, launcher, WOCO, "node-woco", hub.port)
            nodes = [school, woco]
            feeds = [_Inbox(SCHOOL, school.database), _Inbox(WOCO, woco.database)]
            say(f"  match: hub and nodes up after {time.monotonic() - began:.0f} s")
            # Warm up: connections, TLS handshakes, the hub's tables, the judge process, and
            # one case: the first case a hub writes also compiles its statements.
            hub_db = layout.hub_dir / "hub.db"
            _burst(school, woco, 1_000, hub_db)
            _first_case(school, woco, feeds)
            withdraw_channel = _channel(layout, SCHOOL, hub.port)
            channels.append(withdraw_channel)
            withdrawer = _Withdrawer(withdraw_channel)
            done = _Run()
            rates = []
            seconds = sizes.seconds / sizes.segments
            for i in range(sizes.segments):
                rates.append(_burst(school, woco, sizes.burst, hub_db))
                pace = rates[-1].judged / 2
                say(
                    f"  match: segment {i + 1}/{sizes.segments}: max ingest burst"
                    f" {rates[-1].taken_in:,.0f}/s taken in, {rates[-1].judged:,.0f}/s judged;"
                    f" {seconds:.0f} s at {pace:,.0f} signals/s, {sizes.cases_per_s:g} cases/s,"
                    f" {sizes.withdrawals_per_s:g} withdrawals/s"
                )
                _paced(school, woco, hub, pace, seconds, sizes, withdrawer, done)
                # The segment's last cases are judged and on the feeds before the next burst.
                _settle(nodes, feeds, done, say)
            taken_in = statistics.median(r.taken_in for r in rates)
            max_rate = statistics.median(r.judged for r in rates)
            result = _measure(done, school, woco, feeds[0], feeds[1])
            say(
                f"  match: {len(done.pairs)} cases, {len(result.latency)} case notices timed"
                f" ({result.missing} missing), {len(result.floor)} withdrawal notices timed"
                f"{'; ' + ', '.join(sorted(set(done.errors))) if done.errors else ''}"
            )
            say(
                "  match: p50/p99 by segment (ms): "
                + ", ".join(
                    f"{statistics.median(xs) * 1000:,.0f}/{net.percentile(xs, 99) * 1000:,.0f}"
                    for xs in result.by_segment
                    if xs
                )
            )
            per_signal = 1e6 / max(1, done.sent)
            say(
                f"  match: during the run the hub's intake process used {done.intake_cpu:.1f} s"
                f" CPU ({done.intake_cpu * per_signal:,.0f} us/signal), its judge process"
                f" {done.judge_cpu:.1f} s ({done.judge_cpu * per_signal:,.0f} us/signal);"
                f" judgement queue: mean {statistics.mean(done.backlog or [0]):,.0f},"
                f" max {max(done.backlog or [0]):,} households waiting"
            )
            if result.on_feed:
                say(
                    "  match: judged > on the feed (ms): min"
                    f" {min(result.on_feed) * 1000:,.0f}, p50"
                    f" {statistics.median(result.on_feed) * 1000:,.0f},"
                    f" max {max(result.on_feed) * 1000:,.0f}; the feed re-reads on a wake-up"
                    " from its own process, else every poll (FeedServicer poll_s)"
                )
        finally:
            for channel in channels:
                channel.close()
            launcher.stop_all()
            for node in nodes:
                node.outbox.close()
    if result.missing or not result.latency or not result.floor:
        raise RuntimeError(
            f"{result.missing} case notices never arrived, {len(result.latency)} timed,"
            f" {len(result.floor)} withdrawal notices timed"
        )
    ms = 1000.0
    return [
        Figure(SECTION, TAKEN_IN_RATE, taken_in, "signals/s"),
        Figure(SECTION, MAX_RATE, max_rate, "signals/s"),
        Figure(
            SECTION,
            PACED_RATE,
            result.paced_rate,
            "signals/s",
            floor=max_rate,
            floor_name="max ingest, same run",
            target="0.5 of max",
        ),
        Figure(
            SECTION,
            P50,
            statistics.median(result.latency) * ms,
            "ms",
            floor=statistics.median(result.floor) * ms,
            floor_name=FLOOR_NAME,
        ),
        Figure(
            SECTION,
            P99,
            net.percentile(result.latency, 99) * ms,
            "ms",
            floor=net.percentile(result.floor, 99) * ms,
            floor_name=FLOOR_NAME,
            target="< 100 ms",
        ),
        Figure(SECTION, JUDGED_P50, statistics.median(result.judged) * ms, "ms"),
        Figure(
            SECTION,
            FEED_P50,
            statistics.median(result.on_feed) * ms,
            "ms",
            floor=statistics.median(result.floor) * ms,
            floor_name=FLOOR_NAME,
        ),
    ]


@dataclass
class _Result:
    latency: list[float]  # completing ack > case notice here, per involved partner per case
    judged: list[float]  # completing ack > the notice's created_at
    on_feed: list[float]  # created_at > arrival here
    floor: list[float]  # SignalWithdrawn: created_at > arrival here
    missing: int
    paced_rate: float
    by_segment: list[list[float]]  # the latency samples of each segment


def _measure(
    run: _Run, school: _Node, woco: _Node, school_feed: _Inbox, woco_feed: _Inbox
) -> _Result:
    acked = _delivered_at(school, [s for s, _ in run.pairs]) | _delivered_at(
        woco, [w for _, w in run.pairs]
    )
    notices = {SCHOOL.id: school_feed.case_notices(), WOCO.id: woco_feed.case_notices()}
    latency: list[float] = []
    judged: list[float] = []
    on_feed: list[float] = []
    by_segment: list[list[float]] = [[] for _ in run.segment_ends]
    missing = 0
    for number, (school_id, woco_id) in enumerate(run.pairs):
        segment = bisect.bisect_right(run.segment_ends, number)
        if school_id not in acked or woco_id not in acked:
            missing += 2
            continue
        complete = max(acked[school_id], acked[woco_id])
        for partner, signal_id in ((SCHOOL.id, school_id), (WOCO.id, woco_id)):
            found = notices[partner].get(signal_id)
            if found is None:
                missing += 1
                continue
            arrived, created = found
            latency.append(arrived - complete)
            by_segment[segment].append(arrived - complete)
            judged.append(created - complete)
            on_feed.append(arrived - created)
    withdrawals = school_feed.withdrawals()
    floor = [withdrawals[i][0] - withdrawals[i][1] for i in run.withdrawn if i in withdrawals]
    # What the hub took in while the pace ran (acknowledged, as the nodes recorded it).
    ingested = sum(
        net.scalar(
            node.database,
            "SELECT COUNT(*) FROM outbox WHERE delivered_at BETWEEN ? AND ?",
            (int(started * 1e6), int(ended * 1e6)),
        )
        for node in (school, woco)
        for started, ended in run.windows
    )
    paced_rate = ingested / sum(ended - started for started, ended in run.windows)
    return _Result(latency, judged, on_feed, floor, missing, paced_rate, by_segment)
