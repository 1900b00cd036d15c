"""`seinhuis hub ...`: serve the hub, and inspect what it stored (counts, signals, cases)."""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Sequence
from pathlib import Path

from hub import config as config_module
from hub import household_view, institutions
from hub.domain import StoredSignal
from hub.rekey import rekey_to_current
from hub.store import open_store
from hub.wiring import build
from pseudonym.client import PseudonymClient
from seinhuis import logs
from seinhuis.errors import ConfigError
from seinhuis.lifecycle import serve_until_signalled

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
    households = commands.add_parser(
        "households", help="the households the hub formed (pseudonyms shown as short hashes)"
    )
    households.set_defaults(func=households_command)
    rekey = commands.add_parser(
        "rekey", help="after an OPRF key rotation: move stored pseudonyms to the current key"
    )
    rekey.set_defaults(func=rekey_command)
    cases = commands.add_parser(
        "cases", help="list cases by status and deadline (no households, no identities)"
    )
    cases.set_defaults(func=cases_command)
    for command in (serve, stats, signals, households, rekey, cases):
        command.add_argument("--config", type=Path, required=True, help="hub.toml")


def serve_command(args: argparse.Namespace) -> int:
    config = config_module.load(args.config)
    logs.configure("hub")
    service = build(config)
    serve_until_signalled(service.start, service.stop)
    return 0


def cases_command(args: argparse.Namespace) -> int:
    store = open_store(config_module.load(args.config).database_url)
    try:
        cases = store.list_cases()
    finally:
        store.close()
    rows = [
        (
            c.ref,
            c.status,
            c.deadline.isoformat() if c.deadline else "-",
            c.regiehouder or "-",
            str(c.escalation),
            str(c.signals),
            c.outcome or "-",
        )
        for c in cases
    ]
    header = ("case", "status", "deadline", "regiehouder", "escalation", "signals", "outcome")
    _print_table(header, rows)
    by_status: dict[str, int] = {}
    for c in cases:
        by_status[c.status] = by_status.get(c.status, 0) + 1
    print()
    _print_table(("status", "cases"), sorted((st, str(n)) for st, n in by_status.items()))
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


def households_command(args: argparse.Namespace) -> int:
    config = config_module.load(args.config)
    store = open_store(config.database_url)
    try:
        view = household_view.current_view(store, institutions.load(config.institutions).addresses)
    finally:
        store.close()
    _print_table(
        ("household", "kind", "members", "signals"),
        [
            (
                short_hash(h.key),
                "person at institution" if h.at_institution else "address",
                str(len(h.members)),
                str(len(h.signal_ids)),
            )
            for h in view.households
        ],
    )
    for link in view.family_links:
        print(
            f"family link: parent in {short_hash(link.parent_household)}, "
            f"child in {short_hash(link.child_household)}"
        )
    return 0


def rekey_command(args: argparse.Namespace) -> int:
    config = config_module.load(args.config)
    if config.pseudonym is None:
        raise ConfigError(f"{args.config}: [hub.pseudonym] is needed to fetch re-key factors")
    store = open_store(config.database_url)
    try:
        with PseudonymClient(
            config.pseudonym.target, config.tls, server_name=config.pseudonym.server_name
        ) as client:
            report = rekey_to_current(store, client, config.institutions)
    finally:
        store.close()
    print(
        f"re-keyed {report.rows} stored records to key version {report.to_version}"
        + (" and the institution list" if report.institutions_moved else "")
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
