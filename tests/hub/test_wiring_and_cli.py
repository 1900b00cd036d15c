"""The built hub and its commands: port file, health over mTLS, serve/stop, stats and signals."""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from hub import cli
from hub import config as config_module
from hub.store import SqlHubStore
from hub.wiring import build
from seinhuis.crypto.keys import load_sealing_key
from seinhuis.errors import ConfigError
from seinhuis.transport import TlsFiles
from seinhuis.v1 import intake_pb2, intake_pb2_grpc
from tests.hub.builders import arrears_signal_pb, ggd_signal_pb, seal
from tests.hub.conftest import Hub, Identity, write_hub_files


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    cli.register(parser)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


def test_start_writes_the_bound_port_and_serves_health_over_mtls(hub: Hub) -> None:
    """The port file holds the bound port; a partner's mTLS channel sees SERVING."""
    assert hub.config.port_file is not None
    assert int(hub.config.port_file.read_text()) == hub.port
    stub: Any = health_pb2_grpc.HealthStub(hub.channel("ggd-a"))
    response = stub.Check(health_pb2.HealthCheckRequest(service="seinhuis.v1.IntakeService"))
    assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_a_client_without_certificate_cannot_connect(hub: Hub, dev_ca_cert: bytes) -> None:
    """Mutual TLS is required: a channel that presents no certificate fails."""
    creds = grpc.ssl_channel_credentials(root_certificates=dev_ca_cert)
    options = [("grpc.ssl_target_name_override", "hub")]
    with grpc.secure_channel(f"127.0.0.1:{hub.port}", creds, options=options) as channel:
        stub: Any = health_pb2_grpc.HealthStub(channel)
        with pytest.raises(grpc.RpcError) as info:
            stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert info.value.code() is grpc.StatusCode.UNAVAILABLE


@pytest.fixture
def dev_ca_cert(hub_tls: TlsFiles) -> bytes:
    return hub_tls.ca_cert.read_bytes()


def test_a_registry_for_another_hub_is_refused(
    tmp_path: Path, hub_tls: TlsFiles, identities: dict[str, Identity]
) -> None:
    """build() refuses a partners.yaml whose hub_id is not this hub's id."""
    path = write_hub_files(tmp_path, hub_tls, identities, id='"other-hub"')
    with pytest.raises(ConfigError, match="hub_id"):
        build(config_module.load(path))


def test_stats_and_signals_show_counts_and_never_a_pseudonym(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    """stats counts per partner and type; signals lists rows with pseudonyms as hash prefixes."""
    payload = ggd_signal_pb()
    for partner_id, body in [("ggd-a", payload), ("woco-a", arrears_signal_pb())]:
        envelope = seal(hub.keys(partner_id), hub.sealing_key, body)
        hub.intake(partner_id).Submit(intake_pb2.SubmitRequest(envelope=envelope))
    config = str(hub.config_path)
    assert run_cli(["stats", "--config", config]) == 0
    stats = capsys.readouterr().out
    assert "ZORGWEKKEND_GEDRAG" in stats and "HUURACHTERSTAND" in stats
    assert "total active: 2" in stats
    assert run_cli(["signals", "--config", config]) == 0
    listing = capsys.readouterr().out
    person = payload.subject.person_pseudonym
    assert hashlib.sha256(person).hexdigest()[: cli.PSEUDONYM_PREFIX] in listing
    assert person.hex() not in listing
    assert person.hex()[:8] not in listing
    assert "ggd-a" in listing and "woco-a" in listing


def _serve(config: Path) -> subprocess.Popen[bytes]:
    runner = (
        "import argparse, sys\n"
        "from hub import cli\n"
        "p = argparse.ArgumentParser(); cli.register(p)\n"
        "a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))\n"
    )
    env = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.Popen(
        [sys.executable, "-c", runner, "serve", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )


def _wait_for_port(port_file: Path, process: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if port_file.exists():
            return int(port_file.read_text())
        assert process.poll() is None, process.stderr.read() if process.stderr else b""
        time.sleep(0.05)
    raise AssertionError("the hub did not write its port file")


def test_acknowledged_signals_survive_sigkill_and_sigterm_stops_cleanly(
    tmp_path: Path,
    hub_tls: TlsFiles,
    identities: dict[str, Identity],
    make_stub: Callable[[int, TlsFiles], intake_pb2_grpc.IntakeServiceStub],
) -> None:
    """`hub serve` killed with SIGKILL keeps every acknowledged signal; SIGTERM exits 0."""
    config_path = write_hub_files(tmp_path, hub_tls, identities)
    config = config_module.load(config_path)
    assert config.port_file is not None
    sealing = load_sealing_key(tmp_path / "sealing.key")
    keys = identities["ggd-a"].keys
    process = _serve(config_path)
    try:
        stub = make_stub(_wait_for_port(config.port_file, process), identities["ggd-a"].tls)
        envelopes = [seal(keys, sealing, ggd_signal_pb()) for _ in range(50)]
        response = stub.SubmitStream(intake_pb2.SubmitStreamRequest(envelope=e) for e in envelopes)
        acknowledged = {r.id for r in response.results if r.code == 0}
        assert len(acknowledged) == 50
    finally:
        process.kill()
        process.wait()
        if process.stderr is not None:
            process.stderr.close()
    store = SqlHubStore(config.database_url)
    assert {s.received.id for s in store.list_signals()} == acknowledged
    store.close()

    config.port_file.unlink()
    process = _serve(config_path)
    _wait_for_port(config.port_file, process)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
    assert process.stderr is not None
    with process.stderr:
        assert b'"service.stopping"' in process.stderr.read()


def test_cases_lists_the_judges_cases_without_identities(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    """An urgent signal opens a case on the judge's thread; `cases` lists it, no pseudonym."""
    payload = ggd_signal_pb()
    envelope = seal(hub.keys("ggd-a"), hub.sealing_key, payload)
    hub.intake("ggd-a").Submit(intake_pb2.SubmitRequest(envelope=envelope))
    assert hub.service.judge is not None
    hub.service.judge.flush()
    assert run_cli(["cases", "--config", str(hub.config_path)]) == 0
    listing = capsys.readouterr().out
    assert "OPEN" in listing and "C-" in listing
    for pseudonym in (payload.subject.person_pseudonym, payload.subject.address_pseudonym):
        assert pseudonym.hex()[:8] not in listing


def _niceness(pid: int) -> int:
    # /proc/PID/stat: the 19th field, after the parenthesised command name.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[16])


def test_the_judge_process_runs_at_the_configured_niceness(
    tmp_path: Path, hub_tls: TlsFiles, identities: dict[str, Identity]
) -> None:
    """judge = "process" with judge_niceness = 3: the hub's judge runs 3 below it in priority."""
    config_path = write_hub_files(
        tmp_path, hub_tls, identities, judge='"process"', judge_niceness=3
    )
    config = config_module.load(config_path)
    assert config.port_file is not None and config.judge_niceness == 3
    process = _serve(config_path)
    try:
        _wait_for_port(config.port_file, process)
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        judges = [
            int(c)
            for c in children
            if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()
            and b"resource_tracker" not in Path(f"/proc/{c}/cmdline").read_bytes()
        ]
        assert len(judges) == 1
        wanted = _niceness(process.pid) + 3
        deadline = time.monotonic() + 30  # the process sets it once it has loaded the judge
        while _niceness(judges[0]) != wanted and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _niceness(judges[0]) == wanted
    finally:
        process.kill()
        process.wait()
        if process.stderr is not None:
            process.stderr.close()
