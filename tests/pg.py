"""A real PostgreSQL 15 for the tests: one throwaway cluster per session, a database per test.

`postgres` (session) starts a cluster the first time a test asks for it (seinhuis.devpg, which
the benchmarks use too): initdb into a fresh temporary folder, a server on 127.0.0.1 on a free
port, run as the `postgres` user when the tests run as root (the server refuses root), stopped
and removed when the session ends, also after failures. `postgres_url` gives each test a fresh,
empty database on it. Set SEINHUIS_TEST_POSTGRES_URL (postgresql+psycopg://user@host:port/db, a
role that may create databases) to use a server of your own instead; tests that restart the
server skip then.

The binaries come from SEINHUIS_PG_BIN, default /usr/lib/postgresql/15/bin (Debian's
postgresql-15, which scripts/system-deps.sh installs).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from seinhuis.devpg import PG_BIN, PREFIX, PostgresServer, remove_cluster, start_cluster

__all__ = [
    "EXTERNAL_URL_ENV",
    "PG_BIN",
    "PREFIX",
    "PostgresServer",
    "postgres",
    "postgres_url",
    "remove_cluster",
    "start_cluster",
]

EXTERNAL_URL_ENV = "SEINHUIS_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server (started on first use, stopped at the end)."""
    external = os.environ.get(EXTERNAL_URL_ENV, "")
    if external:
        yield PostgresServer(make_url(external))
        return
    try:
        server = start_cluster()
    except RuntimeError as exc:
        raise RuntimeError(f"{exc}\n(or set {EXTERNAL_URL_ENV} to a server of your own)") from exc
    try:
        yield server
    finally:
        remove_cluster(server)


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test: its SQLAlchemy URL (dropped after)."""
    url = postgres.create_database()
    yield url
    postgres.drop_database(url)
