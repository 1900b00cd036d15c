"""Pseudonym: bench/pseudonym_bench.py's service-vs-scalarmult comparison as report figures.

The service runs inside this process there (one batch in flight, pre-blinded elements); its
per-call log lines are silenced by raising the structlog level while it runs.
"""

from __future__ import annotations

import logging

from bench import net, pseudonym_bench
from bench.report import Figure
from seinhuis import logs

SECTION = "pseudonym"
RATE = "evaluations/s at the service (mTLS, batches of 2,000)"
RATIO = "median of per-round service/floor ratios"
FIGURES = (RATE, RATIO)
FLOOR_NAME = "raw ristretto255 scalar mult"

FULL_SECONDS = 20.0
QUICK_SECONDS = 2.0


def run(*, quick: bool = False, progress: bool = True) -> list[Figure]:
    logs.configure("bench", level=logging.WARNING)  # no pseudonym.evaluated line per call
    result = pseudonym_bench.run(QUICK_SECONDS if quick else FULL_SECONDS)
    if progress:
        net.say(f"  pseudonym: {result['rounds']} rounds of {result['batch']} elements")
    return [
        Figure(
            SECTION,
            RATE,
            float(result["service_evaluations_per_s"]),
            "evals/s",
            floor=float(result["floor_scalarmult_per_s"]),
            floor_name=FLOOR_NAME,
            target=f">= {result['target_ratio']} of floor",
        ),
        Figure(
            SECTION,
            RATIO,
            100 * float(result["ratio"]),
            "% of floor",
            target=f">= {100 * result['target_ratio']:.0f} %",
        ),
    ]
