"""`seinhuis pseudonym ...`: keyring commands, and serve stopping cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pseudonym import cli, keyring
from pseudonym.client import PseudonymClient
from seinhuis.transport import TlsFiles
from seinhuis.vocabulary import IdentifierKind

ROOT = Path(__file__).resolve().parents[2]


def test_init_rotate_and_key_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """init-keyring makes v1, rotate makes v2 current, key-info shows ids but no seeds."""
    folder = tmp_path / "keyring"
    assert cli.main(["init-keyring", str(folder)]) == 0
    assert cli.main(["rotate", "--keyring", str(folder)]) == 0
    capsys.readouterr()
    assert cli.main(["key-info", "--keyring", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "current version 2" in out and "v1 " in out and "v2 " in out
    seeds = [(folder / f"v{n}.key").read_text().split()[1] for n in (1, 2)]
    assert not any(seed in out for seed in seeds)


def test_errors_are_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A keyring problem prints `seinhuis: ...` and exits 2."""
    assert cli.main(["key-info", "--keyring", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("seinhuis: ")


def test_serve_runs_until_sigterm(tmp_path: Path, issue_tls: Callable[..., TlsFiles]) -> None:
    """serve writes its port file, answers, and exits 0 on SIGTERM."""
    tls = issue_tls("pseudonym", server=True)
    keyring.create(tmp_path / "keyring")
    config = tmp_path / "pseudonym.toml"
    config.write_text(
        f'[pseudonym]\nkeyring = "keyring"\naudit_database = "audit.db"\n'
        f'port_file = "pseudonym.port"\npartners = "partners.yaml"\n[pseudonym.tls]\n'
        f'ca_cert = "{tls.ca_cert}"\ncert = "{tls.cert}"\nkey = "{tls.key}"\n'
    )
    (tmp_path / "partners.yaml").write_text(
        "partners:\n- {id: ggd-demo, type: GGD, certificate_cn: ggd-demo}\n"
    )
    port_file = tmp_path / "pseudonym.port"
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "pseudonym.cli", "serve", "--config", str(config)],
            cwd=ROOT,
            stderr=log_file,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    try:
        deadline = time.monotonic() + 15
        while not port_file.exists():
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "the port file never appeared"
            time.sleep(0.05)
        port = int(port_file.read_text())
        with PseudonymClient(f"127.0.0.1:{port}", issue_tls("ggd-demo")) as client:
            assert client.pseudonymize(IdentifierKind.PERSON, [b"bsn:123456782"])[0] == 1
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log = log_path.read_text()
    assert '"event": "service.started"' in log and '"event": "service.stopping"' in log
    assert '"event": "pseudonym.evaluated"' in log and "123456782" not in log
