"""`seinhuis hub ...`: serve the hub, and inspect what it stored (counts, signals)."""

from __future__ import annotations

import argparse
import hashlib
import signal
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from hub import config as config_module
from hub.domain import StoredSignal
from hub.store import open_store
from hub.wiring import build
from seinhuis import logs

#: Hex digits of a pseudonym's hash shown to operators: enough to tell rows apart, no more.
PSEUDONYM_PREFIX = 8


def register(parser: argparse.ArgumentParser) -> None:
    """Add the hub's commands under the `hub` role."""
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the hub until SIGTERM or SIGINT")
    serve.set_defaults(func=serve_command)
    stats = commands.add_parser("stats", help="count stored signals per partner and type")
    stats.set_defaults(func=stats_command)
    signals = commands.add_parser("signals", help="list received signals")
    signals.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    signals.set_defaults(func=signals_command)
    for command in (serve, stats, signals):
        command.add_argument("--config", type=Path, required=True, help="hub.toml")


def serve_command(args: argparse.Namespace) -> int:
    config = config_module.load(args.config)
    logs.configure("hub")
    service = build(config)
    stopping = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    service.start()
    stopping.wait()
    service.stop()
    return 0


def stats_command(args: argparse.Namespace) -> int:
    store = open_store(config_module.load(args.config).database_url)
    try:
        counts = store.count_signals()
    finally:
        store.close()
    rows = [(c.partner_id, c.signal_type.value, str(c.active), str(c.withdrawn)) for c in counts]
    by_type: dict[str, int] = {}
    for c in counts:
        by_type[c.signal_type.value] = by_type.get(c.signal_type.value, 0) + c.active
    _print_table(("partner", "signal type", "active", "withdrawn"), rows)
    print()
    _print_table(("signal type", "active"), sorted((t, str(n)) for t, n in by_type.items()))
    print(f"\ntotal active: {sum(c.active for c in counts)}")
    return 0


def signals_command(args: argparse.Namespace) -> int:
    store = open_store(config_module.load(args.config).database_url)
    try:
        signals = store.list_signals(limit=args.limit)
    finally:
        store.close()
    _print_table(
        (
            "id",
            "partner",
            "type",
            "domain",
            "urgency",
            "observed",
            "keep until",
            "person",
            "address",
            "status",
        ),
        [_signal_row(s) for s in signals],
    )
    return 0


def short_hash(pseudonym: bytes | None) -> str:
    """A pseudonym as the prefix of its SHA-256, never the value itself."""
    if pseudonym is None:
        return "-"
    return hashlib.sha256(pseudonym).hexdigest()[:PSEUDONYM_PREFIX]


def _signal_row(stored: StoredSignal) -> tuple[str, ...]:
    r, s = stored.received, stored.received.signal
    status = f"withdrawn ({stored.withdraw_reason})" if stored.withdraw_reason else "active"
    return (
        r.id.hex(),
        r.partner_id,
        s.signal_type.value,
        s.life_domain.value,
        s.urgency.value,
        s.observed_on.isoformat(),
        s.keep_until.isoformat(),
        short_hash(s.person_pseudonym),
        short_hash(s.address_pseudonym),
        status,
    )


def _print_table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
