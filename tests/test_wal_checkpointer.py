"""seinhuis.db.WalCheckpointer: commits leave copying the WAL into the database file to one
thread, which does it soon after, for every process's commits, and the WAL stays bounded."""

from __future__ import annotations

import sqlite3
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from seinhuis import db

#: Rows big enough that each fills a page of its own.
ROW = b"x" * 3000


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "c.db"


@pytest.fixture
def engines(path: Path) -> Iterator[Callable[[], Engine]]:
    made: list[Engine] = []

    def make() -> Engine:
        engine = db.create_engine(f"sqlite:///{path}")
        made.append(engine)
        return engine.execution_options(**{db.IMMEDIATE: True})

    with make().begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER, b BLOB)"))
    with closing(sqlite3.connect(path)) as conn:  # the table in the database file itself
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    yield make
    for engine in made:
        engine.dispose()


def _write(engine: Engine, first: int, n: int) -> None:
    for i in range(first, first + n):
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (:n, :b)"), {"n": i, "b": ROW})


def _in_database_file(path: Path) -> int:
    """Rows in the database file itself, the WAL ignored: what checkpoints copied there (only
    while nothing writes the file)."""
    with closing(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM t").fetchone()[0])


def _not_copied(path: Path) -> int:
    """WAL frames not yet copied into the database file, from the WAL-index header
    (https://www.sqlite.org/walformat.html: mxFrame at byte 16, nBackfill at byte 96)."""
    header = Path(f"{path}-shm").read_bytes()[:136]
    (frames,) = struct.unpack_from("=I", header, 16)
    (copied,) = struct.unpack_from("=I", header, 96)
    return int(frames - copied)


def _soon(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def test_commits_leave_the_copy_to_the_thread_which_makes_it_soon_after(
    path: Path, engines: Callable[[], Engine]
) -> None:
    engine = engines()
    checkpoints = db.WalCheckpointer(engine, restart_pages=1000)
    # 1,200 pages committed: SQLite's own checkpoint would have copied them at 1,000.
    _write(engine, 0, 1200)
    assert _not_copied(path) >= 1200
    checkpoints.start()
    try:
        assert _soon(lambda: _not_copied(path) == 0)
    finally:
        checkpoints.close()
    assert _in_database_file(path) == 1200


def test_commits_of_another_process_are_copied_too(
    path: Path, engines: Callable[[], Engine]
) -> None:
    hub = engines()
    checkpoints = db.WalCheckpointer(hub, idle_s=0.2).start()
    other = engines()  # as the judge process: attached, no thread of its own
    attached = db.WalCheckpointer(other)
    try:
        _write(other, 0, 50)
        assert _soon(lambda: _not_copied(path) == 0)
    finally:
        attached.close()
        checkpoints.close()
    assert _in_database_file(path) == 50


def test_closing_copies_everything_committed(path: Path, engines: Callable[[], Engine]) -> None:
    engine = engines()
    checkpoints = db.WalCheckpointer(engine, interval_s=60, idle_s=60).start()
    _write(engine, 0, 30)
    checkpoints.close()
    assert _in_database_file(path) == 30
    checkpoints.close()  # as a store closed twice does


def test_the_wal_stays_bounded_while_writers_keep_writing(
    path: Path, engines: Callable[[], Engine]
) -> None:
    engine = engines()
    checkpoints = db.WalCheckpointer(engine, interval_s=0.01, restart_pages=100).start()
    wal = Path(f"{path}-wal")
    largest = 0
    writers = [
        threading.Thread(target=_write, args=(engine, k * 1000, 600), daemon=True) for k in range(2)
    ]
    try:
        for w in writers:
            w.start()
        while any(w.is_alive() for w in writers):
            largest = max(largest, wal.stat().st_size if wal.exists() else 0)
            time.sleep(0.005)
    finally:
        checkpoints.close()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM t")).scalar() == 1200
    # 1,200 pages went through it; it never held more than the safety net's 400 (+1 commit).
    assert 0 < largest <= 401 * (4096 + 24) + 32
