"""The audit store contract, run against every implementation."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pseudonym.model import OK, AuditRecord, Operation
from pseudonym.store.base import AuditStore
from pseudonym.store.memory import MemoryAuditStore
from pseudonym.store.sql import SqlAuditStore
from seinhuis.vocabulary import IdentifierKind

T0 = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)


def _record(n: int, partner: str = "ggd") -> AuditRecord:
    return AuditRecord(
        at=T0 + dt.timedelta(seconds=n),
        partner=partner,
        operation=Operation.EVALUATE,
        kind=IdentifierKind.ADDRESS if n % 2 else IdentifierKind.PERSON,
        count=n + 1,
        key_version=1 + n % 3,
        outcome=OK,
    )


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AuditStore]:
    s: AuditStore
    if request.param == "memory":
        s = MemoryAuditStore()
    elif request.param == "sqlite":
        s = SqlAuditStore(tmp_path / "a.db")
    else:
        s = SqlAuditStore(request.getfixturevalue("postgres_url"))
    yield s
    s.close()


def test_records_come_back_oldest_first_and_unchanged(store: AuditStore) -> None:
    """What was added is found again, in order, field for field."""
    records = [_record(n) for n in range(5)]
    rekey = AuditRecord(T0, "hub", Operation.REKEY_FACTOR, IdentifierKind.PERSON, 1, 2, OK, 1)
    for r in [*records, rekey]:
        store.add(r)
    assert store.find() == [*records, rekey]


def test_find_filters_by_partner_and_limits(store: AuditStore) -> None:
    """find(partner=..., limit=...) returns that partner's oldest records only."""
    for n in range(6):
        store.add(_record(n, "a" if n % 2 else "b"))
    assert [r.count for r in store.find(partner="a")] == [2, 4, 6]
    assert [r.count for r in store.find(limit=2)] == [1, 2]


def test_concurrent_adds_all_land(store: AuditStore) -> None:
    """Records added from several threads at once are all stored."""
    threads = [
        threading.Thread(target=lambda i=i: [store.add(_record(i * 50 + n)) for n in range(50)])
        for i in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.find(limit=1000)) == 200


def test_the_sqlite_file_survives_reopening(tmp_path: Path) -> None:
    """Rows written by one store are read by the next one on the same file."""
    first = SqlAuditStore(tmp_path / "a.db")
    first.add(_record(0))
    first.close()
    second = SqlAuditStore(tmp_path / "a.db")
    assert second.find() == [_record(0)]
    second.close()
