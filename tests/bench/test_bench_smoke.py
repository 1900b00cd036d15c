"""`python -m bench --quick` runs end to end: one table on stdout, every figure in the JSON.

A smoke test only: nothing here asserts a speed (benchmarks report figures, tests do not time).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import import_bench, pseudonym_section, spine
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
    for section in ("spine", "pseudonym", "import", MACHINE):
        assert section in done.stdout

    payload = json.loads(results.read_text())
    names = {(f["section"], f["name"]) for f in payload["figures"]}
    expected = (
        {(spine.SECTION, n) for n in spine.FIGURES}
        | {(pseudonym_section.SECTION, n) for n in pseudonym_section.FIGURES}
        | {(import_bench.SECTION, n) for n in import_bench.FIGURES}
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
    assert pseudonym_section.RATE in floors
    assert import_bench.RATE in floors
    assert payload["machine"]["cpus"] >= 1
