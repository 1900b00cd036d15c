"""A throwaway PostgreSQL 15 cluster on loopback, for the tests and the benchmarks.

start_cluster() runs initdb into a fresh temporary folder and starts a server on 127.0.0.1 on
a free port, as the `postgres` user when run as root (the server refuses root); remove_cluster()
stops it and removes the folder. Clusters of earlier runs that died without cleaning up are
removed at the next start. Development only: trust authentication, fsync off.

The binaries come from SEINHUIS_PG_BIN, default /usr/lib/postgresql/15/bin (Debian's
postgresql-15, which scripts/system-deps.sh installs).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL, make_url

PG_BIN = Path(os.environ.get("SEINHUIS_PG_BIN", "/usr/lib/postgresql/15/bin"))
#: Every cluster folder made here starts so; leftovers of killed runs are removed.
PREFIX = "seinhuis-pg-"
_SERVER_USER = "postgres"
#: Tests open many stores, each with its own pool, and hubs run in several processes.
_MAX_CONNECTIONS = 400


class PostgresServer:
    """A PostgreSQL server to create databases on (and, if ours, to stop and start)."""

    def __init__(self, admin_url: URL, *, folder: Path | None = None) -> None:
        self.admin_url = admin_url
        self.folder = folder
        self._names = itertools.count(1)

    @property
    def owned(self) -> bool:
        """Whether we started the server (so we may stop, kill and restart it)."""
        return self.folder is not None

    @property
    def data_dir(self) -> Path:
        assert self.folder is not None, "not our server"
        return self.folder / "data"

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of a database on this server (password included)."""
        return self.admin_url.set(database=database).render_as_string(hide_password=False)

    def create_database(self, prefix: str = "t") -> str:
        """A fresh, empty database; its SQLAlchemy URL."""
        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by create_database, ending whatever is still connected."""
        name = make_url(url).database
        with contextlib.suppress(psycopg.Error), self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl stop: "fast" aborts open transactions and disconnects clients."""
        self._pg_ctl("stop", "-m", mode, "-w", "-t", "60")

    def start(self) -> None:
        self._pg_ctl("start", "-w", "-t", "60", "-l", str(self._log))

    def kill(self) -> None:
        """SIGKILL the postmaster, as in a crash; its backends notice and exit."""
        pid = self.postmaster_pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid)

    def postmaster_pid(self) -> int | None:
        pidfile = self.data_dir / "postmaster.pid"
        with contextlib.suppress(FileNotFoundError, ValueError, IndexError):
            pid = int(pidfile.read_text().splitlines()[0])
            if _alive(pid):
                return pid
        return None

    @property
    def _log(self) -> Path:
        assert self.folder is not None
        return self.folder / "server.log"

    def _pg_ctl(self, *args: str) -> None:
        _run_as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), *args])

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return connect(self.admin_url)


def connect(url: str | URL) -> psycopg.Connection[tuple[object, ...]]:
    """A psycopg connection (autocommit) to the database a SQLAlchemy URL names."""
    parsed = make_url(url) if isinstance(url, str) else url
    params = {
        "host": parsed.host or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": parsed.username or _SERVER_USER,
        "dbname": parsed.database or "postgres",
        "connect_timeout": 10,
    }
    if parsed.password:
        params["password"] = parsed.password
    return psycopg.connect(**params, autocommit=True)  # type: ignore[arg-type]


def start_cluster() -> PostgresServer:
    """initdb a cluster in a new temporary folder and start it on a free loopback port."""
    if not (PG_BIN / "postgres").exists():
        raise RuntimeError(
            f"no PostgreSQL server in {PG_BIN}: run scripts/system-deps.sh (installs "
            "postgresql-15) or set SEINHUIS_PG_BIN to the folder of its binaries"
        )
    _remove_leftovers()
    folder = Path(tempfile.mkdtemp(prefix=PREFIX))
    (folder / "owner.pid").write_text(f"{os.getpid()}\n")
    if os.geteuid() == 0:
        entry = pwd.getpwnam(_SERVER_USER)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    _run_as_server_user(
        [
            str(PG_BIN / "initdb"),
            "-D",
            str(folder / "data"),
            "-U",
            _SERVER_USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        ]
    )
    settings = {
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": str(folder),
        "max_connections": str(_MAX_CONNECTIONS),
        # A crash of the server process keeps what it committed (the OS has it); only a
        # crash of the machine would not, which no test or benchmark does.
        "fsync": "off",
        "full_page_writes": "off",
        "timezone": "UTC",
    }
    with (folder / "data" / "postgresql.conf").open("a") as conf:
        for key, value in settings.items():
            conf.write(f"{key} = '{value}'\n")
    for attempt in range(5):
        port = _free_port()
        with (folder / "data" / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {port}\n")
        server = PostgresServer(
            URL.create("postgresql+psycopg", _SERVER_USER, None, "127.0.0.1", port, "postgres"),
            folder=folder,
        )
        try:
            server.start()
            return server
        except subprocess.CalledProcessError:
            if attempt == 4:
                log = (folder / "server.log").read_text(errors="replace")[-2000:]
                shutil.rmtree(folder, ignore_errors=True)
                raise RuntimeError(f"PostgreSQL did not start:\n{log}") from None
    raise AssertionError("unreachable")


@contextlib.contextmanager
def cluster() -> Iterator[PostgresServer]:
    """A cluster of our own for the duration of a `with` block, removed also after failures."""
    server = start_cluster()
    try:
        yield server
    finally:
        remove_cluster(server)


def remove_cluster(server: PostgresServer) -> None:
    """Stop the server (if we started it) and remove its folder."""
    if server.folder is None:
        return
    if server.postmaster_pid() is not None:
        try:
            server.stop("fast")
        except subprocess.CalledProcessError:
            server.kill()
    shutil.rmtree(server.folder, ignore_errors=True)


# --- inside -------------------------------------------------------------------------------------


def _run_as_server_user(command: list[str]) -> None:
    """Run a PostgreSQL tool as the server's user (as root: via runuser)."""
    if os.geteuid() == 0:
        command = ["runuser", "-u", _SERVER_USER, "--", *command]
    subprocess.run(
        command,
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd="/",
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_gone(pid: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _remove_leftovers() -> None:
    """Stop and remove clusters of earlier runs that died without cleaning up."""
    for folder in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            owner = int((folder / "owner.pid").read_text().strip())
        except (OSError, ValueError):
            continue
        if _alive(owner):
            continue  # another session's, still running
        remove_cluster(PostgresServer(URL.create("postgresql+psycopg"), folder=folder))
