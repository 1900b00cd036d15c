"""`python -m bench` (`make bench`): every benchmark section, one table, bench/results.json.

    python -m bench                 # the full run (about 15 minutes on 2 cores)
    python -m bench --quick         # small sizes: a smoke run
    python -m bench --only spine    # one section

Each figure stands next to a floor measured in the same run; see each section's module:
bench/spine.py, bench/spine_pg.py (its own PostgreSQL cluster), bench/pseudonym_section.py
(bench/pseudonym_bench.py), bench/import_bench.py, bench/match_latency.py, bench/stored_scale.py
(its prefilled database is cached under the system temp dir).
Progress goes to stderr; stdout holds the table. Where a spine signal's CPU goes:
`python -m bench.profile_spine` (not part of this run).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from bench import (
    import_bench,
    match_latency,
    net,
    pseudonym_section,
    report,
    spine,
    spine_pg,
    stored_scale,
)
from bench.report import Figure
from seinhuis import logs

SECTIONS: dict[str, Callable[..., list[Figure]]] = {
    "spine": spine.run,
    "spine-pg": spine_pg.run,
    "pseudonym": pseudonym_section.run,
    "import": import_bench.run,
    "match": match_latency.run,
    "stored": stored_scale.run,
}
MACHINE = "machine"
LOAD_START = "1-minute load average at start (2 cores: above 2 means contention)"
LOAD_END = "1-minute load average at end"
#: A virtual machine's CPUs may be lent to others on the same host: figures drop with it.
STOLEN = "CPU time stolen by the hypervisor during the run (above a few %: noisy host)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--only",
        choices=sorted(SECTIONS),
        metavar="SECTION",
        help=f"run one section: {', '.join(SECTIONS)}",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=report.RESULTS,
        metavar="FILE",
        help=f"where to write the figures (default {report.RESULTS})",
    )
    parser.add_argument(
        "--import-rows",
        type=int,
        metavar="N",
        help="rows for the import section (default 1,000,000; --quick 20,000)",
    )
    args = parser.parse_args(argv)
    # Services started in this process (the pseudonym benchmark's) must not log per call.
    logs.configure("bench", level=logging.WARNING)

    figures = [Figure(MACHINE, LOAD_START, net.load_average(), "")]
    cpu_at_start = net.cpu_times()
    failed: list[str] = []
    for name, run in SECTIONS.items():
        if args.only and name != args.only:
            continue
        net.say(f"{name}: running{' (quick)' if args.quick else ''}")
        started = time.monotonic()
        kwargs = {"quick": args.quick}
        if name == "import" and args.import_rows:
            kwargs["rows"] = args.import_rows
        try:
            figures += run(**kwargs)
        except Exception:
            failed.append(name)
            net.say(f"{name}: FAILED\n{traceback.format_exc()}")
        net.say(f"{name}: {time.monotonic() - started:,.0f} s")
    figures.append(Figure(MACHINE, LOAD_END, net.load_average(), ""))
    figures.append(Figure(MACHINE, STOLEN, net.stolen_share(cpu_at_start, net.cpu_times()), "%"))

    # Piped (make bench | tee, a test): wide enough that figure names do not wrap.
    report.render(figures, None if sys.stdout.isatty() else Console(width=200))
    # report.save writes to report.RESULTS; point it elsewhere when asked (tests do).
    report.RESULTS = args.results
    path = report.save(figures)
    net.say(f"wrote {path}")
    if failed:
        net.say(f"failed sections: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
