"""Fixtures: a real pseudonymisation service on port 0 over mTLS, and clients per partner."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from pseudonym import keyring
from pseudonym.client import PseudonymClient
from pseudonym.config import load
from pseudonym.wiring import Service, build
from seinhuis.transport import TlsFiles

CONFIG = """\
[pseudonym]
listen = "127.0.0.1:0"
port_file = "pseudonym.port"
keyring = "keyring"
audit_database = "audit.db"
hub_ids = ["hub"]
partners = "partners.yaml"
portal_ids = ["portal"]
max_batch = {max_batch}
rate_per_partner = {rate}
rate_burst = {burst}
"""
#: The partner nodes the tests' service admits (its copy of the partner registry).
PARTNERS = {
    "ggd-demo": "GGD",
    "woonstad": "WONINGCORPORATIE",
    "school": "SCHOOL",
    "greedy": "GGD",
    "other": "GGD",
}
TLS = """\
[pseudonym.tls]
ca_cert = "{ca}"
cert = "{cert}"
key = "{key}"
"""

ServiceFactory = Callable[..., Service]
ClientFactory = Callable[..., PseudonymClient]


@pytest.fixture
def start_service(tmp_path: Path, issue_tls: Callable[..., TlsFiles]) -> Iterator[ServiceFactory]:
    """start_service(max_batch=, rate=, burst=) -> a started Service in its own folder."""
    started: list[Service] = []

    def start(*, max_batch: int = 10_000, rate: float = 1e6, burst: int = 2_000_000) -> Service:
        folder = tmp_path / f"service{len(started)}"
        keyring.create(folder / "keyring")
        (folder / "partners.yaml").write_text(
            yaml.safe_dump(
                {
                    "partners": [
                        {"id": cn, "type": kind, "certificate_cn": cn}
                        for cn, kind in PARTNERS.items()
                    ]
                }
            )
        )
        tls = issue_tls("pseudonym", server=True)
        path = folder / "pseudonym.toml"
        path.write_text(
            CONFIG.format(max_batch=max_batch, rate=rate, burst=burst)
            + TLS.format(ca=tls.ca_cert, cert=tls.cert, key=tls.key)
        )
        service = build(load(path))
        service.start()
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop(0)


@pytest.fixture
def connect(issue_tls: Callable[..., TlsFiles]) -> Iterator[ClientFactory]:
    """connect(service, common_name, **kw) -> a PseudonymClient presenting that CN."""
    clients: list[PseudonymClient] = []

    def make(service: Service, common_name: str, **kwargs: object) -> PseudonymClient:
        client = PseudonymClient(
            f"127.0.0.1:{service.port}",
            issue_tls(common_name),
            server_name="pseudonym",
            **kwargs,  # type: ignore[arg-type]
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
