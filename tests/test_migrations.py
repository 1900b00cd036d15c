"""Schema migrations: each service's revisions build exactly the tables its code declares.

When a table changes in code without a migration, test_migrations_build_the_tables_in_code
fails and shows the difference; `make migration SERVICE=<service> MSG="..."` writes the missing
revision. Run against SQLite and the session's PostgreSQL (tests/pg.py).
"""

from __future__ import annotations

import pprint
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Column, Engine, Integer, MetaData, column, inspect, select, table

from consent.migrations import SCHEMA as CONSENT
from hub.migrations import SCHEMA as HUB
from hub.store import SqlHubStore
from pseudonym.migrations import SCHEMA as PSEUDONYM
from seinhuis import cli, db, schema
from seinhuis.errors import ConfigError
from seinhuis.schema import Schema

SCHEMAS = {s.name: s for s in (HUB, CONSENT, PSEUDONYM)}
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = db.create_engine(database_url)
    yield made
    made.dispose()


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_migrations_build_the_tables_in_code(name: str, engine: Engine) -> None:
    """Upgrading an empty database to the newest revision gives exactly the tables, columns,
    types, keys and indexes the code declares (alembic's compare_metadata finds nothing)."""
    service = SCHEMAS[name]
    schema.upgrade(engine, service)
    diff = schema.differences(engine, service)
    assert not diff, (
        f"the {name} tables in code differ from its migrations; write the missing revision with "
        f'`make migration SERVICE={name} MSG="..."` and read it through:\n'
        + "\n".join(_describe(d) for d in diff)
    )


def _describe(difference: Any) -> str:
    """One line per difference, e.g. `add_column hub_signals.source`, with its details."""
    items: list[Any] = difference if isinstance(difference, list) else [difference]
    lines = []
    for item in items:
        op, *rest = item
        parts = [getattr(r, "name", None) or pprint.pformat(r, width=200) for r in rest]
        lines.append(f"  {op} " + " ".join(p for p in parts if p and p != "None"))
    return "\n".join(lines)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_revision_downgrades_and_upgrades_again(name: str, engine: Engine) -> None:
    """Down to nothing and back up: every revision's downgrade undoes its upgrade."""
    service = SCHEMAS[name]
    schema.upgrade(engine, service)
    with engine.begin() as conn:
        command.downgrade(schema.alembic_config(service, conn), "base")
    assert not set(inspect(engine).get_table_names()) & service.tables
    schema.upgrade(engine, service)
    assert not schema.differences(engine, service)


def test_a_table_changed_without_a_migration_is_caught(tmp_path: Path) -> None:
    """The check above really looks: a column added in code only shows up as a difference."""
    changed = MetaData()
    for declared in PSEUDONYM.metadata[0].tables.values():
        declared.to_metadata(changed)
    changed.tables["pseudonym_audit"].append_column(Column("added_in_code", Integer))
    drifted = Schema(PSEUDONYM.name, PSEUDONYM.location, (changed,))
    engine = db.create_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    try:
        schema.upgrade(engine, drifted)
        diff = schema.differences(engine, drifted)
    finally:
        engine.dispose()
    assert [(d[0], d[3].name) for d in diff] == [("add_column", "added_in_code")]


def test_services_sharing_a_database_keep_to_their_own_tables(engine: Engine) -> None:
    """Hub, consent and audit tables in one database: each schema's versions and comparison
    see only its own tables."""
    for service in SCHEMAS.values():
        schema.upgrade(engine, service)
    for service in SCHEMAS.values():
        assert not schema.differences(engine, service)
        with engine.connect() as conn:
            assert schema.current_revisions(conn, service) == schema.heads(service)


def test_processes_starting_at_once_migrate_once(postgres_url: str) -> None:
    """Several hubs opening one empty PostgreSQL database at the same moment: one migrates,
    the others wait for it, and all of them open."""
    opened: list[SqlHubStore] = []
    failures: list[BaseException] = []
    start = threading.Barrier(4)

    def open_one() -> None:
        start.wait()
        try:
            opened.append(SqlHubStore(postgres_url))
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for store in opened:
        store.close()
    assert not failures, failures
    engine = db.create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            versions: Sequence[Any] = conn.execute(
                select(column("version_num")).select_from(table(HUB.version_table))
            ).all()
    finally:
        engine.dispose()
    assert [v[0] for v in versions] == sorted(schema.heads(HUB))


def test_without_auto_migrate_a_store_refuses_an_old_schema_until_migrated(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """auto_migrate = false: the hub refuses to start on an unmigrated database and names the
    command; `seinhuis hub migrate` migrates it, and then the hub opens."""
    config = tmp_path / "hub.toml"
    config.write_text(
        "[hub]\n"
        'id = "hub"\n'
        'listen = "127.0.0.1:0"\n'
        f'database_url = "{database_url}"\n'
        "auto_migrate = false\n"
        'registry = "partners.yaml"\n'
        'sealing_keys = ["sealing.key"]\n'
        "[hub.tls]\n"
        'ca_cert = "ca.crt"\n'
        'cert = "tls.crt"\n'
        'key = "tls.key"\n'
    )
    with pytest.raises(ConfigError, match="seinhuis hub migrate"):
        SqlHubStore(database_url, auto_migrate=False)
    assert cli.main(["hub", "migrate", "--config", str(config)]) == 0
    assert "now at revision" in capsys.readouterr().out
    assert cli.main(["hub", "migrate", "--config", str(config)]) == 0
    assert "is current" in capsys.readouterr().out
    SqlHubStore(database_url, auto_migrate=False).close()


def test_a_database_made_before_migrations_is_refused(tmp_path: Path) -> None:
    """Tables without a migration history are not silently taken over."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = db.create_engine(url)
    try:
        HUB.metadata[0].create_all(engine)
    finally:
        engine.dispose()
    with pytest.raises(ConfigError, match="before schema migrations"):
        SqlHubStore(url)
