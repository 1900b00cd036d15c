"""Consent end to end over real processes (issue 5): a GP's signal is refused at the node without
consent; the resident grants consent in the portal; the signal reaches the hub and counts in the
household's case; the resident revokes; within 5 seconds the hub no longer counts it and the
case is judged again; the school, the other partner involved, hears only that the case changed.

Every service runs as its own process (seinhuis.network): the pseudonymisation service, the
development login provider, the hub, the consent service with its portal, and three nodes. The
resident uses the portal over HTTPS with an ordinary HTTP client (the browser tests drive
Chromium); partners use their node's local API.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import grpc
import pytest
import requests
import yaml

from hub import config as hub_config
from hub.store import HubStore, open_store
from seinhuis import transport
from seinhuis.keys_cli import PartnerSpec
from seinhuis.network import Launcher, Layout, Running
from seinhuis.v1 import feed_pb2, feed_pb2_grpc, node_pb2, node_pb2_grpc, vocabulary_pb2
from seinhuis.vocabulary import PartnerType

pytestmark = pytest.mark.slow

PARTNERS = [
    PartnerSpec("huisarts-test", PartnerType.HUISARTS),
    PartnerSpec("school-test", PartnerType.SCHOOL),
    PartnerSpec("sociaal-test", PartnerType.SOCIAAL_TEAM),
]
CONTACT = "Sociaal team Oost, 0800-4321"
#: Daan (9), the son of Anna, as the development login provider has them.
DAAN = "999000020"
POSTCODE, HOUSE = "3511AB", 17
#: The issue's promise: a revocation stops a signal counting within this many seconds.
REVOCATION_DEADLINE_S = 5.0


@dataclass
class ConsentNetwork:
    layout: Layout
    launcher: Launcher
    hub: Running
    consent: Running
    oidc: Running
    nodes: dict[str, Running]
    portal_port: int

    @property
    def portal(self) -> str:
        return f"https://127.0.0.1:{self.portal_port}"

    @property
    def ca(self) -> str:
        return str(self.layout.root / "ca" / "ca.crt")

    def node(self, partner_id: str) -> node_pb2_grpc.NodeServiceStub:
        return node_pb2_grpc.NodeServiceStub(grpc.insecure_channel(self.nodes[partner_id].address))

    def hub_store(self) -> HubStore:
        return open_store(hub_config.load(self.layout.hub_dir / "hub.toml").database_url)


def _registry_tweaks(layout: Layout) -> None:
    """The social team coordinates, and residents can reach it at its contact point."""
    path = layout.hub_dir / "partners.yaml"
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    for p in data["partners"]:
        if p["id"] == "sociaal-test":
            p.update(contact_point=CONTACT, can_coordinate=True, capacity=10)
        else:
            p["can_coordinate"] = False
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture
def net(tmp_path: Path) -> Iterator[ConsentNetwork]:
    layout = Layout(tmp_path / "net")
    layout.create(PARTNERS)
    layout.create_consent()
    _registry_tweaks(layout)
    launcher = Launcher(layout)
    try:
        pseudonym = launcher.start(
            "pseudonym", "pseudonym", layout.pseudonym_dir / "pseudonym.toml"
        )
        layout.connect_hub_to_pseudonym(pseudonym.port)
        oidc = launcher.start("dev-oidc", "consent dev-oidc", layout.oidc_dir / "dev-oidc.toml")
        # The hub follows the registry's Watch stream once the registry has written its port.
        layout.connect_hub_to_consent()
        hub = launcher.start("hub", "hub", layout.hub_dir / "hub.toml")
        consent = launcher.start(
            "consent",
            "consent",
            layout.write_consent_config(
                pseudonym_port=pseudonym.port,
                hub_port=hub.port,
                issuer=f"https://127.0.0.1:{oidc.port}",
            ),
        )
        portal_port = layout.read_port(layout.consent_dir / "portal.port")
        nodes = {
            p.id: launcher.start(
                p.id,
                "node",
                layout.write_node_config(
                    p, hub_port=hub.port, pseudonym_port=pseudonym.port, consent_port=consent.port
                ),
            )
            for p in PARTNERS
        }
        yield ConsentNetwork(layout, launcher, hub, consent, oidc, nodes, portal_port)
    finally:
        launcher.stop_all()


def _until(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll until `check` holds; the seconds it took. Fails after `timeout`."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < timeout, f"{what}: not within {timeout:.0f} s"
        time.sleep(0.05)
    return time.monotonic() - start


def _date(d: dt.date) -> vocabulary_pb2.Date:
    return vocabulary_pb2.Date(year=d.year, month=d.month, day=d.day)


def _request(
    reference: str, signal_type: int, bsn: str, birth: dt.date
) -> node_pb2.SubmitSignalRequest:
    return node_pb2.SubmitSignalRequest(
        partner_reference=reference,
        signal_type=signal_type,
        urgency=vocabulary_pb2.URGENCY_NORMAAL,
        observed_on=_date(dt.date.today()),
        subject=node_pb2.LocalSubject(
            bsn=bsn, birth_date=_date(birth), postcode=POSTCODE, house_number=HOUSE
        ),
    )


def _delivered(net: ConsentNetwork, partner: str, signal_id: bytes) -> None:
    stub = net.node(partner)

    def done() -> bool:
        status = stub.GetSignalStatus(node_pb2.GetSignalStatusRequest(id=signal_id), timeout=10)
        assert status.state != node_pb2.DELIVERY_STATE_REFUSED, status.refusal_message
        return bool(status.state == node_pb2.DELIVERY_STATE_DELIVERED)

    _until(done, 60, "delivered to the hub")


class Resident:
    """A resident in the portal: an HTTPS session with cookies, logged in at the dev provider."""

    def __init__(self, net: ConsentNetwork, key: str) -> None:
        self.net = net
        self.http = requests.Session()
        # Our development CA, whatever REQUESTS_CA_BUNDLE says.
        self.http.trust_env = False
        self.http.verify = net.ca
        start = self.http.get(f"{net.portal}/inloggen", allow_redirects=False, timeout=10)
        assert start.status_code == 302, start.text
        location = urlsplit(start.headers["Location"])
        params = dict(parse_qsl(location.query))
        picked = self.http.post(
            f"{location.scheme}://{location.netloc}/authorize",
            data={**params, "inwoner": key},
            allow_redirects=False,
            timeout=10,
        )
        assert picked.status_code == 302, picked.text
        back = self.http.get(picked.headers["Location"], allow_redirects=False, timeout=10)
        assert back.status_code == 303 and back.headers["Location"].endswith("/overzicht")

    def page(self, path: str) -> str:
        answer = self.http.get(f"{self.net.portal}{path}", timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.text

    def submit(self, path: str, form_page: str, data: dict[str, str]) -> str:
        token = re.search(r'name="csrf_token" value="([^"]+)"', self.page(form_page))
        assert token, "no CSRF token on the page"
        answer = self.http.post(
            f"{self.net.portal}{path}",
            data={"csrf_token": token.group(1), **data},
            allow_redirects=False,
            timeout=30,
        )
        assert answer.status_code == 303, answer.text
        return self.page(answer.headers["Location"].removeprefix(self.net.portal))


def _case_notices(net: ConsentNetwork, partner: str) -> list[feed_pb2.CaseNotice]:
    """The case notices in the partner's hub feed, read with the partner's certificate."""
    folder = net.layout.node_dir(partner)
    tls = transport.TlsFiles(Path(net.ca), folder / "tls.crt", folder / "tls.key")
    channel = transport.secure_channel(f"127.0.0.1:{net.hub.port}", tls, server_name="hub")
    found: list[feed_pb2.CaseNotice] = []
    try:
        stream = feed_pb2_grpc.PartnerFeedServiceStub(channel).Subscribe(
            feed_pb2.SubscribeRequest(after_cursor=0), timeout=2
        )
        for response in stream:
            if response.WhichOneof("notification") == "case_notice":
                found.append(response.case_notice)
    except grpc.RpcError as exc:
        assert exc.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    finally:
        channel.close()
    return found


def test_consent_given_in_the_portal_lets_a_gp_signal_count_until_it_is_revoked(
    net: ConsentNetwork,
) -> None:
    # The GP and the school are both concerned about Daan (9): two partners, one child.
    gp_request = _request(
        "HA-2027-1", vocabulary_pb2.SIGNAL_TYPE_ZORGSIGNAAL_HUISARTS, DAAN, dt.date(2017, 6, 3)
    )
    gp = net.node("huisarts-test")

    # 1. Without consent the GP's node refuses the signal itself; nothing is kept or sent.
    with pytest.raises(grpc.RpcError) as refused:
        gp.SubmitSignal(gp_request, timeout=30)
    assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "consent is missing" in (refused.value.details() or "")
    with pytest.raises(grpc.RpcError) as unknown:
        gp.GetSignalStatus(node_pb2.GetSignalStatusRequest(partner_reference="HA-2027-1"))
    assert unknown.value.code() is grpc.StatusCode.NOT_FOUND

    # The school signals about Daan under the Jeugdwet: no consent needed, but his mother is told.
    school_id = (
        net.node("school-test")
        .SubmitSignal(
            _request(
                "SV-2027-9", vocabulary_pb2.SIGNAL_TYPE_SCHOOLVERZUIM, DAAN, dt.date(2017, 6, 3)
            ),
            timeout=30,
        )
        .id
    )
    _delivered(net, "school-test", school_id)

    # 2. Anna logs in to the portal and, as Daan's parent (under 12, parents decide), gives
    # GPs consent to signal about him in the life domain "zorgen".
    anna = Resident(net, "anna")
    granted = anna.submit(
        "/toestemming",
        "/toestemming",
        {
            "persoon": "kind-1",
            "organisatie": "HUISARTS",
            "levensdomein": "ZORGEN",
            "doel": "SIGNALERING",
            "keuze": "PERMIT",
        },
    )
    assert "Uw keuze is vastgelegd." in granted

    # 3. The GP sends again: accepted with the registry's receipt, delivered, and it counts.
    gp_id = gp.SubmitSignal(gp_request, timeout=30).id
    _delivered(net, "huisarts-test", gp_id)
    store = net.hub_store()
    try:
        stored = store.get_signal(gp_id)
        assert stored is not None and stored.received.consent_receipt_id is not None
        assert stored.consent_lost_at is None

        def one_case_with_both() -> bool:
            cases = store.list_cases()
            return len(cases) == 1 and store.case_signal_ids(cases[0].id) == {gp_id, school_id}

        _until(one_case_with_both, 30, "a case of the GP's and the school's signals")
        [case] = store.list_cases()
        assert case.status != "CLOSED" and case.regiehouder == "sociaal-test"

        # Anna sees both signals (by kind of partner only), the case and how to reach its
        # regiehouder; and a message that the school signalled about Daan.
        overview = anna.page("/overzicht")
        assert "Zorgen van de huisarts" in overview and "Vaak afwezig op school" in overview
        assert CONTACT in overview
        assert "huisarts-test" not in overview and "school-test" not in overview
        _until(lambda: "Vaak afwezig op school" in anna.page("/berichten"), 30, "Anna's message")

        # 4. Anna revokes her consent. Within 5 seconds the hub no longer counts the GP's
        # signal (it stays stored) and has judged the case again without it.
        page = anna.page("/toestemming")
        entry = re.search(r'name="keuze_id" value="([0-9a-f]{32})"', page)
        assert entry, "no consent to revoke on the page"
        revoked = anna.submit(
            "/toestemming/intrekken",
            "/toestemming",
            {"persoon": "kind-1", "keuze_id": entry.group(1)},
        )
        assert "De keuze is ingetrokken." in revoked

        def gp_no_longer_counts() -> bool:
            s = store.get_signal(gp_id)
            cases = store.list_cases()
            return (
                s is not None
                and s.consent_lost_at is not None
                and len(cases) == 1
                and gp_id not in store.case_signal_ids(cases[0].id)
            )

        _until(gp_no_longer_counts, REVOCATION_DEADLINE_S, "the revocation at the hub")
        # The school's signal alone is no basis for a case: closed before anyone took it on.
        [after] = store.list_cases()
        assert after.status == "CLOSED" and after.outcome == "UNJUSTIFIED"
        # Anna's overview still lists the GP's signal, marked as no longer counting.
        assert "Telt niet meer mee" in anna.page("/overzicht")
    finally:
        store.close()

    # The school, the other partner involved, learns that the case changed, and nothing of
    # the GP: no GP signal in any notice it ever received.
    def school_heard() -> bool:
        notices = _case_notices(net, "school-test")
        return any(n.status == feed_pb2.CASE_STATUS_CLOSED for n in notices)

    _until(school_heard, 30, "the school's case notice")
    for notice in _case_notices(net, "school-test"):
        assert gp_id not in notice.signal_ids
