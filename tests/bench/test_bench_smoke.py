"""`python -m bench --quick` runs end to end: one table on stdout, every figure in the JSON.

A smoke test only: nothing here asserts a speed (benchmarks report figures, tests do not time).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import import_bench, match_latency, pseudonym_section, spine, spine_pg, stored_scale
from bench.__main__ import LOAD_END, LOAD_START, MACHINE

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_quick_run_prints_one_table_and_writes_every_figure(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--results", str(results)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1100,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.count("Seinhuis benchmarks") == 1
    for section in ("spine", "spine-pg", "pseudonym", "import", "match", "stored", MACHINE):
        assert section in done.stdout

    payload = json.loads(results.read_text())
    names = {(f["section"], f["name"]) for f in payload["figures"]}
    expected = (
        {(spine.SECTION, n) for n in spine.FIGURES}
        | {(spine_pg.SECTION, n) for n in spine_pg.FIGURES}
        | {(pseudonym_section.SECTION, n) for n in pseudonym_section.FIGURES}
        | {(import_bench.SECTION, n) for n in import_bench.FIGURES}
        | {(match_latency.SECTION, n) for n in match_latency.FIGURES}
        | {(stored_scale.SECTION, n) for n in stored_scale.FIGURES}
        | {(MACHINE, LOAD_START), (MACHINE, LOAD_END)}
    )
    assert expected <= names, sorted(expected - names)
    # The hub either held every imported row within the wait or the projection says how long.
    assert {
        (import_bench.SECTION, import_bench.HUB_ALL),
        (import_bench.SECTION, import_bench.HUB_PROJECTED),
    } & names
    floors = {f["name"]: f for f in payload["figures"] if f["floor"] is not None}
    assert spine.RATE in floors and floors[spine.RATE]["ratio"] is not None
    # PostgreSQL, 1 and 2 hub processes: each beside its own floor, and both hubs took part.
    for name in (spine_pg.RATE_1, spine_pg.RATE_2, spine_pg.HUB_CPU_1, spine_pg.HUB_CPU_2):
        assert name in floors and floors[name]["ratio"] is not None
    share = next(f for f in payload["figures"] if f["name"] == spine_pg.SHARE_2)
    assert 0 < share["value"] < 100
    assert pseudonym_section.RATE in floors
    assert import_bench.RATE in floors
    # Match latency and stored scale each stand beside a floor from the same run.
    for name in (match_latency.P50, match_latency.P99, stored_scale.RATE):
        assert name in floors and floors[name]["ratio"] is not None
    stored = next(f for f in payload["figures"] if f["name"] == stored_scale.STORED)
    assert stored["value"] == stored_scale.QUICK_ROWS
    assert payload["machine"]["cpus"] >= 1
