"""An independent client in Node.js speaks the wire contract: the hub stores what it sends.

clients/node-js uses @grpc/grpc-js with the .proto files, tweetnacl for Ed25519 and the
X25519 sealed box, and @noble/hashes for BLAKE2b and SHA-256: no line of Seinhuis's Python
code. It gets a school's certificate and keys and two pseudonyms that this test makes with
the real pseudonymisation service (the client never sees the citizen number or the address),
submits a signal (Submit) and another (SubmitStream), withdraws the second, and reads the
partner feed until the hub reports that withdrawal.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from node.identifiers import Bsn, DutchAddress
from pseudonym.client import PseudonymClient
from seinhuis.keys_cli import PartnerSpec
from seinhuis.vocabulary import IdentifierKind, PartnerType, SignalType, WithdrawReason
from tests.security.launch import BSNS, Services, start_services, today

REPO = Path(__file__).resolve().parents[2]
CLIENT = REPO / "clients" / "node-js"
SCHOOL = PartnerSpec("school-js", PartnerType.SCHOOL)


def _node_client_ready() -> str:
    """The node executable, with the client's packages installed (npm ci when needed)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed; make test installs the client where it is")
    stamp = CLIENT / "node_modules" / ".package-lock.json"
    lock = CLIENT / "package-lock.json"
    if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is not installed, so the Node.js client's packages cannot be")
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=CLIENT,
            check=True,
            timeout=600,
        )
    return node


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    services = start_services(tmp_path_factory.mktemp("interop") / "net", [SCHOOL])
    yield services
    services.stop()


def _job(net: Services, folder: Path, person: bytes, address: bytes, version: int) -> Path:
    node_dir = net.layout.node_dir(SCHOOL.id)
    day = today()
    job: dict[str, Any] = {
        "hub": net.hub.address,
        "server_name": "hub",
        "hub_id": "hub",
        "partner_id": SCHOOL.id,
        "proto_root": str(REPO / "proto"),
        "tls": {
            "ca_cert": str(net.layout.root / "ca" / "ca.crt"),
            "cert": str(node_dir / "tls.crt"),
            "key": str(node_dir / "tls.key"),
        },
        "signing_key": str(node_dir / "signing.key"),
        "hub_sealing_public": str(node_dir / "hub-sealing.pub"),
        "signal": {
            "signal_type": "SIGNAL_TYPE_SCHOOLVERZUIM",
            "life_domain": "LIFE_DOMAIN_LEREN",
            "urgency": "URGENCY_NORMAAL",
            "legal_basis": "LEGAL_BASIS_JEUGDWET_VERWIJSINDEX",
            "observed_on": {"year": day.year, "month": day.month, "day": day.day},
            "keep_until": _date(day + dt.timedelta(days=365)),
            "subject": {
                "person_pseudonym": person.hex(),
                "address_pseudonym": address.hex(),
                "key_version": version,
            },
        },
        "feed_timeout_ms": 60_000,
    }
    path = folder / "job.json"
    path.write_text(json.dumps(job, indent=2))
    return path


def _date(day: dt.date) -> dict[str, int]:
    return {"year": day.year, "month": day.month, "day": day.day}


def test_a_node_js_client_submits_a_sealed_signal_and_reads_the_feed(
    net: Services, tmp_path: Path
) -> None:
    node = _node_client_ready()
    with PseudonymClient(
        net.pseudonym.address, net.partner_tls(SCHOOL.id), server_name="pseudonym"
    ) as pseudonyms:
        version, (person,) = pseudonyms.pseudonymize(
            IdentifierKind.PERSON, [Bsn(BSNS[0]).oprf_input]
        )
        _, (address,) = pseudonyms.pseudonymize(
            IdentifierKind.ADDRESS, [DutchAddress("3511 AB", 7, "", "").oprf_input]
        )
    job = _job(net, tmp_path, person, address, version)

    run = subprocess.run(
        [node, str(CLIENT / "seinhuis-client.mjs"), "--config", str(job)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, f"the Node.js client failed:\n{run.stderr}\n{run.stdout}"
    report = json.loads(run.stdout)

    store = net.hub_store()
    kept = store.get_signal(bytes.fromhex(report["submitted"]))
    assert kept is not None, "the hub does not hold the signal the Node.js client submitted"
    assert kept.withdraw_reason is None
    received = kept.received
    assert received.partner_id == SCHOOL.id
    assert received.signal.signal_type is SignalType.SCHOOLVERZUIM
    assert received.signal.person_pseudonym == person
    assert received.signal.address_pseudonym == address
    assert received.signal.key_version == version
    assert received.signal.keep_until == today() + dt.timedelta(days=365)

    withdrawn = store.get_signal(bytes.fromhex(report["withdrawn"]))
    assert withdrawn is None or withdrawn.withdraw_reason is WithdrawReason.UNJUSTIFIED
    assert store.is_seen(bytes.fromhex(report["withdrawn"]))

    notices = [n for n in report["notifications"] if n["kind"] == "signal_withdrawn"]
    assert notices == [
        {
            "cursor": notices[0]["cursor"],
            "kind": "signal_withdrawn",
            "id": report["withdrawn"],
            "reason": "WITHDRAW_REASON_UNJUSTIFIED",
        }
    ]
    cursors = [n["cursor"] for n in report["notifications"]]
    assert cursors == sorted(cursors) and len(set(cursors)) == len(cursors)


def test_the_client_packages_are_locked() -> None:
    """npm ci installs exactly the locked versions, on every machine."""
    package = json.loads((CLIENT / "package.json").read_text())
    lock = json.loads((CLIENT / "package-lock.json").read_text())
    for name in ("@grpc/grpc-js", "@grpc/proto-loader", "tweetnacl", "@noble/hashes"):
        assert name in package["dependencies"]
        assert lock["packages"][f"node_modules/{name}"]["integrity"].startswith("sha512-")
