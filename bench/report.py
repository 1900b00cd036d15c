"""One table for all benchmark figures, and bench/results.json."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).resolve().parent / "results.json"


@dataclass(frozen=True)
class Figure:
    section: str
    name: str
    value: float
    unit: str
    floor: float | None = None  # the reference measured in the same run
    floor_name: str = ""
    target: str = ""

    @property
    def ratio(self) -> float | None:
        if self.floor in (None, 0):
            return None
        return self.value / self.floor


def render(figures: list[Figure], console: Console | None = None) -> None:
    table = Table(title="Seinhuis benchmarks (figures and floors from the same run)")
    for col in ("section", "figure", "value", "floor", "ratio", "target"):
        table.add_column(col, justify="right" if col in ("value", "floor", "ratio") else "left")
    for f in figures:
        table.add_row(
            f.section,
            f.name,
            f"{f.value:,.1f} {f.unit}",
            f"{f.floor:,.1f} ({f.floor_name})" if f.floor is not None else "",
            f"{f.ratio:.2f}" if f.ratio is not None else "",
            f.target,
        )
    (console or Console()).print(table)


def save(figures: list[Figure]) -> Path:
    payload = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "cpus": _cpus()},
        "figures": [asdict(f) | {"ratio": f.ratio} for f in figures],
    }
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")
    return RESULTS


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))
