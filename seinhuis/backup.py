"""`seinhuis hub|pseudonym|node|consent backup`: a consistent copy of a service's SQLite database.

Services run SQLite in WAL mode, so copying the live file with `cp` can miss what is still in
the -wal file or tear a page. SQLite's online backup API copies one consistent snapshot while
the service keeps reading and writing (a writer's transaction that is still open is not in the
copy). The copy is written beside its destination under a temporary name, checked with
`PRAGMA integrity_check`, switched to a plain rollback journal (one self-contained file), and
only then renamed into place. PostgreSQL is refused: `pg_dump` takes its snapshots.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seinhuis.atomic import folder_of, publish, refuse_existing, temp_beside
from seinhuis.errors import ConfigError


@dataclass(frozen=True)
class Backup:
    source: Path
    path: Path
    #: `PRAGMA integrity_check` on the copy: ("ok",) when it holds.
    integrity: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.integrity == ("ok",)


def sqlite_file(url: str, *, source: str, field: str) -> Path:
    """The database file of a configured URL; other databases are refused naming the tool."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"{source}: {field}: not a database URL") from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        plain = parsed.set(drivername="postgresql").render_as_string(hide_password=True)
        raise ConfigError(
            f"{source}: {field} is a PostgreSQL database: back it up with "
            f"pg_dump --format=custom --file=DEST {plain!r} (the operator's guide, section 14)"
        )
    database = parsed.database or ""
    if backend != "sqlite" or database in ("", ":memory:") or database.startswith("file:"):
        raise ConfigError(f"{source}: {field}: not a SQLite database file, nothing to copy")
    return Path(database)


def backup(database: Path, dest: Path, *, force: bool = False) -> Backup:
    """Copy a (possibly live) SQLite database to `dest` (a file, or a folder to put it in)."""
    if dest.is_dir():
        dest = dest / database.name
    if not database.is_file():
        raise ConfigError(f"{database}: no such database file")
    if dest.resolve() == database.resolve():
        raise ConfigError(f"{dest}: is the live database itself; choose another destination")
    folder_of(dest)
    refuse_existing([dest], force=force)
    temp = temp_beside(dest)  # mode 0600: the copy holds what the database holds
    try:
        integrity = _copy(database, temp)
        if integrity == ("ok",):
            publish(temp, dest, replace=force)
    finally:
        temp.unlink(missing_ok=True)
    return Backup(database, dest, integrity)


def _copy(database: Path, temp: Path) -> tuple[str, ...]:
    # mode=rw: never create an empty database where the configured one is missing.
    source = sqlite3.connect(f"{database.resolve().as_uri()}?mode=rw", uri=True, timeout=30)
    try:
        copy = sqlite3.connect(temp, timeout=30)
        try:
            source.backup(copy)  # all pages in one step: one snapshot
            copy.execute("PRAGMA journal_mode=DELETE")
            rows = copy.execute("PRAGMA integrity_check").fetchall()
        finally:
            copy.close()
    except sqlite3.Error as exc:
        raise ConfigError(f"{database}: cannot back up: {exc}") from exc
    finally:
        source.close()
    return tuple(str(row[0]) for row in rows)


def add_command(
    commands: Any, *, what: str, config_help: str, database_of: Callable[[Path], Path]
) -> argparse.ArgumentParser:
    """A `backup --config FILE DEST` command; `database_of` reads the database file from the
    config (ConfigError when the service has none to copy)."""
    command: argparse.ArgumentParser = commands.add_parser(
        "backup",
        help=f"a consistent copy of {what} while it runs, checked with integrity_check",
        description=f"Copies {what} with SQLite's online backup API (safe while the service "
        "runs, unlike cp), checks the copy with PRAGMA integrity_check and only then puts it at "
        "DEST (a file, or a folder to put it in; mode 0600). PostgreSQL: use pg_dump.",
    )
    command.add_argument("--config", type=Path, required=True, metavar="FILE", help=config_help)
    command.add_argument("dest", type=Path, metavar="DEST", help="the copy, or a folder for it")
    command.add_argument("--force", action="store_true", help="replace an existing DEST")

    def run(args: argparse.Namespace) -> int:
        result = backup(database_of(args.config), args.dest, force=args.force)
        if not result.ok:
            problems = "; ".join(result.integrity[:5])
            print(
                f"seinhuis: {result.source}: the copy fails integrity_check ({problems}); "
                f"nothing was written to {result.path}",
                file=sys.stderr,
            )
            return 1
        print(f"ok {result.path} (a consistent copy of {result.source}; integrity_check: ok)")
        return 0

    command.set_defaults(func=run)
    return command
