"""Stored scale: the spine's ingest into a hub already holding 5,000,000 signals, against the
same ingest into an empty hub, in the same run.

The prefilled database. A hub SQLite file built through the hub's own code: the schema by the
hub's migrations (SqlHubStore), then a base block of synthetic signals in a realistic mix of
types and senders (the catalogue's rules for life domain, legal basis and retention; arrears with
their preconditions; consent-based types with a receipt id) turned into rows by the store's
hub.store.rows.signal_row and inserted with its hub.store.bulk.BulkInsert, exactly as add_batch
inserts them (hub_seen_ids and hub_signals). The rest are copies of that block made by SQLite
itself, each with a fresh id and fresh pseudonyms (random 32 bytes; person pseudonyms only
where the sender may process citizen numbers), every other column as the store wrote it.
Message ids are UUIDv7 as the nodes make them (seinhuis.message_ids), their times spread
evenly over the year before the build, so the prefill's ids sort before every id a node makes
afterwards, as in a hub that has been running for a year; they are written in ascending order.
The indexes stay in place during the fill, so their pages fill up as a running hub's do (random
pseudonyms split pages as they arrive; about 90% full): indexes built afterwards by CREATE INDEX
would be packed full, and nearly every insert of the first rounds would split a page, a cost no
hub that grew to this size pays. Nothing is queued for
the judge: the prefill stands for signals judged long ago that called for nothing (no cases,
outreach entries or feed notices are written), so the comparison is about the tables and
indexes the intake writes and the judge reads.

The file is cached in `<system temp dir>/seinhuis-bench-cache/`, named by its row count, the
hub schema's head revision and a digest of the migration files and of this prefill's recipe;
a rerun copies it instead of building it (the output says which), and a build for another
schema replaces the stale file. `--quick` uses 100,000 rows.

The measurement is bench/spine.py's, with its own code (bench.spine's node handle): two real
hubs (seinhuis.network Layout/Launcher, `judge = "process"`), one on a copy of the prefilled
file and one on an empty database, each with a real node delivering to it (outbox > Sender >
SubmitStream). The copy is synced to disk before the hubs start (its write-back is not the
hub's), and each hub takes one uncounted round first: a hub that has been running has its index
pages mapped in each of its connections, one just started on a copied file faults them in. Then
rounds alternate between the two, in pairs back to back (empty first, then stored first, and so
on: this host's speed drifts by tens of percent within a minute); the figures are medians, of
the rates and of each pair's ratio, and the CPU seconds of each hub (intake and judge processes)
per stored signal are read from /proc as in the spine. The target (at least 80 %) is on the
median of the pairs' ratios: the two medians of the rates come from different moments, so their
ratio moves with the drift (0.78 to 0.88 in three runs whose pairs gave 84 to 87 %).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection

from bench import net
from bench.report import Figure
from bench.spine import _Node, _Round, _start_node
from hub.domain import Arrears, MessageKind, ReceivedSignal, Signal
from hub.migrations import SCHEMA
from hub.store import rows as store_rows
from hub.store.bulk import BulkInsert
from hub.store.sql import SqlHubStore
from hub.store.tables import SEEN, SIGNALS
from seinhuis import atomic, db, message_ids, schema
from seinhuis import catalogue as catalogue_module
from seinhuis.keys_cli import PartnerSpec
from seinhuis.network import Launcher
from seinhuis.vocabulary import LegalBasis, PartnerType, SignalType, Urgency

SECTION = "stored"
RATE = "signals/s into a hub holding the prefilled signals (real node delivery, as spine)"
RATIO = "median of the per-round ratios (a stored and an empty round back to back)"
HUB_CPU = "hub CPU per stored signal with the prefilled signals (intake and judge)"
STORED = "signals stored in the prefilled hub before its rounds"
PREFILL = "prefill build time (0: reused from the cache)"
FIGURES = (RATE, RATIO, HUB_CPU, STORED, PREFILL)
FLOOR_NAME = "same ingest, empty hub"

FULL_ROWS = 5_000_000
QUICK_ROWS = 100_000
CACHE = Path(tempfile.gettempdir()) / "seinhuis-bench-cache"
#: Bump when the prefill's content changes: cached files of an older recipe are rebuilt.
RECIPE = "3"

BIG = PartnerSpec("ggd-stored", PartnerType.GGD)
EMPTY = PartnerSpec("ggd-empty", PartnerType.GGD)

#: A realistic mix (relative weights): most signals are payment arrears (Wgs early warning),
#: then school absence and youth care, then nuisance, care worries and the rest.
MIX: dict[SignalType, int] = {
    SignalType.HUURACHTERSTAND: 20,
    SignalType.ENERGIEACHTERSTAND: 12,
    SignalType.WATERACHTERSTAND: 6,
    SignalType.ZORGPREMIEACHTERSTAND: 12,
    SignalType.WOONOVERLAST: 6,
    SignalType.VERVUILDE_WONING: 2,
    SignalType.SCHOOLVERZUIM: 14,
    SignalType.ZORG_OVER_LEERLING: 8,
    SignalType.JGZ_ZORG: 5,
    SignalType.ZORGWEKKEND_GEDRAG: 7,
    SignalType.ZORGSIGNAAL_HUISARTS: 4,
    SignalType.ZORG_SOCIAAL_TEAM: 4,
}
#: Senders per partner type in the synthetic municipality.
SENDERS_PER_TYPE = 3
#: Signals made in Python per block; the rest are SQLite's copies of the first block.
BLOCK = 20_000
#: The prefill's ids are made over a year, ending an hour before the build.
ID_SPAN_MS = 365 * 86_400_000
ID_AGE_MS = 3_600_000
#: Copies committed per transaction.
COMMIT_EVERY = 500_000
#: SQLite page cache for the fill (KiB, negative per SQLite): the keys and indexes stay in memory.
FILL_CACHE_KIB = 1_000_000


@dataclass(frozen=True)
class Sizes:
    rows: int
    signals_per_round: int
    rounds: int  # per side


FULL = Sizes(rows=FULL_ROWS, signals_per_round=10_000, rounds=11)
QUICK = Sizes(rows=QUICK_ROWS, signals_per_round=2_000, rounds=2)


# --- the prefilled database -------------------------------------------------------------------


def cache_key() -> str:
    """The hub schema's head revision, and a digest of its migration files and this recipe."""
    digest = hashlib.sha256(RECIPE.encode())
    for path in sorted(SCHEMA.versions.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    revision = "+".join(sorted(schema.heads(SCHEMA)))
    return f"rev{revision}-{digest.hexdigest()[:12]}"


def prefilled(
    rows: int, *, cache: Path = CACHE, say: Callable[[str], None] = net.quiet
) -> tuple[Path, float]:
    """The cached prefilled database for `rows` signals, built first when missing; and the
    seconds the build took (0.0 when it was reused)."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"hub-{rows}-{cache_key()}.db"
    with _locked(cache / ".lock"):  # two runs at once build it once
        if path.exists():
            say(f"  stored: reusing the cached prefilled database {path}")
            return path, 0.0
        for stale in cache.glob(f"hub-{rows}-*.db"):
            say(f"  stored: removing {stale.name} (another schema or recipe)")
            stale.unlink()
        building = cache / f".building-{os.getpid()}.db"
        _remove_database(building)
        say(f"  stored: building a database with {rows:,} signals in {cache} (cached afterwards)")
        started = time.monotonic()
        try:
            prefill(building, rows, say=say)
            os.replace(building, path)
        finally:
            _remove_database(building)
        seconds = time.monotonic() - started
        say(f"  stored: prefill took {seconds:,.0f} s ({rows / seconds:,.0f} signals/s)")
        return path, seconds


def prefill(
    path: Path,
    rows: int,
    *,
    block: int = BLOCK,
    seed: int = 1,
    say: Callable[[str], None] = net.quiet,
) -> None:
    """Write `rows` synthetic stored signals into a new hub database at `path` (see above):
    `block` of them made in Python, the rest copies of those."""
    url = f"sqlite:///{path}"
    SqlHubStore(url).close()  # the schema, by the hub's migrations
    engine = db.create_engine(url, synchronous="OFF")
    rng = random.Random(seed)  # noqa: S311 (synthetic data, not secrets)
    end_ms = time.time_ns() // 1_000_000 - ID_AGE_MS
    step_ms = ID_SPAN_MS / rows

    def ids(first: int, n: int) -> list[bytes]:
        """Ascending UUIDv7s, their times spread evenly over the year before `end_ms`."""
        made = [
            message_ids.time_ordered(end_ms - ID_SPAN_MS + int((first + i) * step_ms))
            for i in range(n)
        ]
        return sorted(made)  # within one millisecond the random bits decide

    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"PRAGMA cache_size=-{FILL_CACHE_KIB}")
            block = min(block, rows)
            _insert_block(conn, ids(0, block), rng)
            conn.commit()
            # The copies join the first block by rowid: 1..block in a table just created.
            last = conn.exec_driver_sql(f"SELECT MAX(rowid) FROM {SIGNALS.name}").scalar()  # noqa: S608
            if last != block:
                raise RuntimeError(f"{path} held signals before the prefill")
            conn.exec_driver_sql(
                "CREATE TEMP TABLE bench_copy (n INTEGER PRIMARY KEY, id BLOB NOT NULL)"
            )
            done = block
            while done < rows:
                n = min(block, rows - done)
                _copy_block(conn, ids(done, n))
                done += n
                if done % COMMIT_EVERY < block or done == rows:
                    conn.commit()
                    say(f"  stored: {done:,} signals written")
            conn.exec_driver_sql("DROP TABLE temp.bench_copy")
            conn.commit()
            stored = conn.exec_driver_sql(f"SELECT COUNT(*) FROM {SIGNALS.name}").scalar()  # noqa: S608
            conn.commit()
            if stored != rows:
                raise RuntimeError(f"the prefill wrote {stored} signals, not {rows}")
    finally:
        engine.dispose()
    # One self-contained file (no -wal beside it) to cache and copy; the hub that opens the
    # copy turns WAL on again.
    with closing(sqlite3.connect(path)) as plain:
        plain.execute("PRAGMA journal_mode=DELETE")


def _insert_block(conn: Connection, ids: list[bytes], rng: random.Random) -> None:
    """Signals in the mix, as the intake receives them, inserted as add_batch inserts them."""
    catalogue = catalogue_module.load()
    types = list(MIX)
    weights = [MIX[t] for t in types]
    now = dt.datetime.now(dt.UTC)
    seen: list[dict[str, object]] = []
    signals: list[dict[str, object]] = []
    for signal_id in ids:
        signal_type = rng.choices(types, weights)[0]
        rule = catalogue.rule(signal_type)
        partner_type = sorted(rule.senders)[0]
        sender = partner_type.value.lower().replace("_", "-")
        received = now - dt.timedelta(seconds=rng.randrange(90 * 86_400))
        observed = received.date() - dt.timedelta(days=rng.randrange(14))
        consent = rule.legal_basis is LegalBasis.TOESTEMMING
        item = ReceivedSignal(
            id=signal_id,
            partner_id=f"{sender}-{rng.randrange(SENDERS_PER_TYPE) + 1}",
            partner_type=partner_type,
            received_at=received,
            signal=Signal(
                signal_type=signal_type,
                life_domain=rule.life_domain,
                urgency=Urgency.NORMAAL,
                legal_basis=rule.legal_basis,
                observed_on=observed,
                keep_until=rule.keep_until(observed, None),
                person_pseudonym=(
                    rng.randbytes(32) if catalogue.may_process_bsn(partner_type) else None
                ),
                address_pseudonym=rng.randbytes(32),
                key_version=1,
                arrears=(
                    Arrears(rng.randrange(10_000, 500_000), rng.randrange(1, 7), True, True)
                    if rule.arrears
                    else None
                ),
            ),
            consent_receipt_id=rng.randbytes(16) if consent else None,
        )
        # The rows hub.store.sql's _insert_new writes for a received signal.
        seen.append(
            {
                "id": item.id,
                "partner_id": item.partner_id,
                "kind": MessageKind.SIGNAL.value,
                "received_at": item.received_at,
            }
        )
        signals.append(store_rows.signal_row(item))
    _SEEN_INSERT.execute(conn, seen)
    _SIGNALS_INSERT.execute(conn, signals)


def _copy_block(conn: Connection, ids: list[bytes]) -> None:
    """Copies of the first len(ids) signals (rowid 1..n), with these ids and fresh pseudonyms."""
    conn.exec_driver_sql("DELETE FROM temp.bench_copy")
    conn.exec_driver_sql(
        "INSERT INTO temp.bench_copy (n, id) VALUES (?, ?)",
        [(n, signal_id) for n, signal_id in enumerate(ids, start=1)],
    )
    fresh = {
        "id": "c.id",
        "person_pseudonym": (
            "CASE WHEN s.person_pseudonym IS NULL THEN NULL ELSE randomblob(32) END"
        ),
        "address_pseudonym": "randomblob(32)",
        "consent_receipt_id": (
            "CASE WHEN s.consent_receipt_id IS NULL THEN NULL ELSE randomblob(16) END"
        ),
    }
    columns = [c.name for c in SIGNALS.columns]
    chosen = ", ".join(fresh.get(c, f"s.{c}") for c in columns)
    source = f"FROM temp.bench_copy c JOIN {SIGNALS.name} s ON s.rowid = c.n ORDER BY c.n"
    conn.exec_driver_sql(
        f"INSERT INTO {SEEN.name} (id, partner_id, kind, received_at)"
        f" SELECT c.id, s.partner_id, '{MessageKind.SIGNAL.value}', s.received_at {source}"
    )
    conn.exec_driver_sql(
        f"INSERT INTO {SIGNALS.name} ({', '.join(columns)}) SELECT {chosen} {source}"
    )


_SEEN_INSERT = BulkInsert(SEEN)
_SIGNALS_INSERT = BulkInsert(SIGNALS)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal", db.WRITER_LOCK_SUFFIX):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


# --- the measurement --------------------------------------------------------------------------


def run(*, quick: bool = False, progress: bool = True, cache: Path = CACHE) -> list[Figure]:
    sizes = QUICK if quick else FULL
    say = net.say if progress else net.quiet
    cached, build_seconds = prefilled(sizes.rows, cache=cache, say=say)
    with tempfile.TemporaryDirectory(prefix="seinhuis-bench-stored-") as tmp:
        layout = net.create_network(Path(tmp) / "net", [BIG, EMPTY])
        big_db = layout.root / "hub-stored" / "hub.db"
        layout.write_hub_config(database_url=f"sqlite:///{big_db}", name="hub-stored")
        started = time.monotonic()
        shutil.copyfile(cached, big_db)
        atomic.fsync(big_db)  # its write-back is not the hub's: done before the rounds
        say(f"  stored: copied the prefilled database in {time.monotonic() - started:,.0f} s")
        stored = net.scalar(big_db, f"SELECT COUNT(*) FROM {SIGNALS.name}")  # noqa: S608
        launcher = Launcher(layout)
        nodes: list[_Node] = []
        try:
            big_hub = net.start(launcher, "hub-stored", "hub", big_db.parent / "hub.toml")
            empty_hub = net.start(launcher, "hub", "hub", layout.hub_dir / "hub.toml")
            big = _start_node(layout, launcher, BIG, "node-stored", big_hub.port)
            empty = _start_node(layout, launcher, EMPTY, "node-empty", empty_hub.port)
            nodes = [big, empty]
            # Warm up with a round each, uncounted: a hub that has been running holds its
            # index pages in its connections' mappings; a hub just started on a copied file
            # faults them in one connection at a time.
            n = sizes.signals_per_round
            big.deliver(n, big_hub.process.pid)
            empty.deliver(n, empty_hub.process.pid)
            big_rounds: list[_Round] = []
            empty_rounds: list[_Round] = []
            sides = [(empty, empty_hub, empty_rounds), (big, big_hub, big_rounds)]
            for i in range(sizes.rounds):
                # Each pair back to back, in turn empty-first and stored-first, so that a host
                # that speeds up or slows down over the run favours neither.
                for node, hub, rounds in sides if i % 2 == 0 else reversed(sides):
                    rounds.append(node.deliver(n, hub.process.pid))
                say(
                    f"  stored round {i + 1}/{sizes.rounds}: empty hub"
                    f" {empty_rounds[-1].rate:,.0f}/s, hub with {stored:,} signals"
                    f" {big_rounds[-1].rate:,.0f}/s"
                )
            expected = {
                big_db: stored + (1 + sizes.rounds) * n,
                layout.hub_dir / "hub.db": (1 + sizes.rounds) * n,
            }
            for database, count in expected.items():
                held = net.scalar(database, f"SELECT COUNT(*) FROM {SIGNALS.name}")  # noqa: S608
                if held != count:
                    raise RuntimeError(f"{database} holds {held} signals, expected {count}")
        finally:
            launcher.stop_all()
            for node in nodes:
                node.outbox.close()
    return [
        Figure(
            SECTION,
            RATE,
            statistics.median(r.rate for r in big_rounds),
            "signals/s",
            floor=statistics.median(r.rate for r in empty_rounds),
            floor_name=FLOOR_NAME,
        ),
        Figure(
            SECTION,
            RATIO,
            100
            * statistics.median(
                b.rate / e.rate for b, e in zip(big_rounds, empty_rounds, strict=True)
            ),
            "% of empty",
            target=">= 80 %",
        ),
        Figure(
            SECTION,
            HUB_CPU,
            statistics.median(r.server_cpu / r.n * 1e6 for r in big_rounds),
            "us CPU/signal",
            floor=statistics.median(r.server_cpu / r.n * 1e6 for r in empty_rounds),
            floor_name=FLOOR_NAME,
        ),
        Figure(
            SECTION,
            STORED,
            float(stored),
            "signals",
            target=f"{FULL_ROWS:,} (--quick {QUICK_ROWS:,})",
        ),
        Figure(SECTION, PREFILL, build_seconds, "s", target="a few minutes on 2 cores"),
    ]
