"""Cases over real processes: signals from four partners on one household become one case with
one regiehouder; every involved partner hears of it; the GP stays hidden; withdrawal erases."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import grpc
import pytest
import yaml

from hub.store import HubStore
from seinhuis import transport
from seinhuis.keys_cli import PartnerSpec
from seinhuis.network import Layout, Running
from seinhuis.v1 import feed_pb2, feed_pb2_grpc, node_pb2, signal_pb2, vocabulary_pb2
from seinhuis.vocabulary import PartnerType
from tests.e2e.conftest import Network

pytestmark = pytest.mark.slow

PARTNERS = [
    PartnerSpec("school-test", PartnerType.SCHOOL),
    PartnerSpec("huisarts-test", PartnerType.HUISARTS),
    PartnerSpec("woco-test", PartnerType.WONINGCORPORATIE),
    PartnerSpec("ggd-test", PartnerType.GGD),
    PartnerSpec("sociaal-test", PartnerType.SOCIAAL_TEAM),
]
CONTACT = "Sociaal team Noord, 0800-1234"
CHILDREN = ["999473815", "999861232"]
PARENT = "999524677"
POSTCODE, HOUSE = "3521ZW", 4711


def _date(d: dt.date) -> vocabulary_pb2.Date:
    return vocabulary_pb2.Date(year=d.year, month=d.month, day=d.day)


def _subject(bsn: str | None) -> node_pb2.LocalSubject:
    if bsn is None:
        return node_pb2.LocalSubject(postcode=POSTCODE, house_number=HOUSE)
    return node_pb2.LocalSubject(
        bsn=bsn,
        birth_date=_date(dt.date(2013, 8, 19)),
        postcode=POSTCODE,
        house_number=HOUSE,
    )


def _send(net: Network, partner: str, ref: str, signal_type: int, bsn: str | None) -> bytes:
    arrears = (
        signal_pb2.Arrears(
            amount_cents=120000,
            months_in_arrears=2,
            contact_attempted=True,
            written_reminder_sent=True,
        )
        if signal_type == vocabulary_pb2.SIGNAL_TYPE_HUURACHTERSTAND
        else None
    )
    request = node_pb2.SubmitSignalRequest(
        partner_reference=ref,
        signal_type=signal_type,
        urgency=vocabulary_pb2.URGENCY_NORMAAL,
        observed_on=_date(dt.date.today()),
        subject=_subject(bsn),
        arrears=arrears,
    )
    signal_id: bytes = net.node_stub(partner).SubmitSignal(request, timeout=30).id
    net.wait_until_delivered(partner, [signal_id])
    return signal_id


def _registry_tweaks(layout: Layout, _pseudonym: Running) -> None:
    """The municipality's settings: the social team's contact point; only the social team
    coordinates in this municipality."""
    path = layout.hub_dir / "partners.yaml"
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    for p in data["partners"]:
        if p["id"] == "sociaal-test":
            p["contact_point"] = CONTACT
        else:
            p["can_coordinate"] = False
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _feed(net: Network, partner: str) -> list[feed_pb2.SubscribeResponse]:
    """Everything in the partner's hub feed so far, read with the partner's own certificate."""
    folder = net.layout.node_dir(partner)
    tls = transport.TlsFiles(
        net.layout.root / "ca" / "ca.crt", folder / "tls.crt", folder / "tls.key"
    )
    channel = transport.secure_channel(f"127.0.0.1:{net.hub.port}", tls, server_name="hub")
    out: list[feed_pb2.SubscribeResponse] = []
    try:
        stream = feed_pb2_grpc.PartnerFeedServiceStub(channel).Subscribe(
            feed_pb2.SubscribeRequest(after_cursor=0), timeout=2
        )
        for response in stream:
            out.append(response)
    except grpc.RpcError as exc:
        assert exc.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    finally:
        channel.close()
    return out


def _case_msgs(
    responses: list[feed_pb2.SubscribeResponse],
) -> list[feed_pb2.CaseNotice | feed_pb2.RegiehouderBriefing]:
    out: list[feed_pb2.CaseNotice | feed_pb2.RegiehouderBriefing] = []
    for r in responses:
        which = r.WhichOneof("notification")
        if which in ("case_notice", "regiehouder_briefing"):
            out.append(getattr(r, which))
    return out


def _until(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.2)


def _one_case(store: HubStore) -> bool:
    return len(store.list_cases()) == 1 and store.list_cases()[0].regiehouder is not None


def test_one_household_four_partners_one_case(network_factory: Callable[..., Network]) -> None:
    net = network_factory(PARTNERS, before_hub=_registry_tweaks)
    school1 = _send(
        net, "school-test", "SV-1", vocabulary_pb2.SIGNAL_TYPE_SCHOOLVERZUIM, CHILDREN[0]
    )
    school2 = _send(
        net, "school-test", "SV-2", vocabulary_pb2.SIGNAL_TYPE_SCHOOLVERZUIM, CHILDREN[1]
    )
    gp = _send(
        net, "huisarts-test", "HA-1", vocabulary_pb2.SIGNAL_TYPE_ZORGSIGNAAL_HUISARTS, PARENT
    )
    woco = _send(net, "woco-test", "LL-2026-0412", vocabulary_pb2.SIGNAL_TYPE_HUURACHTERSTAND, None)
    store = net.hub_store()
    try:
        _until(
            lambda: _one_case(store) and len(store.case_signal_ids(store.list_cases()[0].id)) == 4
        )
        [summary] = store.list_cases()
        assert summary.regiehouder == "sociaal-test"
        assert summary.deadline is not None
        case_id = summary.id

        own = {"school-test": {school1, school2}, "huisarts-test": {gp}, "woco-test": {woco}}
        for partner, ids in own.items():
            msgs = [m for m in _case_msgs(_feed(net, partner)) if m.case_id == case_id]
            assert msgs, partner
            last = msgs[-1]
            assert set(last.signal_ids) == ids
            assert last.regiehouder_contact_point == CONTACT
            assert (last.deadline.year, last.deadline.month, last.deadline.day) == (
                summary.deadline.year,
                summary.deadline.month,
                summary.deadline.day,
            )
        briefings = [
            m
            for m in _case_msgs(_feed(net, "sociaal-test"))
            if isinstance(m, feed_pb2.RegiehouderBriefing)
        ]
        assert briefings and briefings[-1].case_id == case_id
        involved_types = {i.partner_type for b in briefings for i in b.involved}
        assert vocabulary_pb2.PARTNER_TYPE_SCHOOL in involved_types
        assert vocabulary_pb2.PARTNER_TYPE_WONINGCORPORATIE in involved_types
        # The GP is never revealed: not in any briefing, to nobody else.
        for partner in ("school-test", "woco-test", "sociaal-test", "ggd-test"):
            for m in _case_msgs(_feed(net, partner)):
                assert gp not in m.signal_ids
                if isinstance(m, feed_pb2.RegiehouderBriefing):
                    assert all(
                        i.partner_type != vocabulary_pb2.PARTNER_TYPE_HUISARTS for i in m.involved
                    )
        # The ggd is not involved and heard nothing.
        assert _case_msgs(_feed(net, "ggd-test")) == []

        # A new signal joins: the regiehouder is kept.
        ggd = _send(net, "ggd-test", "GGD-1", vocabulary_pb2.SIGNAL_TYPE_ZORGWEKKEND_GEDRAG, PARENT)
        _until(lambda: ggd in store.case_signal_ids(case_id))
        assert [c.regiehouder for c in store.list_cases()] == ["sociaal-test"]

        # The landlord withdraws its signal as unjustified: erased at the hub, case re-judged.
        net.node_stub("woco-test").WithdrawSignal(
            node_pb2.WithdrawSignalRequest(
                partner_reference="LL-2026-0412", reason=vocabulary_pb2.WITHDRAW_REASON_UNJUSTIFIED
            ),
            timeout=30,
        )
        _until(lambda: woco not in store.case_signal_ids(case_id))
        assert store.get_signal(woco) is None
        assert woco not in {s.received.id for s in store.list_signals()}
        # The node's inbox received the case notices (their cursors and kinds).
        inbox = _node_inbox_kinds(net, "woco-test")
        assert "case_notice" in inbox and "signal_withdrawn" in inbox
    finally:
        store.close()


def _node_inbox_kinds(net: Network, partner: str) -> set[str]:
    import sqlite3

    deadline = time.monotonic() + 30
    kinds: set[str] = set()
    while time.monotonic() < deadline:
        conn = sqlite3.connect(net.layout.node_dir(partner) / "node.db")
        try:
            kinds = {r[0] for r in conn.execute("SELECT kind FROM inbox")}
        finally:
            conn.close()
        if {"case_notice", "signal_withdrawn"} <= kinds:
            break
        time.sleep(0.2)
    return kinds
