"""Import: one partner's CSV of N rows through `seinhuis node import --config node.toml FILE.csv`.

What runs, each its own process: the pseudonymisation service, the hub and the partner's node
(`... serve`, started by seinhuis.network.Launcher with keys from `seinhuis keys init`), and the
import command itself (the fast path: batches of rows pseudonymised through the node's cache
and stored in the node's outbox, see docs/partner-csv.md). The running node delivers what the
import stores while it runs, as in production.

The file (written to a temp dir in the documented format): N rows for a GGD, each naming one
of P distinct people (synthetic citizen numbers 999xxxxxx that pass the elfproef, each with
its own birth date and address), a unique reference per row, ZORGWEKKEND_GEDRAG, urgency
NORMAAL or HOOG, observed in the past year.

Figures: the import's wall time until every row is accepted into the node's outbox (process
start to exit, so interpreter start-up is included), its rows/s, and how long until the hub's
SQLite holds every row, if that happens within a bounded wait; if not, how many it holds and at
what rate they arrived. The floor is this process reading the same file and running the node's
row checks (importer.open_rows + importer.parse_row + node.service.Node.check_batch, the
step of the import before pseudonymisation: enums, dates, citizen number, address, reference,
catalogue rule) in batches of 2,000, with no pseudonymisation and no storage, measured before
and after the import (median).
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import os
import random
import re
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import net
from bench.report import Figure
from node import importer
from node.model import LocalSignal
from node.service import Node
from seinhuis import catalogue as catalogue_module
from seinhuis.keys_cli import PartnerSpec
from seinhuis.network import Launcher
from seinhuis.vocabulary import PartnerType

SECTION = "import"
ROWS = "rows in the CSV (one partner)"
PERSONS = "distinct persons in the CSV"
WALL = "import wall time, all rows accepted into the node outbox"
RATE = "import rows/s (seinhuis node import --config, fast path)"
IMPORT_CPU = "import process CPU per row"
SERVICES_CPU = "pseudonym service + node + hub CPU during the import, per row"
HUB_AT_END = "rows the hub holds when the import ends"
HUB_RATE_DURING = "delivery into the hub during the import"
HUB_RATE_AFTER = "delivery into the hub after the import (bounded wait)"
HUB_ALL = "until the hub holds every row, from import start"
HUB_PROJECTED = "PROJECTED until the hub holds every row (at the after-import rate)"
FIGURES = (ROWS, PERSONS, WALL, RATE, IMPORT_CPU, SERVICES_CPU, HUB_AT_END, HUB_RATE_DURING)
FLOOR_NAME = "CSV parse + node row checks, no pseudonyms/storage"

PARTNER = PartnerSpec("ggd-import", PartnerType.GGD)
#: Rows per batch: the import command's default (--batch).
IMPORT_BATCH = 2000
_SUMMARY = re.compile(r"(\d+) rows: (\d+) accepted, (\d+) refused")
_BSN_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2)
_LETTERS = [
    a + b
    for a in "ABCDEFGHJKLMNPRTVWXZ"
    for b in "ABCDEFGHJKLMNPRTVWXZ"
    if a + b not in {"SA", "SD", "SS"}
]


@dataclass(frozen=True)
class Sizes:
    rows: int
    persons: int
    floor_rows: int  # rows per floor round (a prefix of the file)
    hub_wait_s: float  # longest wait for the hub after the import ends


#: The full run waits only briefly after the import: at a few hundred signals a second the hub
#: needs far longer than the run's 15 minutes for a million, so it reports a projection.
FULL = Sizes(rows=1_000_000, persons=50_000, floor_rows=100_000, hub_wait_s=90.0)
QUICK = Sizes(rows=20_000, persons=1_000, floor_rows=20_000, hub_wait_s=180.0)


def test_bsns(n: int) -> list[str]:
    """n synthetic citizen numbers: 999 followed by five digits and a passing check digit."""
    found: list[str] = []
    for candidate in range(100_000):
        digits = f"999{candidate:05d}"
        check = sum(int(d) * w for d, w in zip(digits, _BSN_WEIGHTS, strict=True)) % 11
        if check < 10:
            found.append(digits + str(check))
            if len(found) == n:
                return found
    raise ValueError(f"only {len(found)} test citizen numbers start with 999")


def write_csv(path: Path, rows: int, persons: int, *, seed: int = 20261122) -> None:
    """The documented CSV (docs/partner-csv.md): header, then `rows` rows over `persons`."""
    rng = random.Random(seed)  # noqa: S311 - synthetic test data, reproducible by seed
    today = dt.date.today()
    people = []
    for i, bsn in enumerate(test_bsns(persons)):
        born = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(65 * 365))
        postcode = f"{1000 + rng.randrange(9000)} {rng.choice(_LETTERS)}"
        people.append((bsn, born.isoformat(), postcode, str(1 + i % 250)))
    days = [(today - dt.timedelta(days=d)).isoformat() for d in range(365)]
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(importer.COLUMNS)
        for r in range(rows):
            bsn, birth, postcode, number = people[rng.randrange(persons)]
            urgency = "HOOG" if r % 10 == 0 else "NORMAAL"
            writer.writerow(
                (
                    f"BENCH-{r:07d}",
                    "ZORGWEKKEND_GEDRAG",
                    urgency,
                    days[rng.randrange(365)],
                    bsn,
                    birth,
                    postcode,
                    number,
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                )
            )


def floor_round(path: Path, limit: int) -> tuple[int, float]:
    """(rows, seconds) for reading and checking the first `limit` rows as the import does,
    in batches of its default size, without pseudonyms or storage."""
    node = Node(
        partner_type=PARTNER.type,
        catalogue=catalogue_module.load(),
        pseudonymizer=None,  # type: ignore[arg-type]  # never reached: checks only
        outbox=None,  # type: ignore[arg-type]
    )
    today = dt.date.today()
    count = 0
    start = time.perf_counter()
    with path.open(newline="", encoding="utf-8-sig") as stream:
        rows = itertools.islice(importer.open_rows(stream), limit)
        for batch in importer.chunks(rows, IMPORT_BATCH):
            checked = _check_batch(node, [importer.parse_row(row, today=today) for _, row in batch])
            if len(checked) != len(batch):
                raise RuntimeError("the floor refused rows the import accepts")
            count += len(batch)
    return count, time.perf_counter() - start


def _check_batch(node: Node, signals: list[LocalSignal]) -> list[object]:
    """The node's checks that need no pseudonym (Node.check_batch, step 1 of submit_signals)."""
    check_batch = getattr(node, "check_batch", None)
    if check_batch is not None:
        batch = check_batch(signals)
        return [c for _, c in batch.checked]
    today = dt.date.today()  # an older node: the per-signal check it is made of
    return [node._check(s, today) for s in signals]


def _run_import(config: Path, csv_path: Path) -> tuple[float, float, str]:
    """Run the import command; (wall seconds, CPU seconds of the child, its output)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        net.seinhuis_command(
            "node", "import", "--config", str(config), "--no-progress", str(csv_path)
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=net.REPO,
    )
    output, _ = process.communicate()
    wall = time.perf_counter() - start
    # communicate() has reaped it; the children's rusage holds its CPU time.
    usage = _children_cpu()
    text = output.decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"import exited {process.returncode}:\n{text[-3000:]}")
    return wall, usage, text


_child_cpu_seen = 0.0


def _children_cpu() -> float:
    """CPU seconds of reaped children since the last call (the import is the only one)."""
    global _child_cpu_seen
    times = os.times()
    total = times.children_user + times.children_system
    delta, _child_cpu_seen = total - _child_cpu_seen, total
    return delta


def run(*, quick: bool = False, progress: bool = True, rows: int | None = None) -> list[Figure]:
    sizes = QUICK if quick else FULL
    if rows is not None:
        persons = min(FULL.persons, max(1, rows // 20))
        sizes = Sizes(rows, persons, sizes.floor_rows, sizes.hub_wait_s)
    say = net.say if progress else net.quiet
    with tempfile.TemporaryDirectory(prefix="seinhuis-bench-import-") as tmp:
        root = Path(tmp)
        csv_path = root / "signals.csv"
        write_csv(csv_path, sizes.rows, sizes.persons)
        say(f"  import: wrote {sizes.rows:,} rows over {sizes.persons:,} persons")
        floor_limit = min(sizes.rows, sizes.floor_rows)
        floors = [floor_round(csv_path, floor_limit)]

        layout = net.create_network(root / "net", [PARTNER])
        launcher = Launcher(layout)
        hub_db = layout.hub_dir / "hub.db"

        def held() -> int:
            return net.scalar(hub_db, "SELECT COUNT(*) FROM hub_signals")

        try:
            pseudonym = net.start(
                launcher, "pseudonym", "pseudonym", layout.pseudonym_dir / "pseudonym.toml"
            )
            hub = net.start(launcher, "hub", "hub", layout.hub_dir / "hub.toml")
            config = layout.write_node_config(
                PARTNER, hub_port=hub.port, pseudonym_port=pseudonym.port
            )
            node = net.start(launcher, PARTNER.id, "node", config)
            services = [pseudonym.process.pid, hub.process.pid, node.process.pid]
            _children_cpu()
            services_cpu = sum(net.cpu_seconds(pid) for pid in services)
            wall, import_cpu, output = _run_import(config, csv_path)
            services_cpu = sum(net.cpu_seconds(pid) for pid in services) - services_cpu
            held_at_end = held()
            match = _SUMMARY.search(output)
            if match is None or int(match.group(2)) != sizes.rows:
                raise RuntimeError(f"import did not accept every row:\n{output[-3000:]}")
            say(
                f"  import: {sizes.rows:,} rows accepted in {wall:,.1f} s;"
                f" the hub holds {held_at_end:,}"
            )
            after = time.perf_counter()
            all_held = net.wait_until(
                lambda: held() >= sizes.rows, timeout=sizes.hub_wait_s, interval=0.5
            )
            waited = time.perf_counter() - after
            held_last = held()
            say(f"  import: the hub holds {held_last:,} rows {wall + waited:,.0f} s after start")
        finally:
            launcher.stop_all()
        floors.append(floor_round(csv_path, floor_limit))

    floor_rate = statistics.median(n / s for n, s in floors)
    per_row = 1e6 / sizes.rows
    figures = [
        Figure(SECTION, ROWS, sizes.rows, "rows"),
        Figure(SECTION, PERSONS, sizes.persons, "persons"),
        Figure(SECTION, WALL, wall, "s", target="< 600 s for 1,000,000 rows (2 cores)"),
        Figure(SECTION, RATE, sizes.rows / wall, "rows/s", floor=floor_rate, floor_name=FLOOR_NAME),
        Figure(SECTION, IMPORT_CPU, import_cpu * per_row, "us CPU/row"),
        Figure(SECTION, SERVICES_CPU, services_cpu * per_row, "us CPU/row"),
        Figure(SECTION, HUB_AT_END, held_at_end, "rows"),
        Figure(SECTION, HUB_RATE_DURING, held_at_end / wall, "rows/s"),
    ]
    rate_after = (held_last - held_at_end) / waited if waited > 1.0 else 0.0
    if rate_after:
        figures.append(Figure(SECTION, HUB_RATE_AFTER, rate_after, "rows/s"))
    if all_held:
        figures.append(Figure(SECTION, HUB_ALL, wall + waited, "s"))
    elif rate_after:
        remaining = (sizes.rows - held_last) / rate_after
        figures.append(Figure(SECTION, HUB_PROJECTED, wall + waited + remaining, "s"))
    return figures
