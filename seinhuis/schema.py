"""Schema migrations (Alembic) for the services' SQL stores, driven from code.

Each service keeps its migrations in its own folder (`hub/migrations`, `consent/migrations`,
`pseudonym/migrations`: env.py, script.py.mako, versions/) and its own version table
(`alembic_version_<service>`), so services may share one database without touching each
other's tables. A store opens its database with `prepare`: upgraded to the newest revision
(serialised between processes: PostgreSQL's advisory lock, SQLite's write lock), or, when
the operator turned automatic migration off, checked to be there already.

`make migration SERVICE=hub MSG="..."` writes a new revision from the difference between the
tables in code and the newest revision (scripts/migration.py calls `new_revision`);
tests/test_migrations.py fails, showing the difference, when a table changed without one.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData, inspect, text
from sqlalchemy.types import TypeDecorator

from seinhuis import logs
from seinhuis.db import IMMEDIATE, create_engine, is_postgresql
from seinhuis.errors import ConfigError

log = logs.get_logger(__name__)

#: Revision files are named v<id>_<slug>.py, ids counting up from 0001 (scripts/migration.py).
FILE_TEMPLATE = "v%%(rev)s_%%(slug)s"


@dataclass(frozen=True)
class Schema:
    """One service's tables and the folder of migrations that builds them."""

    name: str
    location: Path
    metadata: tuple[MetaData, ...]

    @property
    def version_table(self) -> str:
        return f"alembic_version_{self.name}"

    @property
    def tables(self) -> frozenset[str]:
        return frozenset(name for m in self.metadata for name in m.tables)

    @property
    def versions(self) -> Path:
        return self.location / "versions"


def prepare(
    engine: Engine, schema: Schema, *, auto_migrate: bool = True, command_hint: str = ""
) -> None:
    """Make the database ready for this code: upgrade it to the newest revision, or (with
    auto_migrate off) refuse to go on unless it is there already.

    command_hint: the command an operator runs to migrate, for the error message.
    """
    if auto_migrate:
        upgrade(engine, schema)
        return
    with engine.connect() as conn:
        current = current_revisions(conn, schema)
    wanted = heads(schema)
    if current != wanted:
        at = ", ".join(sorted(current)) or "no revision"
        hint = f"; run `{command_hint}`" if command_hint else ""
        raise ConfigError(
            f"the {schema.name} database schema is at {at}, this version needs "
            f"{', '.join(sorted(wanted))}; automatic migration is off{hint}"
        )


def upgrade(engine: Engine, schema: Schema) -> tuple[str, ...]:
    """Upgrade the database to the newest revision; returns the revisions it was at before.

    Safe when several processes start at once: the first migrates, the others wait for its
    lock, then find the database current.
    """
    wanted = heads(schema)
    with engine.connect() as conn:
        before = current_revisions(conn, schema)
    if before == wanted:
        return tuple(sorted(before))
    with engine.execution_options(**{IMMEDIATE: True}).begin() as conn:
        if is_postgresql(engine):
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(schema)})
        before = current_revisions(conn, schema)
        if before == wanted:
            return tuple(sorted(before))
        if not before:
            _refuse_unversioned(conn, schema)
        command.upgrade(alembic_config(schema, conn), "head")
    log.info(
        "db.migrated",
        schema=schema.name,
        from_revision=",".join(sorted(before)) or None,
        to_revision=",".join(sorted(wanted)),
    )
    return tuple(sorted(before))


def migrate_database(url: str, schema: Schema) -> str:
    """Upgrade the database at `url` to the newest revision (the `migrate` commands); a line
    saying where it was and where it is now."""
    engine = create_engine(url)
    try:
        before = upgrade(engine, schema)
        with engine.connect() as conn:
            after = sorted(current_revisions(conn, schema))
    finally:
        engine.dispose()
    was = ", ".join(before) or "empty"
    now = ", ".join(after)
    if list(before) == after:
        return f"the {schema.name} database schema is current (revision {now})"
    return f"the {schema.name} database schema is now at revision {now} (was: {was})"


def current_revisions(conn: Connection, schema: Schema) -> frozenset[str]:
    """The revisions the database is at (empty: never migrated)."""
    context = MigrationContext.configure(conn, opts={"version_table": schema.version_table})
    return frozenset(context.get_current_heads())


def heads(schema: Schema) -> frozenset[str]:
    """The newest revision(s) among the service's migrations."""
    return frozenset(_scripts(schema.location).get_heads())


def differences(engine: Engine, schema: Schema) -> list[Any]:
    """What the tables in code have that the database does not, or the other way round
    (alembic.autogenerate.compare_metadata's diff; empty when they agree)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts=_context_options(schema))
        # compare_metadata is typed for one MetaData; AutogenContext takes a sequence.
        found: list[Any] = compare_metadata(context, list(schema.metadata))  # type: ignore[arg-type]
    return found


def alembic_config(schema: Schema, connection: Connection | None = None) -> Config:
    """Alembic's configuration for a schema; env.py uses `connection` when one is given."""
    cfg = Config(attributes={"connection": connection} if connection is not None else {})
    cfg.set_main_option("script_location", str(schema.location))
    cfg.set_main_option("file_template", FILE_TEMPLATE)
    return cfg


def run_env(schema: Schema) -> None:
    """The body of every service's migrations/env.py."""
    from alembic import context

    if context.is_offline_mode():
        raise ConfigError("offline (--sql) migrations are not supported; migrate a database")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run_migrations(context, connection, schema)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise ConfigError("no database: pass a connection or set sqlalchemy.url")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            _run_migrations(context, conn, schema)
    finally:
        engine.dispose()


def new_revision(schema: Schema, message: str, *, baseline: bool = False) -> Path | None:
    """Write the next revision: what the tables in code differ from the newest revision.

    baseline: first delete every revision, so the new one (0001) creates all tables. Returns
    the new file, or None when nothing changed (no file is written then).
    """
    if baseline:
        for old in schema.versions.glob("*.py"):
            old.unlink()
        shutil.rmtree(schema.versions / "__pycache__", ignore_errors=True)
    schema.versions.mkdir(parents=True, exist_ok=True)
    _scripts.cache_clear()
    with tempfile.TemporaryDirectory(prefix="seinhuis-migration-") as scratch:
        engine = create_engine(f"sqlite:///{Path(scratch) / 'scratch.db'}")
        try:
            upgrade(engine, schema)
            if not differences(engine, schema):
                return None
            rev_id = f"{len(list(_scripts(schema.location).walk_revisions())) + 1:04d}"
            with engine.begin() as conn:
                script = command.revision(
                    alembic_config(schema, conn), message=message, autogenerate=True, rev_id=rev_id
                )
        finally:
            engine.dispose()
    _scripts.cache_clear()
    if script is None or isinstance(script, list):
        raise RuntimeError("alembic wrote no single revision")
    path = Path(script.path)
    _tidy(path)
    return path


# --- inside -----------------------------------------------------------------------------------


@cache
def _scripts(location: Path) -> ScriptDirectory:
    cfg = Config()
    cfg.set_main_option("script_location", str(location))
    return ScriptDirectory.from_config(cfg)


def _context_options(schema: Schema) -> dict[str, Any]:
    tables = schema.tables

    def include_name(name: str | None, type_: str, _parents: Any) -> bool:
        # Only this service's tables: others may share the database.
        return type_ != "table" or name in tables

    return {
        "version_table": schema.version_table,
        "target_metadata": list(schema.metadata),
        "include_name": include_name,
        "compare_type": True,
        # SQLite alters a table by copying it; batch mode writes migrations that do so.
        "render_as_batch": True,
        "render_item": _render_item,
    }


def _run_migrations(context: Any, connection: Connection, schema: Schema) -> None:
    context.configure(connection=connection, **_context_options(schema))
    with context.begin_transaction():
        context.run_migrations()


def _render_item(type_: str, obj: Any, _context: AutogenContext) -> str | bool:
    # SQLModel's column types (AutoString, UTCDateTime) are plain SQLAlchemy types to the
    # database: write those, so a revision does not depend on SQLModel's internals.
    sqlmodel_type = isinstance(obj, TypeDecorator) and type(obj).__module__.startswith("sqlmodel.")
    return f"sa.{obj.impl!r}" if type_ == "type" and sqlmodel_type else False


def _refuse_unversioned(conn: Connection, schema: Schema) -> None:
    existing = set(inspect(conn).get_table_names()) & schema.tables
    if existing:
        raise ConfigError(
            f"the database holds {schema.name} tables ({', '.join(sorted(existing))}) made "
            "before schema migrations existed; move it aside and start with an empty one"
        )


def _lock_key(schema: Schema) -> int:
    digest = hashlib.sha256(f"seinhuis/schema/{schema.name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _tidy(path: Path) -> None:
    """Format a generated revision like the rest of the code (ruff), when ruff is there."""
    for args in (["format", str(path)], ["check", "--fix", "--quiet", str(path)]):
        subprocess.run([sys.executable, "-m", "ruff", *args], check=False)


def revisions(schema: Schema) -> Sequence[str]:
    """Every revision id, oldest first."""
    return [s.revision for s in reversed(list(_scripts(schema.location).walk_revisions()))]
