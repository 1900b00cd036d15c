"""Node test fixtures: valid test citizen numbers, a fake pseudonym source, a node on a tmp db."""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import io
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import structlog

from node import cli
from node import config as node_config
from node.model import LocalAddress, LocalArrears, LocalPerson, LocalSignal
from node.outbox import Outbox
from node.pseudonyms import Pseudonymizer
from node.service import Node
from node.wiring import NodeService, build
from seinhuis import catalogue, logs
from seinhuis.crypto import keys
from seinhuis.errors import SeinhuisError
from seinhuis.transport import TlsFiles
from seinhuis.vocabulary import IdentifierKind, PartnerType, SignalType, Urgency

TODAY = dt.date(2026, 11, 22)
CACHE_KEY = bytes(range(32))
_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2)


def make_bsn(n: int = 0) -> str:
    """The n-th test citizen number: 999 followed by digits that pass the elfproef."""
    while len(_TEST_BSNS) <= n:
        if _next_candidate[0] > 99999:
            raise ValueError("there are only about 91,000 test numbers starting with 999")
        digits = f"999{_next_candidate[0]:05d}"
        _next_candidate[0] += 1
        check = sum(int(d) * w for d, w in zip(digits, _WEIGHTS, strict=True)) % 11
        if check < 10:
            _TEST_BSNS.append(digits + str(check))
    return _TEST_BSNS[n]


_TEST_BSNS: list[str] = []
_next_candidate = [0]


@dataclass
class FakePseudonyms:
    """A stand-in for the OPRF client: keyed hashes, a settable key version, a call log."""

    version: int = 1
    calls: list[tuple[IdentifierKind, list[bytes]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def pseudonymize(
        self, kind: IdentifierKind, inputs: Sequence[bytes]
    ) -> tuple[int, list[bytes]]:
        with self.lock:
            self.calls.append((kind, list(inputs)))
        key = f"fake-oprf-{self.version}-{kind}".encode()
        return self.version, [hmac.digest(key, i, hashlib.sha256) for i in inputs]

    @property
    def evaluated(self) -> int:
        return sum(len(inputs) for _, inputs in self.calls)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """CLI commands configure structlog globally; give the next test the configuration back."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.fixture
def source() -> FakePseudonyms:
    return FakePseudonyms()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "node.db"


@pytest.fixture
def outbox(db_path: Path) -> Iterator[Outbox]:
    box = Outbox(db_path)
    yield box
    box.close()


@pytest.fixture
def pseudonymizer(db_path: Path, source: FakePseudonyms) -> Iterator[Pseudonymizer]:
    p = Pseudonymizer(source, db_path, CACHE_KEY)
    yield p
    p.close()


@pytest.fixture(scope="session")
def the_catalogue() -> catalogue.Catalogue:
    return catalogue.load()


def make_node(
    partner_type: PartnerType,
    outbox: Outbox,
    pseudonymizer: Pseudonymizer,
    the_catalogue: catalogue.Catalogue,
) -> Node:
    return Node(
        partner_type=partner_type,
        catalogue=the_catalogue,
        pseudonymizer=pseudonymizer,
        outbox=outbox,
        today=lambda: TODAY,
    )


def ggd_signal(n: int = 0, /, **changes: Any) -> LocalSignal:
    """A valid GGD signal about test person n."""
    values: dict[str, object] = {
        "signal_type": SignalType.ZORGWEKKEND_GEDRAG,
        "urgency": Urgency.HOOG,
        "person": LocalPerson(make_bsn(n), dt.date(1980, 5, 17)),
        "address": LocalAddress("1234 ab", 10 + n, "a", "2-b"),
        "observed_on": TODAY,
    }
    values.update(changes)
    return LocalSignal(**values)  # type: ignore[arg-type]


def rent_arrears_signal(n: int = 0, /, **changes: Any) -> LocalSignal:
    """A valid HUURACHTERSTAND from a housing corporation (no citizen number)."""
    values: dict[str, object] = {
        "signal_type": SignalType.HUURACHTERSTAND,
        "urgency": Urgency.NORMAAL,
        "person": LocalPerson(),
        "address": LocalAddress("3511AB", 1 + n),
        "observed_on": TODAY,
        "arrears": LocalArrears(120_000, 2, True, True),
    }
    values.update(changes)
    return LocalSignal(**values)  # type: ignore[arg-type]


NODE_TOML = """\
[node]
partner_id = "{partner_id}"
partner_type = "{partner_type}"
listen = "{listen}"
port_file = "node.port"
database = "node.db"
signing_key = "{signing_key}"
cache_key = "{cache_key}"
local_token_file = "{token_file}"
[node.hub]
target = "127.0.0.1:{hub_port}"
server_name = "hub"
sealing_public = "{hub_sealing_pub}"
[node.pseudonym]
target = "127.0.0.1:{pseudonym_port}"
server_name = "pseudonym"
[node.tls]
ca_cert = "{ca_cert}"
cert = "{cert}"
key = "{key}"
[node.delivery]
batch_size = {batch_size}
backoff_initial_s = 0.05
backoff_max_s = 0.5
idle_poll_s = 0.2
"""


def write_node_config(
    folder: Path,
    *,
    partner_id: str,
    partner_type: PartnerType,
    tls: TlsFiles,
    signing_key: Path,
    cache_key: Path,
    hub_sealing_pub: Path,
    hub_port: int = 1,
    pseudonym_port: int = 1,
    listen: str = "127.0.0.1:0",
    token_file: Path | None = None,
    batch_size: int = 100,
) -> Path:
    """A node.toml in `folder` (its database beside it); port 1 stands for 'nobody there'."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "node.toml"
    path.write_text(
        NODE_TOML.format(
            partner_id=partner_id,
            partner_type=partner_type.value,
            listen=listen,
            signing_key=signing_key,
            cache_key=cache_key,
            token_file=token_file or "",
            hub_port=hub_port,
            pseudonym_port=pseudonym_port,
            hub_sealing_pub=hub_sealing_pub,
            ca_cert=tls.ca_cert,
            cert=tls.cert,
            key=tls.key,
            batch_size=batch_size,
        )
    )
    return path


@dataclass(frozen=True)
class NodeKeys:
    """A node's key files, made in a temp folder."""

    tls: TlsFiles
    signing_key: Path
    cache_key: Path
    hub_sealing_pub: Path


@pytest.fixture
def node_keys(tmp_path: Path, issue_tls: Callable[..., TlsFiles]) -> NodeKeys:
    folder = tmp_path / "keys"
    keys.generate_signing_key(folder / "signing.key", folder / "signing.pub")
    keys.generate_secret(folder / "cache.key", "cache-key")
    keys.generate_sealing_key(folder / "hub-sealing.key", folder / "hub-sealing.pub")
    return NodeKeys(
        issue_tls("ggd-a"), folder / "signing.key", folder / "cache.key", folder / "hub-sealing.pub"
    )


StartNode = Callable[..., NodeService]

TOKEN = "a-long-enough-local-api-token"


@pytest.fixture
def start_node(tmp_path: Path, node_keys: NodeKeys) -> Iterator[StartNode]:
    """start_node(**node_toml_settings) -> a started node with fake pseudonyms and no hub."""
    started: list[NodeService] = []

    def start(**kwargs: object) -> NodeService:
        folder = tmp_path / f"node{len(started)}"
        path = write_node_config(
            folder,
            partner_id="ggd-a",
            partner_type=PartnerType.GGD,
            tls=node_keys.tls,
            signing_key=node_keys.signing_key,
            cache_key=node_keys.cache_key,
            hub_sealing_pub=node_keys.hub_sealing_pub,
            **kwargs,  # type: ignore[arg-type]
        )
        service = build(node_config.load(path), source=FakePseudonyms())
        service.start()
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop(0)


RunCli = Callable[[list[str]], int]


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """`seinhuis node ...` as the top-level command runs it (SeinhuisError: exit 2)."""
    # The CLI points structlog at this test's stderr, which closes before the node stops;
    # send the logs somewhere that stays open, and not to stdout, which tests read.
    monkeypatch.setattr(cli, "_quiet_logs", lambda verbose=False: None)
    logs.configure("node-test", stream=io.StringIO())

    def run(argv: list[str]) -> int:
        parser = argparse.ArgumentParser()
        cli.register(parser)
        args = parser.parse_args(argv)
        try:
            return int(args.func(args))
        except SeinhuisError:
            return 2

    return run
