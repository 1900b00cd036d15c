"""The node's one SQLite file: connection settings and the schema of every table in it.

Outbox, references, pseudonym cache, feed cursor and inbox share one file (the `database` of
node.toml). Each component opens its own connection; WAL lets them read while another writes.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from seinhuis.db import WRITER_LOCK_SUFFIX

SCHEMA_VERSION = 1
#: Page cache per connection, in KiB (an upper bound; SQLite allocates it as pages are used).
CACHE_KIB = 64 * 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    id                BLOB    NOT NULL UNIQUE,
    kind              TEXT    NOT NULL,           -- 'signal' or 'population_event'
    signal_type       TEXT    NOT NULL DEFAULT '',
    payload           BLOB,                       -- serialized proto; pseudonyms only; NULL once
                                                  -- the message has left the pending state
    digest            BLOB    NOT NULL,           -- SHA-256 of the payload, to recognise a retry
    state             TEXT    NOT NULL,
    attempts          INTEGER NOT NULL DEFAULT 0,
    refusal_code      INTEGER NOT NULL DEFAULT 0,
    refusal_message   TEXT    NOT NULL DEFAULT '',
    accepted_at       INTEGER NOT NULL,           -- microseconds since the epoch, UTC
    delivered_at      INTEGER,
    withdrawn_at      INTEGER,
    withdraw_reason   TEXT,
    partner_reference TEXT    UNIQUE              -- the partner's own reference, if given
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (seq) WHERE state = 'PENDING';

CREATE TABLE IF NOT EXISTS pseudonym_cache (
    lookup      BLOB    PRIMARY KEY,              -- HMAC of kind and input: no identifier here
    key_version INTEGER NOT NULL,
    sealed      BLOB    NOT NULL,                 -- the pseudonym, encrypted at rest
    used        INTEGER NOT NULL                  -- a counter, for least-recently-used eviction
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pseudonym_cache_used ON pseudonym_cache (used);

CREATE TABLE IF NOT EXISTS node_meta (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS inbox (
    cursor      INTEGER PRIMARY KEY,
    created_at  INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    id          BLOB    NOT NULL,
    reason      TEXT
);
"""


def connect(
    path: Path, *, synchronous: Literal["FULL", "NORMAL"] = "FULL", busy_timeout_s: float = 30.0
) -> sqlite3.Connection:
    """Open the node database in autocommit mode with WAL; callers BEGIN IMMEDIATE themselves."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_s
    )
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL for the outbox: an accepted signal must survive power loss. The cache may use NORMAL.
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA foreign_keys=ON")
    # The default 2 MB page cache thrashes once a million outbox rows' indexes outgrow it.
    conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    _migrate(conn)
    return conn


class Writer:
    """Write transactions on one connection, queued with every other writer of its database on
    an flock beside the file (as the hub's seinhuis.db does).

    SQLite's busy handler polls with growing sleeps (1, 2, 5, 10 ... 100 ms): a writer that
    finds the database locked (the sender recording the hub's answers, the feed storing a
    notice, a signal being accepted, an import in another process) waits until its next try,
    long after the holder committed. The kernel wakes an flock waiter the moment the lock is
    released. A writer that does not take it (the sqlite3 shell) still meets SQLite's own lock.
    """

    def __init__(self, conn: sqlite3.Connection, database: Path) -> None:
        self._conn = conn
        self._fd = os.open(
            f"{database}{WRITER_LOCK_SUFFIX}", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
        )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK when the block raises."""
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Release the lock file (again: a no-op)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _migrate(conn: sqlite3.Connection) -> None:
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version > SCHEMA_VERSION:
        raise RuntimeError(f"node database schema {version} is newer than this node supports")
    if version == SCHEMA_VERSION:
        return
    # One transaction; every statement is idempotent, so two processes opening a fresh file at
    # once both succeed.
    conn.executescript(
        "BEGIN IMMEDIATE;" + _SCHEMA + f"PRAGMA user_version={SCHEMA_VERSION}; COMMIT;"
    )


def to_micros(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def from_micros(value: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(value / 1_000_000, dt.UTC)


def now_micros() -> int:
    return to_micros(dt.datetime.now(dt.UTC))
