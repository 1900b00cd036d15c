"""Fixtures: the development login provider and a pseudonymisation service (once per session),
and per test a consent service with its portal, a settable clock and an in-memory household.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from consent import config as consent_config
from consent.model import Pseudonym
from consent.portal.dev_oidc import app as dev_app
from consent.portal.dev_oidc import config as dev_config
from consent.portal.devsetup import DevSetup
from consent.portal.household import HouseholdInfo
from consent.portal.sessions import MemorySessionStore, ServerSideSessions
from consent.portal.store import PortalStore
from consent.wiring import Service, build
from pseudonym import keyring
from pseudonym import wiring as pseudonym_wiring
from pseudonym.client import PseudonymClient
from pseudonym.config import load as load_pseudonym
from seinhuis.crypto.pki import DevCA
from seinhuis.vocabulary import IdentifierKind

#: The portal's pages answer on this origin in the Flask test client.
BASE_URL = "https://localhost"
NOW = dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.UTC)

PSEUDONYM_CONFIG = """\
[pseudonym]
listen = "127.0.0.1:0"
keyring = "keyring"
audit_database = "audit.db"
partners = "partners.yaml"
portal_ids = ["portal"]
[pseudonym.tls]
ca_cert = "{ca}"
cert = "{cert}"
key = "{key}"
"""


@dataclass
class Clock:
    """A wall clock the test can move forward; starts at the real now."""

    offset: dt.timedelta = dt.timedelta()
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def advance(self, **kwargs: float) -> None:
        with self.lock:
            self.offset += dt.timedelta(**kwargs)


@dataclass
class FakeHousehold:
    """An in-memory HouseholdInfoSource: what it holds per person, and who asked."""

    info: HouseholdInfo = field(default_factory=HouseholdInfo)
    asked: list[list[Pseudonym]] = field(default_factory=list)

    def household_info(self, people: Sequence[Pseudonym]) -> HouseholdInfo:
        self.asked.append(list(people))
        return self.info


@dataclass(frozen=True)
class Network:
    """What every portal test shares: the keys, the login provider, the pseudonym service."""

    setup: DevSetup
    oidc: dev_app.DevOidcService
    pseudonym_target: str
    ca: DevCA

    @property
    def issuer(self) -> str:
        return self.oidc.issuer

    def pseudonym_of(self, bsn: str) -> Pseudonym:
        """The person pseudonym the portal will compute for this citizen number."""
        tls = self.setup.consent_dir / "portal"
        from seinhuis.transport import TlsFiles

        files = TlsFiles(self.ca.cert_path, tls / "tls.crt", tls / "tls.key")
        with PseudonymClient(self.pseudonym_target, files) as client:
            version, [value] = client.pseudonymize(IdentifierKind.PERSON, [f"bsn:{bsn}".encode()])
        return Pseudonym(value, version)


@pytest.fixture(scope="session")
def network(dev_ca: DevCA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    root = tmp_path_factory.mktemp("portal-network")
    setup = DevSetup(root)
    setup.consent_dir.mkdir(parents=True)
    setup.oidc_dir.mkdir(parents=True)
    setup.create_keys(dev_ca)
    setup.write_oidc_config("127.0.0.1:0")
    oidc = dev_app.build(dev_config.load(setup.oidc_config))
    oidc.start()

    folder = root / "pseudonym"
    keyring.create(folder / "keyring")
    (folder / "partners.yaml").write_text("partners: []\n")
    tls = dev_ca.issue(folder, "pseudonym", server=True)
    path = folder / "pseudonym.toml"
    path.write_text(PSEUDONYM_CONFIG.format(ca=tls.ca_cert, cert=tls.cert, key=tls.key))
    pseudonym = pseudonym_wiring.build(load_pseudonym(path))
    port = pseudonym.start()
    yield Network(setup, oidc, f"127.0.0.1:{port}", dev_ca)
    pseudonym.stop(0)
    oidc.stop()


@dataclass
class Portal:
    """A consent service with its portal, built (and for browser tests started)."""

    service: Service
    clock: Clock
    household: FakeHousehold
    network: Network
    config_path: Path

    @property
    def app(self) -> Flask:
        assert self.service.portal is not None
        return self.service.portal.app

    @property
    def sessions(self) -> MemorySessionStore:
        interface = self.app.session_interface
        assert isinstance(interface, ServerSideSessions)
        return interface.store

    @property
    def store(self) -> PortalStore:
        assert self.service.portal is not None
        return self.service.portal.store

    def client(self) -> Browser:
        return Browser(self.app.test_client(), self.network)


PortalFactory = Callable[..., Portal]


@pytest.fixture
def make_portal(network: Network, tmp_path: Path) -> Iterator[PortalFactory]:
    """make_portal(idle_minutes=15) -> a built (not started) consent service with its portal."""
    made: list[Portal] = []

    def make(*, idle_minutes: int = 15) -> Portal:
        path = network.setup.write_consent_config(
            issuer=network.issuer,
            pseudonym_target=network.pseudonym_target,
            portal_listen="127.0.0.1:0",
            idle_minutes=idle_minutes,
            database_url=f"sqlite:///{tmp_path / f'consent{len(made)}.db'}",
            path=network.setup.consent_dir / f"consent-{tmp_path.name}-{len(made)}.toml",
        )
        clock = Clock()
        household = FakeHousehold()
        service = build(consent_config.load(path), clock=clock, household=household)
        portal = Portal(service, clock, household, network, path)
        made.append(portal)
        return portal

    yield make
    for portal in made:
        if portal.service.port:
            portal.service.stop(0)
        else:
            assert portal.service.portal is not None
            portal.service.portal.stop()
            portal.service.store.close()


@pytest.fixture
def portal(make_portal: PortalFactory) -> Portal:
    return make_portal()


class Browser:
    """The Flask test client on the portal's https origin, and the way through the provider."""

    def __init__(self, client: FlaskClient, network: Network) -> None:
        self.client = client
        self.network = network

    def get(self, path: str, **kwargs: object) -> TestResponse:
        return self.client.get(path, base_url=BASE_URL, **kwargs)

    def post(self, path: str, data: dict[str, str] | None = None, **kw: object) -> TestResponse:
        return self.client.post(path, base_url=BASE_URL, data=data or {}, **kw)

    def csrf(self, path: str = "/toestemming") -> str:
        """The CSRF token the forms on a page carry."""
        import re

        found = re.search(r'name="csrf_token" value="([^"]+)"', self.get(path).text)
        assert found, "no CSRF token on the page"
        return found.group(1)

    def submit(self, path: str, data: dict[str, str], *, page: str | None = None) -> TestResponse:
        """POST a form the way a page would: with that page's CSRF token."""
        return self.post(path, {"csrf_token": self.csrf(page or path), **data})

    def start_login(self) -> dict[str, str]:
        """GET /inloggen; the authorization request's parameters at the provider."""
        response = self.get("/inloggen")
        assert response.status_code == 302, response.text
        location = urlsplit(response.headers["Location"])
        assert f"{location.scheme}://{location.netloc}" == self.network.issuer
        return dict(parse_qsl(location.query))

    def pick(self, params: dict[str, str], resident: str) -> str:
        """Choose a resident at the provider; the callback URL it redirects to (path+query)."""
        answer = requests.post(
            f"{self.network.issuer}/authorize",
            data={**params, "inwoner": resident},
            verify=str(self.network.ca.cert_path),
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 302, answer.text
        callback = urlsplit(answer.headers["Location"])
        assert f"{callback.scheme}://{callback.netloc}" == BASE_URL
        return f"{callback.path}?{callback.query}"

    def login(self, resident: str = "anna") -> TestResponse:
        response = self.get(self.pick(self.start_login(), resident))
        assert response.status_code == 303, response.text
        assert response.headers["Location"].endswith("/overzicht")
        return response
