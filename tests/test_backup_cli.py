"""`seinhuis hub|pseudonym|node|consent backup`: a consistent, checked copy of a database in use.

The hub's database is made and held open by the hub's own store, and another connection keeps
a write transaction open while the copy is taken, as a running hub does at any moment.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.store import HubStore, open_store
from pseudonym.model import OK, AuditRecord, Operation
from pseudonym.store.sql import SqlAuditStore
from seinhuis.cli import main
from seinhuis.vocabulary import IdentifierKind
from tests.hub.builders import received_signal

Capture = pytest.CaptureFixture[str]

HUB_TOML = """\
[hub]
id = "hub"
listen = "127.0.0.1:0"
database_url = "{url}"
registry = "partners.yaml"
sealing_keys = ["sealing.key"]
[hub.tls]
ca_cert = "ca.crt"
cert = "tls.crt"
key = "tls.key"
"""


def _hub_toml(folder: Path, url: str = "sqlite:///hub.db") -> Path:
    path = folder / "hub.toml"
    path.write_text(HUB_TOML.format(url=url))
    return path


@pytest.fixture
def live_hub(tmp_path: Path) -> Iterator[tuple[Path, HubStore, bytes]]:
    """hub.toml and the hub's database with one stored signal, the store still open."""
    folder = tmp_path / "hub"
    folder.mkdir()
    config = _hub_toml(folder)
    store = open_store(f"sqlite:///{folder / 'hub.db'}")
    signal = received_signal()
    store.add_batch([signal])
    try:
        yield config, store, signal.id
    finally:
        store.close()


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_hub_backup_copies_a_live_database_consistently(
    live_hub: tuple[Path, HubStore, bytes], tmp_path: Path, capsys: Capture
) -> None:
    """While the hub's store is open and a writer holds an uncommitted transaction, the copy
    holds what was committed and nothing of the open transaction, passes integrity_check, is
    readable only by its owner, and opens as a hub database with the stored signal."""
    config, _store, signal_id = live_hub
    (tmp_path / "backup").mkdir()
    dest = tmp_path / "backup" / "hub.db"
    writer = sqlite3.connect(config.parent / "hub.db", isolation_level=None, timeout=30)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("CREATE TABLE half_done (x INTEGER)")
        writer.execute("INSERT INTO half_done VALUES (1)")
        assert main(["hub", "backup", "--config", str(config), str(dest)]) == 0
        writer.execute("COMMIT")
    finally:
        writer.close()
    out = capsys.readouterr().out
    assert out.startswith(f"ok {dest} ")
    assert "integrity_check: ok" in out
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert "half_done" in _tables(config.parent / "hub.db")
    assert "half_done" not in _tables(dest)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["hub.db"]  # one file, no -wal
    with sqlite3.connect(dest) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    copy = open_store(f"sqlite:///{dest}", auto_migrate=False)
    try:
        assert [s.received.id for s in copy.list_signals()] == [signal_id]
    finally:
        copy.close()


def test_hub_backup_never_overwrites_without_force(
    live_hub: tuple[Path, HubStore, bytes], tmp_path: Path, capsys: Capture
) -> None:
    """An existing DEST is refused (exit 2, named) and kept; --force replaces it; a folder as
    DEST gets the database's own file name."""
    config, _store, _ = live_hub
    dest = tmp_path / "hub-copy.db"
    dest.write_text("an older backup")
    assert main(["hub", "backup", "--config", str(config), str(dest)]) == 2
    assert capsys.readouterr().err == (
        f"seinhuis: {dest}: exists already; pass --force to replace it\n"
    )
    assert dest.read_text() == "an older backup"
    assert main(["hub", "backup", "--config", str(config), str(dest), "--force"]) == 0
    assert _tables(dest) == _tables(config.parent / "hub.db")
    folder = tmp_path / "nightly"
    folder.mkdir()
    assert main(["hub", "backup", "--config", str(config), str(folder)]) == 0
    assert (folder / "hub.db").is_file()


def test_hub_backup_refuses_postgresql_and_points_to_pg_dump(
    tmp_path: Path, capsys: Capture
) -> None:
    """A PostgreSQL hub: exit 2, one line naming the config key and pg_dump, no password."""
    config = _hub_toml(tmp_path, "postgresql+psycopg://seinhuis:geheim@db.example:5432/seinhuis")
    assert main(["hub", "backup", "--config", str(config), str(tmp_path / "x.db")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"seinhuis: {config}: hub.database_url is a PostgreSQL database")
    assert "pg_dump --format=custom" in err and err.count("\n") == 1
    assert "geheim" not in err
    assert not (tmp_path / "x.db").exists()


def test_hub_backup_of_a_missing_database_creates_nothing(tmp_path: Path, capsys: Capture) -> None:
    """A configured database that is not there is named; no empty database appears."""
    config = _hub_toml(tmp_path)
    assert main(["hub", "backup", "--config", str(config), str(tmp_path / "copy.db")]) == 2
    assert capsys.readouterr().err == f"seinhuis: {tmp_path / 'hub.db'}: no such database file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hub.toml"]


def test_pseudonym_backup_copies_the_audit_database(tmp_path: Path, capsys: Capture) -> None:
    """The pseudonymisation service's audit rows are in the copy."""
    (tmp_path / "pseudonym.toml").write_text(
        "[pseudonym]\n"
        'keyring = "keyring"\naudit_database = "audit.db"\npartners = "partners.yaml"\n'
        '[pseudonym.tls]\nca_cert = "ca.crt"\ncert = "tls.crt"\nkey = "tls.key"\n'
    )
    audit = SqlAuditStore(tmp_path / "audit.db")
    record = AuditRecord(
        at=dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC),
        partner="ggd-west",
        operation=Operation.EVALUATE,
        kind=IdentifierKind.PERSON,
        count=3,
        key_version=1,
        outcome=OK,
    )
    audit.add(record)
    dest = tmp_path / "pseudonym-audit.db"
    try:
        config = str(tmp_path / "pseudonym.toml")
        assert main(["pseudonym", "backup", "--config", config, str(dest)]) == 0
    finally:
        audit.close()
    assert capsys.readouterr().out.startswith(f"ok {dest} ")
    copy = SqlAuditStore(dest)
    try:
        assert [(r.partner, r.count) for r in copy.find()] == [("ggd-west", 3)]
    finally:
        copy.close()


def test_node_backup_copies_the_node_database(tmp_path: Path, capsys: Capture) -> None:
    """The node's database (outbox, references, inbox) is copied with all its tables."""
    from node import db

    (tmp_path / "node.toml").write_text(
        '[node]\npartner_id = "ggd-west"\npartner_type = "GGD"\ndatabase = "node.db"\n'
        'signing_key = "signing.key"\ncache_key = "cache.key"\n'
        '[node.hub]\ntarget = "127.0.0.1:50051"\nserver_name = "hub"\n'
        'sealing_public = "hub-sealing.pub"\n'
        '[node.pseudonym]\ntarget = "127.0.0.1:50052"\nserver_name = "pseudonym"\n'
        '[node.tls]\nca_cert = "ca.crt"\ncert = "tls.crt"\nkey = "tls.key"\n'
    )
    conn = db.connect(tmp_path / "node.db")
    try:
        dest = tmp_path / "node-copy.db"
        config = str(tmp_path / "node.toml")
        assert main(["node", "backup", "--config", config, str(dest)]) == 0
    finally:
        conn.close()
    assert capsys.readouterr().out.startswith(f"ok {dest} ")
    assert _tables(dest) == _tables(tmp_path / "node.db")
    assert "outbox" in " ".join(_tables(dest))


def test_consent_backup_copies_the_registry_database(tmp_path: Path, capsys: Capture) -> None:
    """The consent registry's SQLite database is copied like the hub's."""
    from consent.store.sql import SqlConsentStore

    (tmp_path / "consent.toml").write_text(
        '[consent]\nsigning_key = "receipt-signing.key"\npartners = "partners.yaml"\n'
        '[consent.tls]\nca_cert = "ca.crt"\ncert = "tls.crt"\nkey = "tls.key"\n'
    )
    store = SqlConsentStore(f"sqlite:///{tmp_path / 'consent.db'}")
    try:
        dest = tmp_path / "consent-copy.db"
        config = str(tmp_path / "consent.toml")
        assert main(["consent", "backup", "--config", config, str(dest)]) == 0
    finally:
        store.close()
    assert capsys.readouterr().out.startswith(f"ok {dest} ")
    assert _tables(dest) == _tables(tmp_path / "consent.db")
