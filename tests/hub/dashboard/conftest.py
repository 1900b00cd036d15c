"""The dashboard's network, once per session: keys and configs laid out by seinhuis.network,
a hub database filled by the hub's own judge and desk (scenario.py), and the dashboard's
development login provider running as a process. Tests build the dashboard in process (Flask
test client) or start it as `seinhuis hub dashboard` (browser tests).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from hub import config as config_module
from hub import registry as registry_module
from hub import staff as staff_module
from hub.store import SqlHubStore
from seinhuis.keys_cli import PartnerSpec
from seinhuis.network import Launcher, Layout, Running
from seinhuis.vocabulary import PartnerType
from tests.hub.dashboard.scenario import Seeded, seed

#: The dashboard's pages answer on this origin in the Flask test client.
BASE_URL = "https://localhost"
PARTNERS = [
    PartnerSpec("team-noord", PartnerType.SOCIAAL_TEAM),
    PartnerSpec("school-a", PartnerType.SCHOOL),
    PartnerSpec("ggd-a", PartnerType.GGD),
]


@dataclass
class Network:
    layout: Layout
    launcher: Launcher
    login: Running
    hub_toml: Path
    seeded: Seeded
    today: dt.date

    @property
    def issuer(self) -> str:
        return f"https://127.0.0.1:{self.login.port}"

    @property
    def ca_cert(self) -> Path:
        return self.layout.root / "ca" / "ca.crt"

    def config(self) -> config_module.HubConfig:
        return config_module.load(self.hub_toml)

    def store(self) -> SqlHubStore:
        return SqlHubStore(self.config().database_url)


@pytest.fixture(scope="session")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    layout = Layout(tmp_path_factory.mktemp("dashboard-net"))
    layout.create(PARTNERS)
    layout.create_dashboard()
    launcher = Launcher(layout)
    try:
        login = launcher.start("dashboard-login", "consent dev-oidc", layout.dashboard_oidc_config)
        hub_toml = layout.write_dashboard_config(f"https://127.0.0.1:{login.port}")
        config = config_module.load(hub_toml)
        today = dt.datetime.now(dt.UTC).date()
        store = SqlHubStore(config.database_url)
        try:
            operator = staff_module.load(config.staff).members["operator"]
            seeded = seed(store, registry_module.load(config.registry), operator, today)
        finally:
            store.close()
        yield Network(layout, launcher, login, hub_toml, seeded, today)
    finally:
        launcher.stop_all()


class StaffBrowser:
    """The Flask test client on the dashboard's https origin, and the way through the provider."""

    def __init__(self, client: FlaskClient, network: Network) -> None:
        self.client = client
        self.network = network

    def get(self, path: str, **kwargs: object) -> TestResponse:
        return self.client.get(path, base_url=BASE_URL, **kwargs)

    def post(self, path: str, data: dict[str, str] | None = None) -> TestResponse:
        return self.client.post(path, base_url=BASE_URL, data=data or {})

    def csrf(self, path: str) -> str:
        found = re.search(r'name="csrf_token" value="([^"]+)"', self.get(path).text)
        assert found, "no CSRF token on the page"
        return found.group(1)

    def start_login(self) -> dict[str, str]:
        response = self.get("/inloggen")
        assert response.status_code == 302, response.text
        location = urlsplit(response.headers["Location"])
        assert f"{location.scheme}://{location.netloc}" == self.network.issuer
        return dict(parse_qsl(location.query))

    def pick(self, params: dict[str, str], staff_id: str) -> str:
        """Choose a member of staff at the provider; the callback (path and query)."""
        answer = requests.post(
            f"{self.network.issuer}/authorize",
            data={**params, "medewerker": staff_id},
            verify=str(self.network.ca_cert),
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 302, answer.text
        callback = urlsplit(answer.headers["Location"])
        assert f"{callback.scheme}://{callback.netloc}" == BASE_URL
        return f"{callback.path}?{callback.query}"

    def login(self, staff_id: str) -> TestResponse:
        return self.get(self.pick(self.start_login(), staff_id))
