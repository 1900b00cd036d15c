"""Config loading, `seinhuis consent init-keys`, and `serve` as a real process on port 0."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import consent.config
from consent import cli, receipts
from consent.client import ConsentClient
from consent.model import Decision, Purpose
from seinhuis.cli import ROLES
from seinhuis.errors import ConfigError
from seinhuis.transport import TlsFiles
from seinhuis.vocabulary import LifeDomain, PartnerType
from tests.consent.conftest import ADULT, PARTNERS

ROOT = Path(__file__).resolve().parents[2]


def example_toml() -> str:
    """The commented example in consent/config.py's docstring."""
    doc = consent.config.__doc__ or ""
    found = re.search(r"```toml\n(.*?)```", doc, re.S)
    assert found is not None
    return found.group(1)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "consent.toml"
    path.write_text(text)
    return path


def test_the_documented_example_loads_with_paths_resolved(tmp_path: Path) -> None:
    """The example config is valid; relative paths and the SQLite file resolve to its folder."""
    config = consent.config.load(write(tmp_path, example_toml()))
    assert config.signing_key == tmp_path / "receipt-signing.key"
    assert config.tls.ca_cert == tmp_path / "../ca/ca.crt"
    assert config.database_url == f"sqlite:///{tmp_path / 'consent.db'}"
    assert (config.portal_ids, config.hub_ids) == (frozenset({"portal"}), frozenset({"hub"}))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('hub_ids = ["hub"]', 'hub_ids = ["portal"]', "consent.hub_ids: a name cannot be both"),
        ('listen = "127.0.0.1:0"', 'listen = "everywhere"', "consent.listen: must be"),
        ("watch_poll_s = 1.0", "watch_poll_s = 0", "consent.watch_poll_s: must be between"),
        ("watch_poll_s = 1.0", "watch_pol_s = 1.0", "consent.watch_pol_s: unknown key"),
        ('portal_ids = ["portal"]', 'portal_ids = "portal"', "consent.portal_ids: must be list"),
        ('signing_key = "receipt-signing.key"', "", "consent.signing_key: is required"),
    ],
)
def test_config_mistakes_name_the_key(tmp_path: Path, old: str, new: str, message: str) -> None:
    """Every refusal names the full key that is wrong."""
    text = example_toml()
    assert old in text
    with pytest.raises(ConfigError, match=re.escape(message)):
        consent.config.load(write(tmp_path, text.replace(old, new)))


def test_consent_is_a_role_of_the_seinhuis_command() -> None:
    """`seinhuis consent ...` dispatches to consent.cli."""
    assert ("consent", "consent.cli", "run the consent registry") in ROLES


def test_init_keys_makes_a_key_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """init-keys writes the key pair and prints the key id; a second run needs --force."""
    folder = tmp_path / "keys"
    assert cli.main(["init-keys", str(folder)]) == 0
    key = receipts.load_signing_key(folder / receipts.SIGNING_KEY_FILE)
    assert receipts.load_verify_key(folder / receipts.VERIFY_KEY_FILE) == key.verify_key
    assert cli.main(["init-keys", str(folder)]) == 2
    assert "pass --force" in capsys.readouterr().err
    assert cli.main(["init-keys", str(folder), "--force"]) == 0
    assert receipts.load_signing_key(folder / receipts.SIGNING_KEY_FILE) != key


def test_serve_runs_on_port_0_and_stops_on_sigterm(
    tmp_path: Path, issue_tls: Callable[..., TlsFiles]
) -> None:
    """`serve` writes its port file, answers checks, and exits 0 on SIGTERM."""
    receipts.generate_keys(tmp_path)
    tls = issue_tls("consent", server=True)
    text = example_toml().replace('"../ca/ca.crt"', f'"{tls.ca_cert}"')
    text = text.replace('"tls.crt"', f'"{tls.cert}"').replace('"tls.key"', f'"{tls.key}"')
    config = write(tmp_path, text)
    (tmp_path / "partners.yaml").write_text(PARTNERS)
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "consent.cli", "serve", "--config", str(config), "--grace", "0"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            env=os.environ | {"PYTHONPATH": str(ROOT)},
        )
    try:
        port_file = tmp_path / "consent.port"
        # Generous limits: a loaded machine can take seconds just to import the server stack.
        deadline = time.monotonic() + 30
        while not port_file.exists():
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "the port file never appeared"
            time.sleep(0.05)
        port = int(port_file.read_text())
        with ConsentClient(f"127.0.0.1:{port}", issue_tls("ggd-a")) as client:
            answer = client.check(
                ADULT, "ggd-a", PartnerType.GGD, LifeDomain.ZORGEN, Purpose.SIGNALERING
            )
        assert answer.decision is Decision.DENY
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log = log_path.read_text()
    assert '"event": "service.started"' in log and '"event": "service.stopping"' in log
    assert '"event": "consent.checked"' in log and ADULT.value.hex() not in log
    assert (tmp_path / "consent.db").exists()
