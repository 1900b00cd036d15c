"""Fixtures: people, a settable clock, a registry on each store, a real registry over mTLS."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from consent import receipts
from consent.client import ConsentClient
from consent.config import load
from consent.model import Cell, Decision, GrantRequest, Pseudonym, Purpose, Source
from consent.registry import ConsentRegistry
from consent.representation import Actor, RepresentedChild
from consent.store.base import ConsentStore
from consent.store.memory import MemoryConsentStore
from consent.store.sql import SqlConsentStore
from consent.wiring import Service, build
from seinhuis.transport import TlsFiles
from seinhuis.vocabulary import LifeDomain, PartnerType

T0 = dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.UTC)


def person(n: int, key_version: int = 1) -> Pseudonym:
    """A distinct made-up person pseudonym."""
    return Pseudonym(bytes([n]) * 32, key_version)


PARENT = person(1)
CHILD = person(2)
STRANGER = person(3)
ADULT = person(4)


def parent_of(child_age: int, *, parent: Pseudonym = PARENT, child: Pseudonym = CHILD) -> Actor:
    return Actor(parent, 40, (RepresentedChild(child, child_age),))


def itself(age: int, who: Pseudonym = CHILD) -> Actor:
    return Actor(who, age)


def grant_request(
    subject: Pseudonym = CHILD,
    *,
    source: Source | None = None,
    life_domain: LifeDomain | None = LifeDomain.ZORGEN,
    purpose: Purpose = Purpose.SIGNALERING,
    decision: Decision = Decision.PERMIT,
    valid_from: dt.datetime | None = None,
    valid_until: dt.datetime | None = None,
) -> GrantRequest:
    cell = Cell(subject, source or Source.category(PartnerType.HUISARTS), life_domain, purpose)
    return GrantRequest(cell, decision, valid_from, valid_until)


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: dt.datetime = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kwargs: float) -> dt.datetime:
        self.now += dt.timedelta(**kwargs)
        return self.now


@dataclass
class Registry:
    """A registry with its store, clock and receipt keys, for domain tests."""

    registry: ConsentRegistry
    store: ConsentStore
    clock: Clock
    verifier: receipts.ReceiptVerifier

    def snapshot(self, *people: Pseudonym) -> object:
        """Everything the store holds about these people, to compare before and after."""
        return (
            [self.store.entries(p) for p in people],
            self.store.changes_after(0),
        )


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ConsentStore]:
    """Each backend in turn: the contract holds for all of them. PostgreSQL is a fresh
    database on the session's server (tests/pg.py)."""
    made: ConsentStore
    if request.param == "memory":
        made = MemoryConsentStore()
    elif request.param == "sqlite":
        made = SqlConsentStore(f"sqlite:///{tmp_path / 'consent.db'}")
    else:
        made = SqlConsentStore(request.getfixturevalue("postgres_url"))
    yield made
    made.close()


@pytest.fixture
def reg(tmp_path: Path) -> Iterator[Registry]:
    """A registry on the in-memory store, with a clock at T0."""
    key = receipts.generate_keys(tmp_path / "keys")
    store = MemoryConsentStore()
    clock = Clock()
    registry = ConsentRegistry(store, receipts.Ed25519ReceiptSigner(key), clock=clock)
    yield Registry(registry, store, clock, receipts.ReceiptVerifier([key.verify_key]))
    store.close()


# --- a real registry over mTLS ----------------------------------------------------------------

CONFIG = """\
[consent]
listen = "127.0.0.1:0"
port_file = "consent.port"
database_url = "sqlite:///consent.db"
signing_key = "keys/receipt-signing.key"
portal_ids = ["portal"]
hub_ids = ["hub"]
partners = "partners.yaml"
watch_poll_s = 0.5
[consent.tls]
ca_cert = "{ca}"
cert = "{cert}"
key = "{key}"
"""


#: The registry's copy of the partner registry: the nodes the tests check as.
PARTNERS = """\
partners:
- {id: huisarts-dewit, type: HUISARTS, certificate_cn: huisarts-dewit}
- {id: ggd-a, type: GGD, certificate_cn: ggd-a}
"""


@dataclass
class Running:
    service: Service
    folder: Path
    connect: Callable[[str], ConsentClient]

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.service.port}"

    @property
    def verify_key_file(self) -> Path:
        return self.folder / "keys" / receipts.VERIFY_KEY_FILE


@pytest.fixture
def running(tmp_path: Path, issue_tls: Callable[..., TlsFiles]) -> Iterator[Running]:
    """A started registry in its own folder; connect(common_name) gives a client with that CN."""
    folder = tmp_path / "consent"
    receipts.generate_keys(folder / "keys")
    tls = issue_tls("consent", server=True)
    path = folder / "consent.toml"
    path.write_text(CONFIG.format(ca=tls.ca_cert, cert=tls.cert, key=tls.key))
    (folder / "partners.yaml").write_text(PARTNERS)
    service = build(load(path))
    service.start()
    clients: list[ConsentClient] = []

    def connect(common_name: str) -> ConsentClient:
        client = ConsentClient(f"127.0.0.1:{service.port}", issue_tls(common_name))
        clients.append(client)
        return client

    yield Running(service, folder, connect)
    for client in clients:
        client.close()
    service.stop(0)
