"""The registry over real gRPC with mTLS: checks with receipts, who may call what, Watch."""

from __future__ import annotations

import datetime as dt
import io
import queue
import threading
import time
from collections.abc import Callable

import grpc
import pytest
import structlog
from grpc_health.v1 import health_pb2, health_pb2_grpc

from consent.client import ChangeStream, CheckAnswer
from consent.model import ChangeKind, ChangeNotice, Decision, EntryState, Purpose
from consent.receipts import ReceiptVerifier
from consent.representation import Actor
from seinhuis import logs
from seinhuis.errors import InvalidArgument, PermissionDenied
from seinhuis.transport import TlsFiles, secure_channel
from seinhuis.v1 import consent_pb2, consent_pb2_grpc
from seinhuis.vocabulary import LifeDomain, PartnerType
from tests.consent.conftest import ADULT, Running, grant_request

RESIDENT = Actor(ADULT, 40)
GP_ID = "huisarts-dewit"


def check_gp(running: Running, caller: str = GP_ID, partner_id: str = GP_ID) -> CheckAnswer:
    return running.connect(caller).check(
        ADULT, partner_id, PartnerType.HUISARTS, LifeDomain.ZORGEN, Purpose.SIGNALERING
    )


def collect(stream: ChangeStream) -> queue.Queue[ChangeNotice | BaseException]:
    """Read a Watch stream on a thread, handing each notice (or the error) to a queue."""
    out: queue.Queue[ChangeNotice | BaseException] = queue.Queue()

    def run() -> None:
        try:
            for notice in stream:
                out.put(notice)
        except BaseException as exc:  # handed to the test, which raises it
            out.put(exc)

    threading.Thread(target=run, daemon=True).start()
    return out


def next_notice(notices: queue.Queue[ChangeNotice | BaseException], timeout: float) -> ChangeNotice:
    item = notices.get(timeout=timeout)
    if isinstance(item, BaseException):
        raise item
    return item


def test_a_permit_comes_with_a_receipt_that_verifies(running: Running) -> None:
    """The node gets PERMIT and a receipt the hub's ReceiptVerifier accepts for this use."""
    running.connect("portal").grant(RESIDENT, grant_request(ADULT, life_domain=None))
    answer = running.connect(GP_ID).check(
        ADULT, GP_ID, PartnerType.HUISARTS, LifeDomain.ZORGEN, Purpose.SIGNALERING
    )
    assert answer.permitted
    verifier = ReceiptVerifier.from_files([running.verify_key_file])
    receipt = verifier.verify(
        answer.receipt,
        answer.signature,
        subject=ADULT,
        partner_id=GP_ID,
        partner_type=PartnerType.HUISARTS,
        life_domain=LifeDomain.ZORGEN,
        purpose=Purpose.SIGNALERING,
        at=dt.datetime.now(dt.UTC),
    )
    assert receipt.valid_until is None


def test_a_deny_comes_without_a_receipt(running: Running) -> None:
    """No entry at all: DENY, and nothing that could pass for a receipt."""
    answer = running.connect(GP_ID).check(
        ADULT, GP_ID, PartnerType.HUISARTS, LifeDomain.ZORGEN, Purpose.SIGNALERING
    )
    assert answer.decision is Decision.DENY
    assert (answer.receipt, answer.signature) == (b"", b"")


@pytest.mark.parametrize("caller", [GP_ID, "hub"])
def test_a_node_or_the_hub_cannot_grant(running: Running, caller: str) -> None:
    """Grant from any certificate but a portal's is PERMISSION_DENIED, and stores nothing."""
    with pytest.raises(PermissionDenied, match=r"rule access\."):
        running.connect(caller).grant(RESIDENT, grant_request(ADULT))
    assert running.service.store.changes_after(0) == []


def test_the_raw_status_of_a_nodes_grant_is_permission_denied(
    running: Running, issue_tls: Callable[..., TlsFiles]
) -> None:
    """On the wire the refusal is the PERMISSION_DENIED status, naming the rule."""
    channel = secure_channel(running.target, issue_tls(GP_ID), server_name="consent")
    stub = consent_pb2_grpc.ConsentServiceStub(channel)
    try:
        with pytest.raises(grpc.RpcError) as info:
            stub.Grant(consent_pb2.GrantRequest(), timeout=5)
        assert info.value.code() is grpc.StatusCode.PERMISSION_DENIED
        assert "rule access.node" in (info.value.details() or "")
        with pytest.raises(grpc.RpcError) as info:
            stub.Check(
                consent_pb2.CheckRequest(
                    subject=consent_pb2.ConsentPerson(pseudonym=ADULT.value, key_version=1),
                    partner_id=GP_ID,
                    partner_type=99,  # type: ignore[arg-type]
                    life_domain=1,  # type: ignore[arg-type]
                    purpose=1,  # type: ignore[arg-type]
                ),
                timeout=5,
            )
        assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert (info.value.details() or "").startswith("partner_type:")
    finally:
        channel.close()


def test_a_node_may_check_only_for_itself(running: Running) -> None:
    """A node asking about another partner's data use is refused."""
    with pytest.raises(PermissionDenied, match="own-partner"):
        check_gp(running, caller=GP_ID, partner_id="huisarts-jansen")


@pytest.mark.parametrize("caller", ["anna.staff", "consent", "huisarts-removed"])
def test_a_certificate_no_partner_holds_learns_nothing(running: Running, caller: str) -> None:
    """A CA certificate that is not in the registry's partner list (staff, another service, a
    removed partner) may not Check at all."""
    with pytest.raises(PermissionDenied, match=r"rule access\.unknown"):
        check_gp(running, caller=caller)


def test_a_node_may_check_only_as_its_own_partner_type(running: Running) -> None:
    """A GGD asking as if it were a GP (to learn a resident's consent to GPs) is refused."""
    with pytest.raises(PermissionDenied, match="own-type"):
        check_gp(running, caller="ggd-a", partner_id="ggd-a")


def test_a_node_cannot_watch(running: Running) -> None:
    """Watch is the hub's: a node's stream ends at once with PERMISSION_DENIED."""
    with running.connect(GP_ID).watch(0) as stream, pytest.raises(PermissionDenied):
        next(iter(stream))


def test_bad_grant_input_is_invalid_argument_naming_the_field(running: Running) -> None:
    """An inverted period is refused over the wire as INVALID_ARGUMENT naming valid_until."""
    now = dt.datetime.now(dt.UTC)
    request = grant_request(
        ADULT, valid_from=now + dt.timedelta(days=2), valid_until=now + dt.timedelta(days=1)
    )
    with pytest.raises(InvalidArgument, match=r"^valid_until: .*validity\.inverted"):
        running.connect("portal").grant(RESIDENT, request)


def test_watch_delivers_a_revocation_within_a_second_and_resumes(running: Running) -> None:
    """The hub sees the grant, then the revocation within 1 s; resuming skips what it has."""
    portal, hub = running.connect("portal"), running.connect("hub")
    stream = hub.watch(0)
    try:
        notices = collect(stream)
        entry = portal.grant(RESIDENT, grant_request(ADULT))
        granted = next_notice(notices, 5.0)
        assert (granted.kind, granted.entry.id) == (ChangeKind.GRANTED, entry.id)

        started = time.monotonic()
        portal.revoke(RESIDENT, entry.id)
        revoked = next_notice(notices, 1.0)
        assert time.monotonic() - started < 1.0
        assert (revoked.kind, revoked.entry.state) == (ChangeKind.REVOKED, EntryState.REVOKED)
        assert revoked.cursor > granted.cursor
    finally:
        stream.cancel()

    with hub.watch(granted.cursor) as resumed:
        assert next_notice(collect(resumed), 5.0) == revoked


def test_the_portal_lists_what_it_granted(running: Running) -> None:
    """List over the wire returns the entries as the portal's Grant recorded them."""
    portal = running.connect("portal")
    entry = portal.grant(RESIDENT, grant_request(ADULT))
    assert portal.list_entries(RESIDENT, ADULT) == [entry]


def test_health_reports_serving(running: Running, issue_tls: Callable[..., TlsFiles]) -> None:
    """The standard health service answers SERVING for the consent service."""
    channel = secure_channel(running.target, issue_tls("monitor"), server_name="consent")
    try:
        stub = health_pb2_grpc.HealthStub(channel)
        response = stub.Check(  # type: ignore[attr-defined]
            health_pb2.HealthCheckRequest(service="seinhuis.v1.ConsentService"), timeout=5
        )
        assert response.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        channel.close()


def test_no_pseudonym_reaches_the_log(running: Running) -> None:
    """Grants, checks, revocations and watches log only catalog fields: no pseudonym at all."""
    out = io.StringIO()
    logs.configure("consent", stream=out)
    try:
        portal = running.connect("portal")
        entry = portal.grant(RESIDENT, grant_request(ADULT, life_domain=None))
        check_gp(running)
        portal.revoke(RESIDENT, entry.id)
        with running.connect("hub").watch(0) as stream:
            next_notice(collect(stream), 5.0)
        with pytest.raises(PermissionDenied):
            check_gp(running, partner_id="huisarts-jansen")
    finally:
        structlog.reset_defaults()
    text = out.getvalue()
    for event in ("consent.granted", "consent.checked", "consent.revoked", "rpc.failed"):
        assert event in text
    assert "consent.watch_subscribed" in text
    assert ADULT.value.hex() not in text and "unlisted_event" not in text
