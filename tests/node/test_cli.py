"""`seinhuis node serve/send/status/withdraw/inbox`."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from node.model import Notification
from node.remote import NodeClient
from seinhuis.errors import NotFound
from seinhuis.vocabulary import PartnerType
from tests.node.conftest import (
    NodeKeys,
    RunCli,
    StartNode,
    ggd_signal,
    make_bsn,
    write_node_config,
)


def test_send_status_and_withdraw(
    start_node: StartNode, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    """send prints the id; status finds it by reference; withdraw by id; errors exit 2."""
    service = start_node()
    node = ["--node", f"127.0.0.1:{service.port}"]
    send = ["send", *node, "--type", "zorgwekkend_gedrag", "--bsn", make_bsn(5)]
    send += ["--postcode", "1234 ab", "--house-number", "7", "--reference", "cli-1"]
    assert run_cli(send) == 0
    message_id = capsys.readouterr().out.strip()
    assert len(bytes.fromhex(message_id)) == 16
    assert run_cli(["status", *node, "cli-1"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["id"] == message_id and status["state"] == "PENDING"
    assert run_cli(["withdraw", *node, message_id, "--reason", "resolved"]) == 0
    assert capsys.readouterr().out.strip() == message_id
    assert run_cli(["status", *node, message_id]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "WITHDRAWN"
    # A refused send: exit 2 with the node's message, never the number.
    assert run_cli([*send[:6], "123456789", *send[7:-2]]) == 2
    assert run_cli(["status", *node, "no-such-reference"]) == 2


def test_inbox_lists_stored_notifications(
    start_node: StartNode, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    """inbox prints one JSON line per notification, with the partner's reference."""
    service = start_node()
    message_id = service.local.node.submit_signal(ggd_signal(partner_reference="in-1"))
    service.local.inbox.store(
        Notification(
            cursor=3,
            created_at=dt.datetime(2026, 11, 22, tzinfo=dt.UTC),
            kind="signal_expired",
            id=message_id,
            reason=None,
            partner_reference="",
        )
    )
    config = service.config.database.parent / "node.toml"
    assert run_cli(["inbox", "--config", str(config)]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    item = json.loads(line)
    assert item["cursor"] == 3 and item["kind"] == "signal_expired"
    assert item["id"] == message_id.hex() and item["reference"] == "in-1"
    assert "reason" not in item  # only withdrawals have one


def test_serve_writes_its_port_and_stops_on_sigterm(tmp_path: Path, node_keys: NodeKeys) -> None:
    """`serve` binds port 0, writes the port file, answers, and exits 0 on SIGTERM."""
    config = write_node_config(
        tmp_path / "served",
        partner_id="ggd-a",
        partner_type=PartnerType.GGD,
        tls=node_keys.tls,
        signing_key=node_keys.signing_key,
        cache_key=node_keys.cache_key,
        hub_sealing_pub=node_keys.hub_sealing_pub,
    )
    code = "import sys; from node.cli import _serve; from argparse import Namespace; "
    code += "sys.exit(_serve(Namespace(config=__import__('pathlib').Path(sys.argv[1]), grace=1)))"
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", code, str(config)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        port_file = config.parent / "node.port"
        deadline = time.monotonic() + 60
        while not port_file.exists():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        client = NodeClient(f"127.0.0.1:{int(port_file.read_text())}")
        try:
            with pytest.raises(NotFound):
                client.status("unknown-reference")
        finally:
            client.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=45) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
