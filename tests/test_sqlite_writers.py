"""SQLite writers through seinhuis.db: one at a time, each let in as soon as the last is done."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from seinhuis import db


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = db.create_engine(f"sqlite:///{tmp_path}/w.db")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine.execution_options(**{db.IMMEDIATE: True})
    engine.dispose()


def _in_thread(work, timeout: float = 10.0) -> threading.Thread:  # type: ignore[no-untyped-def]
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(timeout)
    return thread


def test_a_writer_waits_for_the_one_before_and_then_writes(engine: Engine) -> None:
    holding = threading.Event()
    release = threading.Event()

    def first() -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
            holding.set()
            release.wait(10)

    one = threading.Thread(target=first, daemon=True)
    one.start()
    assert holding.wait(10)
    second_done = threading.Event()

    def second() -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (2)"))
        second_done.set()

    two = threading.Thread(target=second, daemon=True)
    two.start()
    assert not second_done.wait(0.3), "the second writer did not wait for the first"
    release.set()
    one.join(10)
    assert second_done.wait(10)
    with engine.connect() as conn:
        assert sorted(r[0] for r in conn.execute(text("SELECT n FROM t"))) == [1, 2]


def test_a_failed_write_lets_the_next_writer_in(engine: Engine) -> None:
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("the caller gave up")

    def write() -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (2)"))

    assert not _in_thread(write).is_alive(), "the next writer was kept out"
    with engine.connect() as conn:
        assert [r[0] for r in conn.execute(text("SELECT n FROM t"))] == [2]


def test_readers_do_not_wait_for_a_writer(engine: Engine) -> None:
    plain = engine.execution_options(**{db.IMMEDIATE: False})
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        counted: list[int] = []

        def read() -> None:
            with plain.connect() as reader:
                counted.append(reader.execute(text("SELECT COUNT(*) FROM t")).scalar_one())

        assert not _in_thread(read).is_alive(), "a reader waited for the writer"
        assert counted == [0]
