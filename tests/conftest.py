"""Shared fixtures: a development CA per test session, issuing certificates on demand."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from seinhuis import logs
from seinhuis.crypto.pki import DevCA
from seinhuis.transport import TlsFiles

#: tests/pg.py: a real PostgreSQL 15 (fixtures `postgres`, `postgres_url`).
pytest_plugins = ["tests.pg"]


@pytest.fixture(autouse=True)
def _logs_back_to_stderr() -> Iterator[None]:
    """Whatever a test pointed the log at (a StringIO to search it, a CLI run in-process), the
    next test starts with the service default: JSON lines on the current stderr."""
    yield
    logs.configure("test")


@pytest.fixture(scope="session")
def dev_ca(tmp_path_factory: pytest.TempPathFactory) -> DevCA:
    """A development CA, created once per test session."""
    return DevCA.create(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="session")
def issue_tls(dev_ca: DevCA, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., TlsFiles]:
    """issue_tls(common_name, server=False, **kw) -> TlsFiles in a fresh folder."""

    def issue(common_name: str, *, server: bool = False, **kwargs: object) -> TlsFiles:
        folder: Path = tmp_path_factory.mktemp(f"tls-{common_name}")
        return dev_ca.issue(folder, common_name, server=server, **kwargs)  # type: ignore[arg-type]

    return issue
