"""[consent.portal] in the config, `init-dev`, and both services as real processes."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

import consent.config
from consent import cli
from consent.portal.dev_oidc import config as dev_config
from consent.portal.devsetup import DevSetup
from consent.wiring import build
from seinhuis.crypto.pki import DevCA
from seinhuis.errors import ConfigError
from tests.consent.portal.conftest import Network

ROOT = Path(__file__).resolve().parents[3]


def portal_example() -> str:
    """The registry example and the portal example from consent/config.py's docstring."""
    blocks: list[str] = re.findall(r"```toml\n(.*?)```", consent.config.__doc__ or "", re.S)
    assert len(blocks) == 2
    return blocks[0] + blocks[1]


def test_the_documented_portal_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "consent.toml"
    path.write_text(portal_example())
    portal = consent.config.load(path).portal
    assert portal is not None
    assert portal.listen == "127.0.0.1:8443" and portal.session_idle_minutes == 15
    assert portal.tls.cert == tmp_path / "portal/tls.crt"
    assert portal.oidc.issuer == "https://127.0.0.1:8444"
    assert portal.oidc.ca_cert == tmp_path / "../ca/ca.crt"
    assert portal.pseudonym_target == "127.0.0.1:50052"


def test_without_a_portal_table_there_is_no_portal(tmp_path: Path) -> None:
    path = tmp_path / "consent.toml"
    path.write_text(re.findall(r"```toml\n(.*?)```", consent.config.__doc__ or "", re.S)[0])
    assert consent.config.load(path).portal is None


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("session_idle_minutes = 15", "session_idle_minutes = 0", "session_idle_minutes: must be"),
        ('issuer = "https://127.0.0.1:8444"', 'issuer = "http://x"', "oidc.issuer: must be an"),
        ('public_url = ""', 'public_url = "https://x/pad"', "portal.public_url: must be"),
        ('listen = "127.0.0.1:8443"', 'listen = "unix:/tmp/p"', "consent.portal.listen: must"),
        ('client_id = "seinhuis-portaal"', "", "consent.portal.oidc.client_id: is required"),
        ('server_name = "pseudonym"', 'servername = "x"', "portal.pseudonym.servername: unknown"),
    ],
)
def test_portal_config_mistakes_name_the_key(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    text = portal_example()
    assert old in text
    path = tmp_path / "consent.toml"
    path.write_text(text.replace(old, new))
    with pytest.raises(ConfigError, match=re.escape(message)):
        consent.config.load(path)


def test_the_portal_certificate_must_be_a_portal_id(network: Network, tmp_path: Path) -> None:
    """A portal presenting a CN the registry does not treat as a portal is refused at build."""
    path = network.setup.write_consent_config(
        issuer=network.issuer,
        pseudonym_target=network.pseudonym_target,
        database_url=f"sqlite:///{tmp_path / 'consent.db'}",
        path=network.setup.consent_dir / "consent-wrong-cn.toml",
    )
    path.write_text(path.read_text().replace('portal_ids = ["portal"]', 'portal_ids = ["loket"]'))
    with pytest.raises(ConfigError, match=re.escape("name 'portal' is not in consent.portal_ids")):
        build(consent.config.load(path))


def test_init_dev_writes_configs_that_load(tmp_path: Path, dev_ca: DevCA) -> None:
    """`seinhuis consent init-dev` lays out both services; a second run needs --force."""
    target = tmp_path / "dev"
    args = ["init-dev", str(target), "--ca", str(dev_ca.directory), "--pseudonym", "127.0.0.1:1"]
    assert cli.main(args) == 0
    setup = DevSetup(target)
    portal = consent.config.load(setup.consent_config).portal
    assert portal is not None and portal.oidc.issuer == "https://127.0.0.1:8444"
    oidc = dev_config.load(setup.oidc_config)
    assert oidc.listen == "127.0.0.1:8444" and oidc.clients[0].client_id == portal.oidc.client_id
    assert oidc.clients[0].client_secret_file.resolve() == portal.oidc.client_secret_file.resolve()
    assert (setup.consent_dir / "portal-session.key").stat().st_mode & 0o077 == 0
    assert cli.main(args) == 2
    assert cli.main([*args, "--force"]) == 0


def test_the_objections_command_prints_the_review_list(
    network: Network, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Operators read open objections by signal id, type and reason; never a pseudonym."""
    from consent.model import Party
    from consent.portal.records import Objection, ObjectionReason
    from consent.portal.store import PortalStore
    from seinhuis.vocabulary import LegalBasis, PartnerType, SignalType

    database = f"sqlite:///{tmp_path / 'consent.db'}"
    path = network.setup.write_consent_config(
        issuer=network.issuer,
        pseudonym_target=network.pseudonym_target,
        database_url=database,
        path=network.setup.consent_dir / "consent-objections.toml",
    )
    subject = network.pseudonym_of("999000019")
    store = PortalStore(database)
    store.add_objection(
        Objection(
            bytes(range(16)),
            "sig-42",
            subject,
            Party.SUBJECT,
            ObjectionReason.RESOLVED,
            SignalType.HUURACHTERSTAND,
            PartnerType.WONINGCORPORATIE,
            LegalBasis.WGS_VROEGSIGNALERING,
            dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.UTC),
        )
    )
    store.close()
    assert cli.main(["objections", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "sig-42  HUURACHTERSTAND from WONINGCORPORATIE" in out and "reason RESOLVED" in out
    assert out.endswith("1 open objection(s)\n") and subject.value.hex() not in out


def _wait_for(path: Path, process: subprocess.Popen[bytes], log: Path) -> int:
    deadline = time.monotonic() + 30
    while not path.exists():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.05)
    return int(path.read_text())


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "consent.cli", *args],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=out,
            env=os.environ | {"PYTHONPATH": str(ROOT)},
        )


def test_both_services_run_as_processes_and_stop_on_sigterm(
    network: Network, tmp_path: Path
) -> None:
    """`dev-oidc serve` and `serve` (with the portal) start on port 0, answer over HTTPS, and
    exit 0 on SIGTERM; the portal's start page comes from the consent service's process."""
    setup = DevSetup(tmp_path / "dev")
    setup.consent_dir.mkdir(parents=True)
    setup.oidc_dir.mkdir(parents=True)
    setup.create_keys(network.ca)
    setup.write_oidc_config("127.0.0.1:0")
    oidc_log, consent_log = tmp_path / "oidc.log", tmp_path / "consent.log"
    processes = [_start(["dev-oidc", "serve", "--config", str(setup.oidc_config)], oidc_log)]
    try:
        oidc_port = _wait_for(setup.oidc_dir / "dev-oidc.port", processes[0], oidc_log)
        setup.write_consent_config(
            issuer=f"https://127.0.0.1:{oidc_port}",
            pseudonym_target=network.pseudonym_target,
            portal_listen="127.0.0.1:0",
        )
        processes.append(
            _start(["serve", "--config", str(setup.consent_config), "--grace", "0"], consent_log)
        )
        portal_port = _wait_for(setup.consent_dir / "portal.port", processes[1], consent_log)
        with requests.Session() as http:
            http.trust_env = False
            http.verify = str(network.ca.cert_path)
            start = http.get(f"https://127.0.0.1:{portal_port}/", timeout=10)
            assert start.status_code == 200 and '<html lang="nl">' in start.text
            login = http.get(
                f"https://127.0.0.1:{portal_port}/inloggen", allow_redirects=True, timeout=10
            )
            assert "Ontwikkel-inlogdienst — geen echte DigiD" in login.text
        for process in processes:
            process.send_signal(signal.SIGTERM)
        assert [p.wait(timeout=30) for p in processes] == [0, 0]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    log = consent_log.read_text()
    assert '"role": "portal"' in log and '"event": "portal.login_started"' in log
    assert '"event": "service.stopping"' in oidc_log.read_text()
