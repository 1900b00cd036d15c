"""Writers of a node database (outbox, inbox, pseudonym cache, an import in another process):
one at a time, each let in as soon as the one before is done, a failed one rolled back."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from node import db


@pytest.fixture
def writers(tmp_path: Path) -> Iterator[tuple[db.Writer, db.Writer, sqlite3.Connection]]:
    path = tmp_path / "node.db"
    one, two = db.connect(path), db.connect(path)
    one.execute("CREATE TABLE t (n INTEGER)")
    first, second = db.Writer(one, path), db.Writer(two, path)
    yield first, second, one
    for writer, conn in ((first, one), (second, two)):
        writer.close()
        conn.close()


def test_a_writer_waits_for_the_one_before_and_then_writes(
    writers: tuple[db.Writer, db.Writer, sqlite3.Connection],
) -> None:
    first, second, conn = writers
    holding, release, second_done = threading.Event(), threading.Event(), threading.Event()

    def hold() -> None:
        with first.transaction() as c:
            c.execute("INSERT INTO t VALUES (1)")
            holding.set()
            release.wait(10)

    def write() -> None:
        with second.transaction() as c:
            c.execute("INSERT INTO t VALUES (2)")
        second_done.set()

    one = threading.Thread(target=hold, daemon=True)
    one.start()
    assert holding.wait(10)
    two = threading.Thread(target=write, daemon=True)
    two.start()
    assert not second_done.wait(0.3), "the second writer did not wait for the first"
    release.set()
    one.join(10)
    assert second_done.wait(10)
    assert sorted(r[0] for r in conn.execute("SELECT n FROM t")) == [1, 2]


def test_a_failed_write_is_rolled_back_and_lets_the_next_writer_in(
    writers: tuple[db.Writer, db.Writer, sqlite3.Connection],
) -> None:
    first, second, conn = writers
    with pytest.raises(RuntimeError), first.transaction() as c:
        c.execute("INSERT INTO t VALUES (1)")
        raise RuntimeError("the caller gave up")
    done = threading.Event()

    def write() -> None:
        with second.transaction() as c:
            c.execute("INSERT INTO t VALUES (2)")
        done.set()

    threading.Thread(target=write, daemon=True).start()
    assert done.wait(10), "the next writer was kept out"
    assert [r[0] for r in conn.execute("SELECT n FROM t")] == [2]
    writer_again = first.transaction()
    with writer_again as c:  # the failed writer's connection writes again too
        c.execute("INSERT INTO t VALUES (3)")
    assert sorted(r[0] for r in conn.execute("SELECT n FROM t")) == [2, 3]
