"""Faults: SIGKILL of the pseudonymisation service or the consent registry during load (issue 6).

Real processes on loopback with mutual TLS (seinhuis.network). Partners' systems keep
submitting signals through their nodes' local APIs, as a partner's system would: a call the
node answers UNAVAILABLE (its pseudonymisation service or consent registry is away) is tried
again a moment later. Mid-load one service is SIGKILLed, kept down until the nodes have
answered UNAVAILABLE, and started again on its port. The nodes are never restarted: they must
recover by their own retries and back-off. Afterwards every signal a node acknowledged is at the
hub exactly once, nothing else is, and every case is consistent: one open case per household, a
regiehouder for each. (The hub and node kills are in test_exactly_once.py, PostgreSQL's restart
in test_pg_restart.py.)
"""

from __future__ import annotations

import collections
import datetime as dt
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest

from consent.client import ConsentClient
from consent.model import Cell, Decision, GrantRequest, Pseudonym, Purpose, Source
from consent.representation import Actor
from hub import config as hub_config
from hub.store import HubStore, open_store
from node.identifiers import Bsn
from pseudonym.client import PseudonymClient
from seinhuis.keys_cli import PartnerSpec
from seinhuis.network import Launcher, Layout, Running
from seinhuis.transport import TlsFiles
from seinhuis.v1 import node_pb2, node_pb2_grpc, vocabulary_pb2
from seinhuis.vocabulary import IdentifierKind, LifeDomain, PartnerType

pytestmark = pytest.mark.slow

SCHOOL = PartnerSpec("school-fault", PartnerType.SCHOOL)
GP = PartnerSpec("huisarts-fault", PartnerType.HUISARTS)
#: Registered, without a node: the regiehouder when no partner has room (policies/regie.yaml).
TEAM = PartnerSpec("sociaal-fault", PartnerType.SOCIAAL_TEAM)
#: Concurrent callers per node's local API.
CLIENTS = 6
#: A refused call is tried again after this long (the partner system's own retry).
RETRY_S = 0.05
TIMEOUT_S = 120.0
#: A dead service's port refuses connections: nodes answer UNAVAILABLE at once. Calls that
#: must wait for a recovery are not expected to fail otherwise.
RETRIED = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


def _bsns(n: int, start: int) -> list[str]:
    """n synthetic citizen numbers (999..., elfproef) from a starting counter."""
    found: list[str] = []
    candidate = start
    while len(found) < n:
        digits = f"999{candidate:05d}"
        candidate += 1
        check = sum(int(d) * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if check < 10:
            found.append(digits + str(check))
    return found


def _date(d: dt.date) -> vocabulary_pb2.Date:
    return vocabulary_pb2.Date(year=d.year, month=d.month, day=d.day)


def _subject(bsn: str, born: dt.date, household: int) -> node_pb2.LocalSubject:
    return node_pb2.LocalSubject(
        bsn=bsn, birth_date=_date(born), postcode=f"{3700 + household:04d}AB", house_number=3
    )


def _absence(bsn: str, household: int, *, urgent: bool) -> node_pb2.SubmitSignalRequest:
    """A pupil's SCHOOLVERZUIM (statute-based: no consent involved)."""
    return node_pb2.SubmitSignalRequest(
        signal_type=vocabulary_pb2.SIGNAL_TYPE_SCHOOLVERZUIM,
        urgency=vocabulary_pb2.URGENCY_HOOG if urgent else vocabulary_pb2.URGENCY_NORMAAL,
        subject=_subject(bsn, dt.date(2014, 3, 1 + household % 28), household),
    )


def _gp_concern(bsn: str, household: int) -> node_pb2.SubmitSignalRequest:
    """A GP's ZORGSIGNAAL_HUISARTS about an adult (consent-based)."""
    return node_pb2.SubmitSignalRequest(
        signal_type=vocabulary_pb2.SIGNAL_TYPE_ZORGSIGNAAL_HUISARTS,
        urgency=vocabulary_pb2.URGENCY_NORMAAL,
        subject=_subject(bsn, dt.date(1980, 6, 1 + household % 28), household),
    )


# --- the network ------------------------------------------------------------------------------


@dataclass
class Net:
    layout: Layout
    launcher: Launcher
    runs: dict[str, Running]
    stores: list[HubStore] = field(default_factory=list)

    def hub_store(self) -> HubStore:
        store = open_store(hub_config.load(self.layout.hub_dir / "hub.toml").database_url)
        self.stores.append(store)
        return store

    def node(self, partner: PartnerSpec) -> Running:
        return self.runs[partner.id]

    def portal_tls(self) -> TlsFiles:
        folder = self.layout.consent_dir / "portal"
        return TlsFiles(self.layout.root / "ca" / "ca.crt", folder / "tls.crt", folder / "tls.key")

    def restart(self, name: str) -> Running:
        self.runs[name] = self.launcher.restart(self.runs[name])
        return self.runs[name]


def _start(root: Path, *, consent: bool) -> Net:
    """The pseudonymisation service, the hub, a school's node; with consent: the registry
    (followed by the hub) and a GP's node that checks consent for every signal."""
    partners = [SCHOOL, TEAM, *([GP] if consent else [])]
    layout = Layout(root)
    layout.create(partners)
    if consent:
        layout.create_consent(sweep_interval_s=0.5)
    launcher = Launcher(layout)
    runs: dict[str, Running] = {}
    try:
        runs["pseudonym"] = launcher.start(
            "pseudonym", "pseudonym", layout.pseudonym_dir / "pseudonym.toml"
        )
        layout.connect_hub_to_pseudonym(runs["pseudonym"].port)
        runs["hub"] = launcher.start("hub", "hub", layout.hub_dir / "hub.toml")
        consent_port = None
        if consent:
            config = layout.write_consent_config(
                pseudonym_port=runs["pseudonym"].port,
                hub_port=runs["hub"].port,
                # No resident logs in: the login provider is never asked.
                issuer="https://127.0.0.1:9",
            )
            runs["consent"] = launcher.start("consent", "consent", config)
            consent_port = runs["consent"].port
            # The hub follows the registry's Watch stream (same hub port after the restart).
            layout.connect_hub_to_consent(consent_port)
            runs["hub"] = launcher.restart(runs["hub"])
        for p in partners:
            if p is TEAM:
                continue
            node_config = layout.write_node_config(
                p,
                hub_port=runs["hub"].port,
                pseudonym_port=runs["pseudonym"].port,
                batch_size=50,
                consent_port=consent_port if p is GP else None,
            )
            runs[p.id] = launcher.start(p.id, "node", node_config)
    except BaseException:
        launcher.stop_all()
        raise
    return Net(layout, launcher, runs)


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Net]]:
    made: list[Net] = []

    def make(*, consent: bool) -> Net:
        net = _start(tmp_path / "net", consent=consent)
        made.append(net)
        return net

    yield make
    for net in made:
        for store in net.stores:
            store.close()
        net.launcher.stop_all()


# --- load -------------------------------------------------------------------------------------


class Load:
    """Submits requests to a node's local API from CLIENTS threads, each request until the node
    acknowledges it (UNAVAILABLE is tried again); records what was acknowledged and refused."""

    def __init__(self, node: Running, requests: Sequence[node_pb2.SubmitSignalRequest]) -> None:
        self.requests = list(requests)
        self.acknowledged: list[bytes] = []
        self.failures: collections.Counter[grpc.StatusCode] = collections.Counter()
        self.refused: list[grpc.StatusCode] = []
        self.acked_since_mark = 0
        self._lock = threading.Lock()
        self._next = 0
        self._stop = threading.Event()
        self._channel = grpc.insecure_channel(node.address)
        self._stub = node_pb2_grpc.NodeServiceStub(self._channel)
        self._pool = ThreadPoolExecutor(CLIENTS)
        self._futures = [self._pool.submit(self._client) for _ in range(CLIENTS)]

    def _take(self) -> node_pb2.SubmitSignalRequest | None:
        with self._lock:
            if self._next >= len(self.requests) or self._stop.is_set():
                return None
            self._next += 1
            return self.requests[self._next - 1]

    def _client(self) -> None:
        while (request := self._take()) is not None:
            while not self._stop.is_set():
                try:
                    answer = self._stub.SubmitSignal(request, timeout=30)
                except grpc.RpcError as exc:
                    with self._lock:
                        self.failures[exc.code()] += 1
                    if exc.code() not in RETRIED:
                        with self._lock:
                            self.refused.append(exc.code())
                        break
                    time.sleep(RETRY_S)
                    continue
                with self._lock:
                    self.acknowledged.append(bytes(answer.id))
                    self.acked_since_mark += 1
                break

    def acked(self) -> int:
        with self._lock:
            return len(self.acknowledged)

    def unavailable(self) -> int:
        with self._lock:
            return self.failures[grpc.StatusCode.UNAVAILABLE]

    def mark(self) -> None:
        """Count acknowledgements from now on (after a restart)."""
        with self._lock:
            self.acked_since_mark = 0

    def since_mark(self) -> int:
        with self._lock:
            return self.acked_since_mark

    def finish(self, timeout: float = TIMEOUT_S) -> list[bytes]:
        """Wait until every request was acknowledged; the acknowledged ids."""
        try:
            _wait_for("the load to finish", lambda: all(f.done() for f in self._futures), timeout)
        finally:
            self._stop.set()
            self._pool.shutdown(wait=True)
            self._channel.close()
        for future in self._futures:
            future.result()
        assert not self.refused, f"refused beyond unavailability: {self.refused}"
        assert len(set(self.acknowledged)) == len(self.acknowledged) == len(self.requests)
        return list(self.acknowledged)


def _wait_for(what: str, condition: Callable[[], bool], timeout: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


# --- what must hold afterwards ------------------------------------------------------------------


def _outbox(net: Net, partner: PartnerSpec) -> dict[bytes, str]:
    path = net.layout.node_dir(partner.id) / "node.db"
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return {bytes(i): str(s) for i, s in conn.execute("SELECT id, state FROM outbox")}
    finally:
        conn.close()


def _assert_exactly_once(net: Net, store: HubStore, acknowledged: dict[str, list[bytes]]) -> None:
    """Each node delivered exactly what it acknowledged; the hub holds each once, and no more."""
    for partner_id, ids in acknowledged.items():
        partner = next(p for p in (SCHOOL, GP) if p.id == partner_id)
        _wait_for(
            f"{partner_id}'s outbox to drain",
            lambda p=partner: "PENDING" not in _outbox(net, p).values(),  # type: ignore[misc]
        )
        outbox = _outbox(net, partner)
        assert set(outbox) == set(ids), "the outbox holds exactly what the node acknowledged"
        assert set(outbox.values()) == {"DELIVERED"}
    stored = [s.received.id for s in store.list_signals()]
    assert len(stored) == len(set(stored)), "a signal is stored twice"
    everything = [i for ids in acknowledged.values() for i in ids]
    assert sorted(stored) == sorted(everything), "the hub holds exactly the acknowledged signals"
    with grpc.insecure_channel(net.node(SCHOOL).address) as channel:
        stub = node_pb2_grpc.NodeServiceStub(channel)
        for i in acknowledged[SCHOOL.id][:20]:
            status = stub.GetSignalStatus(node_pb2.GetSignalStatusRequest(id=i), timeout=30)
            assert status.state == node_pb2.DELIVERY_STATE_DELIVERED


def _open_cases(store: HubStore) -> dict[bytes, list[tuple[str, str | None]]]:
    """Per household: its open cases (reference, regiehouder)."""
    out: dict[bytes, list[tuple[str, str | None]]] = collections.defaultdict(list)
    for summary in store.list_cases():
        case = store.get_case(summary.id)
        assert case is not None
        if case.is_open:
            out[case.household].append((case.id, case.regiehouder))
    return out


def _assert_cases_consistent(store: HubStore, households: int) -> None:
    """Once the judge has caught up: one open case per household, each with a regiehouder."""
    _wait_for("a case for every household", lambda: len(_open_cases(store)) >= households)
    _wait_for("the judge to finish its queue", lambda: not store.pending_judgements(1))
    cases = _open_cases(store)
    assert len(cases) == households
    for household, found in cases.items():
        assert len(found) == 1, f"household {household.hex()[:8]} has {len(found)} open cases"
        ((ref, regiehouder),) = found
        assert regiehouder, f"case {ref} has no regiehouder"


# --- the tests ----------------------------------------------------------------------------------


def test_pseudonym_service_killed_during_load(start: Callable[..., Net]) -> None:
    """The pseudonymisation service is SIGKILLed while a school's node pseudonymises new pupils.

    While it is down the node answers UNAVAILABLE and stores nothing; once it is back on its
    port the same node process pseudonymises again. Every acknowledged signal reaches the hub
    exactly once; every urgent pupil's household has one case with a regiehouder.
    """
    net = start(consent=False)
    pupils = _bsns(160, start=0)
    urgent = set(range(0, len(pupils), 20))  # 8 urgent pupils: 8 households with a case
    # Each pupil twice, the second round after the first: new pupils need the service.
    requests = [_absence(b, i, urgent=i in urgent) for _ in range(2) for i, b in enumerate(pupils)]
    load = Load(net.node(SCHOOL), requests)
    _wait_for("the first acknowledgements", lambda: load.acked() >= 60)
    net.runs["pseudonym"].kill()
    at_kill = load.acked()
    _wait_for("the node to answer UNAVAILABLE", lambda: load.unavailable() >= CLIENTS)
    assert load.acked() < len(requests), "the kill must land during the load"
    load.mark()
    net.restart("pseudonym")
    acknowledged = load.finish()
    assert load.since_mark() > 0 and at_kill < len(requests)
    store = net.hub_store()
    _assert_exactly_once(net, store, {SCHOOL.id: acknowledged})
    _assert_cases_consistent(store, len(urgent))
    assert net.runs["hub"].alive() and net.node(SCHOOL).alive()


def test_consent_service_killed_during_load(start: Callable[..., Net]) -> None:
    """The consent registry is SIGKILLed while a GP's node checks consent for every signal.

    While it is down the GP's node answers UNAVAILABLE and stores nothing, and the school's
    statute-based signals keep flowing. Back on its port (its database kept every consent),
    the same GP node gets receipts again and the hub's Watch on the registry resumes: a consent
    revoked afterwards stops the resident's signals counting at the hub. Every acknowledged
    signal is at the hub exactly once; each household has one case with a regiehouder.
    """
    net = start(consent=True)
    households = 30
    adults, pupils = _bsns(households, start=0), _bsns(households, start=500)
    with PseudonymClient(
        net.runs["pseudonym"].address, net.portal_tls(), server_name="pseudonym"
    ) as client:
        version, values = client.pseudonymize(
            IdentifierKind.PERSON, [Bsn(b).oprf_input for b in adults]
        )
    people = [Pseudonym(v, version) for v in values]
    consent_target = net.runs["consent"].address
    with ConsentClient(consent_target, net.portal_tls(), server_name="consent") as registry:
        entries = [
            registry.grant(
                Actor(who, 40),
                GrantRequest(
                    Cell(
                        who,
                        Source.category(PartnerType.HUISARTS),
                        LifeDomain.ZORGEN,
                        Purpose.SIGNALERING,
                    ),
                    Decision.PERMIT,
                ),
            )
            for who in people
        ]
    # Each household: the GP's concern about the parent and the school's about the child.
    gp_load = Load(
        net.node(GP), [_gp_concern(b, i) for _ in range(3) for i, b in enumerate(adults)]
    )
    absences = [_absence(b, i, urgent=False) for _ in range(3) for i, b in enumerate(pupils)]
    school_before = Load(net.node(SCHOOL), absences[: 2 * households])
    _wait_for("the first receipts", lambda: gp_load.acked() >= 20)
    net.runs["consent"].kill()
    _wait_for("the GP's node to answer UNAVAILABLE", lambda: gp_load.unavailable() >= CLIENTS)
    assert gp_load.acked() < len(gp_load.requests), "the kill must land during the load"
    # Sent while the registry is down: every one is acknowledged before it is back.
    school_during = Load(net.node(SCHOOL), absences[2 * households :])
    school_ids = school_during.finish()
    assert not net.runs["consent"].alive(), "the registry came back too soon"
    gp_load.mark()
    net.restart("consent")
    acknowledged = {GP.id: gp_load.finish(), SCHOOL.id: school_before.finish() + school_ids}
    assert gp_load.since_mark() > 0
    store = net.hub_store()
    _assert_exactly_once(net, store, acknowledged)
    _assert_cases_consistent(store, households)

    # The hub follows the restarted registry: revoking one parent's consent ends the counting
    # of the GP's signals about them.
    with ConsentClient(consent_target, net.portal_tls(), server_name="consent") as registry:
        registry.revoke(Actor(people[0], 40), entries[0].id)
    theirs = [
        s.received.id
        for s in store.list_signals()
        if s.received.partner_id == GP.id and s.received.signal.person_pseudonym == people[0].value
    ]
    assert len(theirs) == 3

    def lost() -> bool:
        return all(
            (found := store.get_signal(i)) is not None and found.consent_lost_at is not None
            for i in theirs
        )

    _wait_for("the hub to stop counting the revoked consent", lost, timeout=60)
    assert all(run.alive() for run in net.runs.values())
