"""The [hub.dashboard] table of hub.toml, the development login provider's staff accounts, and
`seinhuis hub dashboard` refusing to start without its table."""

from __future__ import annotations

from pathlib import Path

import pytest

from consent.portal.dev_oidc import config as dev_config
from hub import config as hub_config
from hub.dashboard import wiring
from hub.dashboard.devsetup import DashboardDevSetup
from seinhuis.errors import ConfigError
from tests.hub.dashboard.conftest import Network

HUB = """\
[hub]
id = "hub"
listen = "127.0.0.1:0"
database_url = "sqlite:///hub.db"
registry = "partners.yaml"
sealing_keys = ["sealing.key"]
[hub.tls]
ca_cert = "ca.crt"
cert = "tls.crt"
key = "tls.key"
"""
DASHBOARD = """\
[hub.dashboard]
listen = "127.0.0.1:8445"
port_file = "dashboard.port"
session_secret_file = "dashboard-session.key"
weeks = 8
[hub.dashboard.tls]
cert = "dashboard/tls.crt"
key = "dashboard/tls.key"
[hub.dashboard.oidc]
issuer = "https://login.gemeente.example/"
client_id = "seinhuis-dashboard"
client_secret_file = "dashboard-oidc-client.secret"
"""


def _load(tmp_path: Path, text: str) -> hub_config.HubConfig:
    path = tmp_path / "hub.toml"
    path.write_text(text)
    return hub_config.load(path)


def test_the_dashboard_table_is_read_with_the_hub_config(tmp_path: Path) -> None:
    config = _load(tmp_path, HUB + DASHBOARD)
    d = config.dashboard
    assert d is not None
    assert d.listen == "127.0.0.1:8445" and d.port_file == tmp_path / "dashboard.port"
    assert (d.weeks, d.months, d.session_idle_minutes) == (8, 12, 15)
    assert d.cert == tmp_path / "dashboard/tls.crt"
    assert d.oidc.issuer == "https://login.gemeente.example"
    assert d.oidc.staff_claim == "preferred_username" and d.oidc.ca_cert is None
    assert _load(tmp_path, HUB).dashboard is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("weeks = 8", "weeks = 80"), "hub.dashboard.weeks: must be between 4 and 53"),
        (('listen = "127.0.0.1:8445"', 'listen = "8445"'), "hub.dashboard.listen"),
        (("https://login", "http://login"), "hub.dashboard.oidc.issuer: must be an https://"),
        (("weeks = 8", "wekes = 8"), "hub.dashboard.wekes: unknown key"),
        (('client_id = "seinhuis-dashboard"\n', ""), "hub.dashboard.oidc.client_id: is required"),
    ],
)
def test_a_wrong_dashboard_table_names_the_key(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, HUB + DASHBOARD.replace(*change))


def test_the_dashboard_needs_its_table(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"hub\.dashboard: missing table"):
        wiring.build(_load(tmp_path, HUB))


def test_the_development_provider_offers_the_hubs_staff(network: Network) -> None:
    """The Layout's provider has one client, for staff, listing the hub's staff registry."""
    config = dev_config.load(DashboardDevSetup(network.layout.dashboard_dir).oidc_config)
    [client] = config.clients
    assert client.accounts == "staff"
    assert [(m.id, m.role) for m in config.staff] == [
        ("operator", "operator"),
        ("procesregisseur", "procesregisseur"),
    ]


def test_the_development_provider_checks_its_staff_accounts(tmp_path: Path) -> None:
    path = tmp_path / "dev-oidc.toml"
    base = (
        '[dev_oidc]\n[dev_oidc.tls]\ncert = "c"\nkey = "k"\n'
        '[[dev_oidc.clients]]\nclient_id = "x"\nclient_secret_file = "s"\n'
        'redirect_uris = ["https://127.0.0.1/inloggen/terug"]\n'
    )
    path.write_text(base + 'accounts = "everyone"\n')
    with pytest.raises(ConfigError, match=r"clients\[0\]\.accounts: must be one of"):
        dev_config.load(path)
    path.write_text(base + '[[dev_oidc.staff]]\nid = "Anna Operator"\n')
    with pytest.raises(ConfigError, match=r"dev_oidc\.staff\[0\]\.id: must match"):
        dev_config.load(path)
