"""The operator interface over real processes: a member of staff acknowledges a case, hands it
to the social team and closes it with `seinhuis operator`; each partner's node inbox shows what
it may know of that, the GP stays hidden, and the audit chain verifies."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from seinhuis.cli import main as seinhuis_main
from seinhuis.keys_cli import PartnerSpec
from seinhuis.network import Layout, Running
from seinhuis.v1 import node_pb2, signal_pb2, vocabulary_pb2
from seinhuis.vocabulary import PartnerType
from tests.e2e.conftest import Network

pytestmark = pytest.mark.slow

PARTNERS = [
    PartnerSpec("woco-test", PartnerType.WONINGCORPORATIE),
    PartnerSpec("huisarts-test", PartnerType.HUISARTS),
    PartnerSpec("sociaal-test", PartnerType.SOCIAAL_TEAM),
]
TEAM = "Sociaal team Zuid, 0800-4321"
LANDLORD = "Woonstede, team incasso"
PARENT = "999524677"
POSTCODE, HOUSE = "3521ZW", 12


def _registry(layout: Layout, _pseudonym: Running) -> None:
    """The municipality's contact points; the landlord and the social team coordinate."""
    path = layout.hub_dir / "partners.yaml"
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    contacts = {"sociaal-test": TEAM, "woco-test": LANDLORD}
    for p in data["partners"]:
        if p["id"] in contacts:
            p.update(contact_point=contacts[p["id"]], can_coordinate=True, capacity=10)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _send(
    net: Network,
    partner: str,
    ref: str,
    signal_type: vocabulary_pb2.SignalType.ValueType,
    bsn: str | None,
) -> bytes:
    today = dt.date.today()
    subject = node_pb2.LocalSubject(postcode=POSTCODE, house_number=HOUSE)
    if bsn is not None:
        subject.bsn = bsn
        subject.birth_date.CopyFrom(vocabulary_pb2.Date(year=1984, month=5, day=2))
    arrears = None
    if signal_type == vocabulary_pb2.SIGNAL_TYPE_HUURACHTERSTAND:
        arrears = signal_pb2.Arrears(
            amount_cents=150_000,
            months_in_arrears=3,
            contact_attempted=True,
            written_reminder_sent=True,
        )
    request = node_pb2.SubmitSignalRequest(
        partner_reference=ref,
        signal_type=signal_type,
        urgency=vocabulary_pb2.URGENCY_NORMAAL,
        observed_on=vocabulary_pb2.Date(year=today.year, month=today.month, day=today.day),
        subject=subject,
        arrears=arrears,
    )
    signal_id: bytes = net.node_stub(partner).SubmitSignal(request, timeout=30).id
    net.wait_until_delivered(partner, [signal_id])
    return signal_id


def _until(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not reached in time: {what}"
        time.sleep(0.2)


def _seinhuis(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = seinhuis_main(list(argv))
    return code, capsys.readouterr().out


def _inbox(capsys: pytest.CaptureFixture[str], net: Network, partner: str) -> list[dict[str, Any]]:
    """What `seinhuis node inbox` shows the partner (one JSON object per notification)."""
    config = str(net.layout.node_dir(partner) / "node.toml")
    code, out = _seinhuis(capsys, "node", "inbox", "--config", config)
    assert code == 0
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _notices(items: list[dict[str, Any]]) -> list[tuple[str, str, str | None, str | None]]:
    return [
        (i["notice"], i["status"], i.get("regiehouder"), i.get("outcome"))
        for i in items
        if i["kind"] in ("case_notice", "regiehouder_briefing")
    ]


def test_staff_acknowledge_reassign_and_close_a_case_and_partners_hear_of_it(
    network_factory: Callable[..., Network], capsys: pytest.CaptureFixture[str]
) -> None:
    net = network_factory(PARTNERS, before_hub=_registry)
    operator = str(net.layout.write_operator_config("operator", net.hub.port))
    _send(net, "woco-test", "HA-2026-88", vocabulary_pb2.SIGNAL_TYPE_HUURACHTERSTAND, None)
    _send(net, "huisarts-test", "GP-7", vocabulary_pb2.SIGNAL_TYPE_ZORGSIGNAAL_HUISARTS, PARENT)

    def listed() -> list[dict[str, Any]]:
        code, out = _seinhuis(capsys, "operator", "list", "--config", operator, "--json")
        assert code == 0
        found: list[dict[str, Any]] = json.loads(out)
        return found

    _until(lambda: len(listed()) == 1, "one case at the hub")
    [case] = listed()
    ref = case["case"]
    assert (case["status"], case["regiehouder"]) == ("ASSIGNED", "woco-test")

    code, out = _seinhuis(capsys, "operator", "show", ref, "--config", operator)
    assert code == 0
    assert "Regiehouder" in out and LANDLORD in out and "rondkomen" in out
    assert "huisarts" not in out.lower() and "zorgen" not in out

    code, out = _seinhuis(capsys, "operator", "ack", ref, "--config", operator)
    assert code == 0 and "opgepakt" in out
    code, out = _seinhuis(capsys, "operator", "reassign", ref, "sociaal-test", "--config", operator)
    assert code == 0 and "overgedragen aan sociaal-test" in out
    code, out = _seinhuis(capsys, "operator", "close", ref, "geholpen", "--config", operator)
    assert code == 0 and "uitkomst: geholpen" in out
    code, out = _seinhuis(capsys, "operator", "list", "--config", operator)
    assert code == 0 and ref in out and "gesloten" in out and "geholpen" in out

    # Each partner's inbox: the changes as codes, never a reason or the other partners' signals.
    def landlord_heard_all() -> bool:
        return ("CASE_CLOSED", "CLOSED", TEAM, "HELPED") in _notices(
            _inbox(capsys, net, "woco-test")
        )

    _until(landlord_heard_all, "the landlord's inbox shows the closure")
    landlord = _notices(_inbox(capsys, net, "woco-test"))
    assert ("CASE_UPDATED", "ACKNOWLEDGED", LANDLORD, None) in landlord  # its own briefing
    assert ("CASE_UPDATED", "ASSIGNED", TEAM, None) in landlord

    _until(
        lambda: (
            ("CASE_CLOSED", "CLOSED", TEAM, "HELPED")
            in _notices(_inbox(capsys, net, "sociaal-test"))
        ),
        "the social team's inbox shows the closure",
    )
    team = _inbox(capsys, net, "sociaal-test")
    assert ("REGIE_ASSIGNED", "ASSIGNED") in [(n[0], n[1]) for n in _notices(team)]
    texts = " ".join(i.get("text", "") for i in team)
    assert "Woonstede" in texts and "Huisarts" not in texts and "huisarts" not in texts

    _until(
        lambda: (
            ("CASE_CLOSED", "CLOSED", TEAM, "HELPED")
            in _notices(_inbox(capsys, net, "huisarts-test"))
        ),
        "the GP's inbox shows the outcome",
    )

    # The audit chain: through the operator service and straight from the database.
    code, out = _seinhuis(capsys, "operator", "audit", "verify", "--config", operator, "--json")
    assert code == 0
    verified = json.loads(out)
    assert verified["intact"] is True and verified["entries"] >= 6
    hub_config = str(net.layout.hub_dir / "hub.toml")
    code, out = _seinhuis(capsys, "hub", "audit", "verify", "--config", hub_config)
    assert code == 0 and "in orde" in out

    # The procesregisseur never saw this case: it was not escalated.
    regisseur = str(net.layout.write_operator_config("procesregisseur", net.hub.port))
    code, out = _seinhuis(capsys, "operator", "list", "--config", regisseur, "--json")
    assert code == 0 and json.loads(out) == []
    # A partner's certificate does not open the operator service.
    node_dir = net.layout.node_dir("woco-test")
    (node_dir / "operator.toml").write_text(
        f'[operator]\nhub = "127.0.0.1:{net.hub.port}"\n'
        '[operator.tls]\nca_cert = "../../ca/ca.crt"\ncert = "tls.crt"\nkey = "tls.key"\n'
    )
    code = seinhuis_main(["operator", "list", "--config", str(node_dir / "operator.toml")])
    assert code == 2
    assert "geen toegang" in capsys.readouterr().err
