"""`seinhuis hub ...`: serve the hub, and inspect what it stored (counts, signals, cases)."""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from hub import config as config_module
from hub import household_view, institutions, registry_cli
from hub import registry as registry_module
from hub.config import MEMORY_URL
from hub.domain import StoredSignal
from hub.rekey import rekey_to_current
from hub.store import HubStore, open_store
from hub.wiring import build
from pseudonym.client import PseudonymClient
from seinhuis import backup, logs
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
    migrate = commands.add_parser(
        "migrate",
        help="bring the database schema to this version's newest migration (hub.auto_migrate)",
    )
    migrate.set_defaults(func=migrate_command)
    dashboard = commands.add_parser(
        "dashboard",
        help="serve the staff dashboard ([hub.dashboard]: web, Dutch) until SIGTERM or SIGINT",
    )
    # `seinhuis hub dashboard --config F`; `... dashboard serve --config F` as other services.
    dashboard.add_argument(
        "action", nargs="?", choices=["serve"], default="serve", help=argparse.SUPPRESS
    )
    dashboard.set_defaults(func=dashboard_command)
    after_restore = commands.add_parser(
        "after-restore",
        help="after restoring an older database backup: let partners' feeds resume",
        description="Run once with the hub stopped, after its database was restored from a "
        "backup (SQLite file or pg_restore). Partners' nodes resume their feeds after cursors "
        "the restored database never issued; this moves every registered partner's next cursor "
        "past them, so no new notice is skipped. It prints when the newest restored signal "
        "arrived: what partners sent after that is lost and must be sent again.",
    )
    after_restore.set_defaults(func=after_restore_command)
    for command in (
        serve,
        stats,
        signals,
        households,
        rekey,
        cases,
        migrate,
        dashboard,
        after_restore,
    ):
        command.add_argument("--config", type=Path, required=True, help="hub.toml")
    audit = commands.add_parser("audit", help="the audit log of staff's views and actions")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    verify = audit_commands.add_parser("verify", help="check the audit log's hash chain")
    verify.add_argument("--config", type=Path, required=True, help="hub.toml")
    verify.add_argument("--json", action="store_true", help="machine-readable output")
    verify.set_defaults(func=audit_verify_command)
    registry_cli.register(commands)
    backup.add_command(
        commands, what="the hub's database", config_help="hub.toml", database_of=_database_file
    )


def serve_command(args: argparse.Namespace) -> int:
    config = config_module.load(args.config)
    logs.configure("hub")
    service = build(config)
    serve_until_signalled(service.start, service.stop)
    return 0


def dashboard_command(args: argparse.Namespace) -> int:
    from hub.dashboard import wiring as dashboard_wiring

    config = config_module.load(args.config)
    logs.configure("hub-dashboard")
    service = dashboard_wiring.build(config)
    serve_until_signalled(service.start, service.stop)
    return 0


def _open_store(path: Path) -> HubStore:
    """The configured store; with hub.auto_migrate off it must be migrated already."""
    config = config_module.load(path)
    return open_store(config.database_url, auto_migrate=config.auto_migrate)


def _database_file(path: Path) -> Path:
    """The hub's SQLite database file (`seinhuis hub backup`)."""
    url = config_module.load(path).database_url
    return backup.sqlite_file(url, source=str(path), field="hub.database_url")


def migrate_command(args: argparse.Namespace) -> int:
    from hub.migrations import SCHEMA
    from seinhuis.schema import migrate_database

    config = config_module.load(args.config)
    if config.database_url == MEMORY_URL:
        print("the in-memory store has no schema to migrate")
        return 0
    print(migrate_database(config.database_url, SCHEMA))
    return 0


#: How far a restore moves each partner's feed: more notices than a partner gets in decades.
FEED_GAP = 1_000_000_000


def after_restore_command(args: argparse.Namespace) -> int:
    config = config_module.load(args.config)
    partners = sorted(registry_module.load(config.registry).partners)
    store = _open_store(args.config)
    try:
        floors = store.raise_feed_floors(partners, FEED_GAP)
        newest = store.newest_received_at()
    finally:
        store.close()
    for partner_id, floor in floors.items():
        print(f"{partner_id}: feed continues after cursor {floor}")
    when = f"{newest:%Y-%m-%d %H:%M:%S} UTC" if newest is not None else "never (it is empty)"
    print(
        f"the restored database's newest signal or fact arrived {when}: ask the partners to "
        "send again, with new references, what they sent after that; withdrawals made after "
        "it must be made again too"
    )
    return 0


def audit_verify_command(args: argparse.Namespace) -> int:
    """OK, or the first entry that breaks the chain (exit 1), straight from the database."""
    from hub.audit import verify
    from hub.operator.cli import render_verification
    from hub.operator.serde import verification_to_dict

    store = _open_store(args.config)
    try:
        result = verification_to_dict(verify(store.audit_entries()))
    finally:
        store.close()
    print(json.dumps(result) if args.json else render_verification(result))
    return 0 if result["intact"] else 1


def cases_command(args: argparse.Namespace) -> int:
    store = _open_store(args.config)
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
    store = _open_store(args.config)
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
    store = _open_store(args.config)
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
    store = open_store(config.database_url, auto_migrate=config.auto_migrate)
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
    store = open_store(config.database_url, auto_migrate=config.auto_migrate)
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
