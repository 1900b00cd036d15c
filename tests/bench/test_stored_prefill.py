"""The stored-scale benchmark's prefilled hub database: what the hub's own store reads back.

A small prefill (the benchmark writes 5,000,000 rows, --quick 100,000) in a cache folder of the
test's own; nothing here times anything.
"""

from __future__ import annotations

import sqlite3
import uuid
from contextlib import closing
from pathlib import Path

import pytest

from bench import stored_scale
from hub.store import SqlHubStore
from seinhuis import message_ids
from seinhuis.vocabulary import PartnerType, SignalType

ROWS = 3_000


def _query(path: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return conn.execute(sql).fetchall()


def _indexes(path: Path) -> list[tuple[object, ...]]:
    return _query(path, "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name")


@pytest.fixture(scope="module")
def prefilled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ROWS signals: a first block of 700 made in Python, the rest SQLite's copies of it."""
    path = tmp_path_factory.mktemp("prefill") / "hub.db"
    stored_scale.prefill(path, ROWS, block=700)
    return path


def test_the_prefill_holds_every_signal_with_its_tombstone_and_nothing_to_judge(
    prefilled: Path,
) -> None:
    path = prefilled
    assert _query(path, "SELECT COUNT(*), COUNT(DISTINCT id) FROM hub_signals") == [(ROWS, ROWS)]
    assert _query(path, "SELECT COUNT(*) FROM hub_seen_ids") == [(ROWS,)]
    # Ids as nodes make them, all older than any a node makes now: new signals append.
    ((newest,),) = _query(path, "SELECT MAX(id) FROM hub_seen_ids")
    assert uuid.UUID(bytes=newest).version == 7
    assert newest < message_ids.time_ordered()
    assert _query(path, "SELECT COUNT(*) FROM hub_judge_queue") == [(0,)]
    assert _query(path, "SELECT COUNT(*) FROM hub_cases") == [(0,)]
    assert _query(path, "PRAGMA foreign_key_check") == []
    assert _query(path, "PRAGMA integrity_check") == [("ok",)]
    # Copies of the first block got fresh pseudonyms: no two signals share an address.
    assert _query(path, "SELECT COUNT(DISTINCT address_pseudonym) FROM hub_signals") == [(ROWS,)]


def test_the_prefill_has_the_migrated_schema_and_indexes(prefilled: Path, tmp_path: Path) -> None:
    path = prefilled
    fresh = tmp_path / "fresh.db"
    SqlHubStore(f"sqlite:///{fresh}").close()
    assert _indexes(path) == _indexes(fresh)
    # The hub opens it without migrating (its schema is current) and reads signals back.
    store = SqlHubStore(f"sqlite:///{path}", auto_migrate=False)
    try:
        counts = store.count_signals()
        assert sum(c.active for c in counts) == ROWS
        types = {c.signal_type for c in counts}
        assert {SignalType.HUURACHTERSTAND, SignalType.SCHOOLVERZUIM} <= types
        signal = store.list_signals(limit=1)[0]
        again = store.household_signals([signal.received.signal.address_pseudonym], [])
        assert [s.received.id for s in again] == [signal.received.id]
        # Senders that may not process citizen numbers sent no person pseudonym.
        for stored in store.list_signals(limit=200):
            if stored.received.partner_type is PartnerType.WONINGCORPORATIE:
                assert stored.received.signal.person_pseudonym is None
    finally:
        store.close()


def test_the_pseudonym_indexes_have_room_as_a_grown_hubs_do(prefilled: Path) -> None:
    """Built row by row, as a running hub builds them: pages split as random pseudonyms
    arrive and keep room. CREATE INDEX afterwards would pack them full, so that the first
    inserts of a measured round split nearly every page they touch."""
    for index in ("ix_hub_signals_address", "ix_hub_signals_person"):
        try:
            ((unused, size),) = _query(
                prefilled,
                "SELECT SUM(unused), SUM(pgsize) FROM dbstat"  # noqa: S608
                f" WHERE name = '{index}' AND pagetype = 'leaf'",
            )
        except sqlite3.OperationalError:
            pytest.skip("this SQLite has no dbstat table")
        assert unused / size > 0.05, f"{index}: leaf pages packed full"


def test_a_second_run_reuses_the_cached_file_and_a_stale_one_is_replaced(tmp_path: Path) -> None:
    stale = tmp_path / "hub-500-rev0000-0123456789ab.db"
    stale.write_bytes(b"an older schema's prefill")
    path, seconds = stored_scale.prefilled(500, cache=tmp_path)
    assert seconds > 0
    assert path.name == f"hub-500-{stored_scale.cache_key()}.db"
    assert not stale.exists()
    assert _query(path, "SELECT COUNT(*) FROM hub_signals") == [(500,)]
    again, seconds = stored_scale.prefilled(500, cache=tmp_path)
    assert (again, seconds) == (path, 0.0)
    # Only the finished file is left behind, no half-built one.
    assert sorted(p.name for p in tmp_path.glob("*.db*")) == [path.name]
