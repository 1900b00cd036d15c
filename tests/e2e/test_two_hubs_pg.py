"""Two hub processes on one PostgreSQL database, partners spreading their calls over both.

Four partner nodes, each pointed at both hubs (gRPC round robin over the two addresses, the
hub's certificate checked on each), send signals about the same households at the same time,
in three waves. Afterwards every signal the nodes accepted is stored exactly once, every
household has one case with one regiehouder holding all its signals, both hubs took part in
the intake, and the partners' feeds hold the same case notices whichever hub serves them,
including notices written by the other hub's judge.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml

from hub.store import SqlHubStore
from node.wiring import hub_channel_target
from seinhuis import transport
from seinhuis.keys_cli import PartnerSpec
from seinhuis.network import Layout
from seinhuis.v1 import feed_pb2, feed_pb2_grpc, node_pb2, signal_pb2, vocabulary_pb2
from seinhuis.vocabulary import PartnerType, WithdrawReason
from tests.e2e.pg_network import PgNetwork, running, start_network, synthetic_bsns
from tests.hub.builders import NOW, received_signal

pytestmark = pytest.mark.slow

SCHOOL = PartnerSpec("school-test", PartnerType.SCHOOL)
GP = PartnerSpec("huisarts-test", PartnerType.HUISARTS)
WOCO = PartnerSpec("woco-test", PartnerType.WONINGCORPORATIE)
SOCIAL = PartnerSpec("sociaal-test", PartnerType.SOCIAAL_TEAM)
PARTNERS = [SCHOOL, GP, WOCO, SOCIAL]
HOUSEHOLDS = 9
WAVES = 3
TIMEOUT_S = 180.0


def _date(d: dt.date) -> vocabulary_pb2.Date:
    return vocabulary_pb2.Date(year=d.year, month=d.month, day=d.day)


def _requests(household: int, bsns: list[str]) -> list[tuple[str, node_pb2.SubmitSignalRequest]]:
    """One household's four signals: truancy of two children (school), a GP's concern about a
    parent, rent arrears at the address; each partner sends from its own node."""
    child1, child2, parent = bsns[3 * household : 3 * household + 3]
    postcode, house = f"{3500 + household:04d}AB", 10 + household

    def subject(bsn: str | None, born: dt.date = dt.date(1985, 3, 1)) -> node_pb2.LocalSubject:
        if bsn is None:
            return node_pb2.LocalSubject(postcode=postcode, house_number=house)
        return node_pb2.LocalSubject(
            bsn=bsn, birth_date=_date(born), postcode=postcode, house_number=house
        )

    def signal(
        kind: vocabulary_pb2.SignalType.ValueType, who: node_pb2.LocalSubject, ref: str
    ) -> node_pb2.SubmitSignalRequest:
        arrears = (
            signal_pb2.Arrears(
                amount_cents=120000,
                months_in_arrears=2,
                contact_attempted=True,
                written_reminder_sent=True,
            )
            if kind == vocabulary_pb2.SIGNAL_TYPE_HUURACHTERSTAND
            else None
        )
        return node_pb2.SubmitSignalRequest(
            partner_reference=ref,
            signal_type=kind,
            urgency=vocabulary_pb2.URGENCY_NORMAAL,
            observed_on=_date(dt.date.today()),
            subject=who,
            arrears=arrears,
        )

    school_days = vocabulary_pb2.SIGNAL_TYPE_SCHOOLVERZUIM
    return [
        (
            SCHOOL.id,
            signal(school_days, subject(child1, dt.date(2013, 8, 19)), f"SV-{household}-1"),
        ),
        (SCHOOL.id, signal(school_days, subject(child2, dt.date(2015, 2, 3)), f"SV-{household}-2")),
        (
            GP.id,
            signal(
                vocabulary_pb2.SIGNAL_TYPE_ZORGSIGNAAL_HUISARTS, subject(parent), f"HA-{household}"
            ),
        ),
        (
            WOCO.id,
            signal(vocabulary_pb2.SIGNAL_TYPE_HUURACHTERSTAND, subject(None), f"LL-{household}"),
        ),
    ]


def _only_the_social_team_coordinates(layout: Layout) -> None:
    path = layout.hub_dir / "partners.yaml"
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    for p in data["partners"]:
        if p["id"] != SOCIAL.id:
            p["can_coordinate"] = False
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture
def net(tmp_path: Path, postgres_url: str) -> Iterator[PgNetwork]:
    yield from running(
        start_network(
            tmp_path / "net",
            postgres_url,
            PARTNERS,
            hubs=2,
            before_hub=_only_the_social_team_coordinates,
        )
    )


class _Follower:
    """A live feed subscription on one hub process, collecting the case ids it hears of."""

    def __init__(self, net: PgNetwork, hub_index: int, partner_id: str) -> None:
        self.case_ids: set[bytes] = set()
        self.cursors: list[int] = []
        self._channel = net.feed_channel(net.hubs[hub_index], partner_id)
        self._call = feed_pb2_grpc.PartnerFeedServiceStub(self._channel).Subscribe(
            feed_pb2.SubscribeRequest(after_cursor=0), timeout=TIMEOUT_S
        )
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for response in self._call:
                self.cursors.append(response.cursor)
                which = response.WhichOneof("notification")
                if which in ("case_notice", "regiehouder_briefing"):
                    self.case_ids.add(bytes(getattr(response, which).case_id))
        except grpc.RpcError:
            pass  # cancelled at the end, or the deadline

    def close(self) -> None:
        self._call.cancel()
        self._thread.join(10)
        self._channel.close()


def test_two_hubs_on_one_postgres_give_one_case_per_household(net: PgNetwork) -> None:
    bsns = synthetic_bsns(3 * HOUSEHOLDS)
    # The regiehouder's live feed on the second hub, open before anything arrives.
    follower = _Follower(net, 1, SOCIAL.id)
    store = net.hub_store()
    accepted: dict[str, list[bytes]] = {p.id: [] for p in PARTNERS}
    stubs = {p.id: net.node_stub(p.id) for p in PARTNERS}
    try:
        for wave in range(WAVES):
            batch = [
                r
                for household in range(wave, HOUSEHOLDS, WAVES)
                for r in _requests(household, bsns)
            ]
            with ThreadPoolExecutor(len(batch)) as pool:
                answers = list(
                    pool.map(lambda r: (r[0], stubs[r[0]].SubmitSignal(r[1], timeout=60)), batch)
                )
            for partner_id, answer in answers:
                accepted[partner_id].append(bytes(answer.id))
            for partner_id, ids in accepted.items():
                net.wait_until_delivered(partner_id, ids, timeout=TIMEOUT_S)

        every_id = [i for ids in accepted.values() for i in ids]
        assert len(every_id) == len(set(every_id)) == 4 * HOUSEHOLDS

        # Every accepted signal stored exactly once.
        for partner_id, ids in accepted.items():
            states = net.outbox(partner_id)
            assert all(states[i] == "DELIVERED" for i in ids), partner_id
        stored = [s.received.id for s in store.list_signals()]
        assert sorted(stored) == sorted(every_id), "a signal is missing or stored twice"

        # One case per household, one regiehouder, all four signals in it.
        def settled() -> bool:
            cases = store.list_cases()
            return len(cases) >= HOUSEHOLDS and all(
                len(store.case_signal_ids(c.id)) == 4 and c.regiehouder for c in cases
            )

        _until(settled, "every household's case to hold its four signals")
        cases = store.list_cases()
        assert len(cases) == HOUSEHOLDS
        households = set()
        for summary in cases:
            case = store.get_case(summary.id)
            assert case is not None
            households.add(case.household)
            assert summary.regiehouder == SOCIAL.id
        assert len(households) == HOUSEHOLDS, "a household has two cases"
        in_cases = set().union(*(store.case_signal_ids(c.id) for c in cases))
        assert in_cases == set(every_id)

        # Both hub processes took part in the intake.
        for hub in net.hubs:
            stored_here = net.hub_log_events(hub, "hub.batch_stored")
            assert sum(int(str(e["stored"])) for e in stored_here) > 0, hub.name

        # The feeds: the same notices from either hub; the live subscription on the second
        # hub heard of every case, whichever hub's judge wrote it.
        case_ids = {c.id for c in cases}
        _until(lambda: case_ids <= follower.case_ids, "the live feed to hear of every case")
        for partner in (SCHOOL, WOCO, SOCIAL):
            first, second = (net.feed(hub, partner.id) for hub in net.hubs)
            assert first == second, partner.id
            heard = {r.case_notice.case_id for r in first if r.HasField("case_notice")} | {
                r.regiehouder_briefing.case_id for r in first if r.HasField("regiehouder_briefing")
            }
            assert heard == case_ids, partner.id
        assert follower.cursors == sorted(set(follower.cursors)), "a notice came twice"

        # The balanced channel still checks each hub's certificate against the server name.
        _assert_balanced_channel_checks_the_name(net)
    finally:
        follower.close()
        store.close()


def _until(condition: Any, what: str, timeout: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _assert_balanced_channel_checks_the_name(net: PgNetwork) -> None:
    target, options = hub_channel_target([h.address for h in net.hubs])
    assert target.startswith("ipv4:") and ("grpc.lb_policy_name", "round_robin") in options
    folder = net.layout.node_dir(SCHOOL.id)
    tls = transport.TlsFiles(
        net.layout.root / "ca" / "ca.crt", folder / "tls.crt", folder / "tls.key"
    )
    for name, works in (("hub", True), ("not-the-hub", False)):
        with transport.secure_channel(target, tls, server_name=name, options=options) as channel:
            call = feed_pb2_grpc.PartnerFeedServiceStub(channel).Subscribe(
                feed_pb2.SubscribeRequest(after_cursor=0), timeout=60
            )
            try:
                first = next(iter(call))
                code = grpc.StatusCode.OK
            except grpc.RpcError as exc:
                code = exc.code()
            finally:
                call.cancel()
            if works:
                assert code is grpc.StatusCode.OK and first.cursor == 1, name
            else:
                assert code is grpc.StatusCode.UNAVAILABLE, name


def test_a_feed_waiter_wakes_when_another_process_appends(postgres_url: str) -> None:
    """Two stores on one database, as two hub processes have: a partner's feed waiter on one
    wakes as soon as the other commits a notification (LISTEN/NOTIFY), long before its
    timeout and its next poll."""
    writer, reader = SqlHubStore(postgres_url), SqlHubStore(postgres_url)
    try:
        item = received_signal()
        writer.add_batch([item])
        reader.wait_for_notifications(item.partner_id, 0, timeout=0.01)  # listening from now
        timer = threading.Timer(
            0.2, writer.withdraw, (item.partner_id, item.id, WithdrawReason.RESOLVED, NOW)
        )
        started = time.monotonic()
        timer.start()
        found = reader.wait_for_notifications(item.partner_id, 0, timeout=60)
        timer.join()
        assert [n.ref_id for n in found] == [item.id]
        assert time.monotonic() - started < 30, "woken by the timeout, not by the notification"
    finally:
        writer.close()
        reader.close()
