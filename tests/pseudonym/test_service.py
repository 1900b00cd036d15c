"""The pseudonymisation service over a real gRPC server with mutual TLS on port 0."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from pseudonym import keyring
from pseudonym.client import PseudonymClient
from pseudonym.model import OK, Operation
from pseudonym.wiring import SERVICE_NAME, Service
from seinhuis.crypto import oprf
from seinhuis.errors import (
    InvalidArgument,
    PermissionDenied,
    ResourceExhausted,
    Unavailable,
)
from seinhuis.transport import TlsFiles, secure_channel
from seinhuis.v1 import pseudonym_pb2, pseudonym_pb2_grpc, vocabulary_pb2
from seinhuis.vocabulary import IdentifierKind
from tests.pseudonym.conftest import ClientFactory, ServiceFactory

PERSON = IdentifierKind.PERSON
ADDRESS = IdentifierKind.ADDRESS
BSN = b"bsn:123456782"


def _expected(service: Service, kind: IdentifierKind, data: bytes, version: int = 1) -> bytes:
    return oprf.evaluate_element(service.keyring.get().key(kind, version), data)


def _raw_stub(
    service: Service, issue_tls: Callable[..., TlsFiles], cn: str
) -> tuple[grpc.Channel, pseudonym_pb2_grpc.PseudonymServiceStub]:
    channel = secure_channel(f"127.0.0.1:{service.port}", issue_tls(cn), server_name="pseudonym")
    return channel, pseudonym_pb2_grpc.PseudonymServiceStub(channel)


def test_two_partners_get_the_same_pseudonym_for_the_same_bsn(
    start_service: ServiceFactory, connect: ClientFactory
) -> None:
    """The same BSN string pseudonymised by two different partners gives one pseudonym."""
    service = start_service()
    version_a, [from_a] = connect(service, "ggd-demo").pseudonymize(PERSON, [BSN])
    version_b, [from_b] = connect(service, "woonstad").pseudonymize(PERSON, [BSN])
    assert version_a == version_b == 1
    assert from_a == from_b == _expected(service, PERSON, BSN)
    assert connect(service, "school").pseudonymize(ADDRESS, [BSN])[1] != [from_a]


def test_a_batch_of_thousands_is_evaluated_in_order(
    start_service: ServiceFactory, connect: ClientFactory
) -> None:
    """3000 inputs go out in batches of 2000 and come back as distinct pseudonyms, in order."""
    service = start_service(max_batch=2000)
    inputs = [f"bsn:{n:09d}".encode() for n in range(3000)]
    version, pseudonyms = connect(service, "ggd-demo", max_batch=2000).pseudonymize(PERSON, inputs)
    assert version == 1 and len(pseudonyms) == 3000 == len(set(pseudonyms))
    for n in (0, 1999, 2000, 2999):
        assert pseudonyms[n] == _expected(service, PERSON, inputs[n])
    audited = service.audit.find(partner="ggd-demo")
    # Two batches are in flight at once, so they may finish in either order.
    assert sorted(r.count for r in audited) == [1000, 2000]
    assert all(r.outcome == OK and r.key_version == 1 for r in audited)


def test_malformed_elements_are_refused_counted_and_not_audited_as_evaluated(
    start_service: ServiceFactory, issue_tls: Callable[..., TlsFiles]
) -> None:
    """A batch holding an invalid element gets INVALID_ARGUMENT naming it, a refusal, no OK row."""
    service = start_service()
    channel, stub = _raw_stub(service, issue_tls, "ggd-demo")
    good = oprf.blind(BSN).element
    for bad in (bytes(32), b"\xff" * 32, good[:31], good[:31] + bytes([good[31] | 0x80])):
        request = pseudonym_pb2.EvaluateRequest(
            kind=vocabulary_pb2.IDENTIFIER_KIND_PERSON, blinded_elements=[good, bad]
        )
        with pytest.raises(grpc.RpcError) as info:
            stub.Evaluate(request)
        assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "blinded_elements[1]" in (info.value.details() or "")
    for request in (
        pseudonym_pb2.EvaluateRequest(kind=vocabulary_pb2.IDENTIFIER_KIND_PERSON),
        pseudonym_pb2.EvaluateRequest(blinded_elements=[good]),
    ):
        with pytest.raises(grpc.RpcError) as info:
            stub.Evaluate(request)
        assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    channel.close()
    assert service.evaluator.refusals() == {("ggd-demo", "INVALID_ARGUMENT"): 5}
    records = service.audit.find()
    assert len(records) == 5 and all(r.outcome == "INVALID_ARGUMENT" for r in records)


def test_an_over_large_batch_is_refused_as_resource_exhausted(
    start_service: ServiceFactory, connect: ClientFactory
) -> None:
    """A batch above max_batch is RESOURCE_EXHAUSTED with a message giving the limit."""
    service = start_service(max_batch=10)
    client = connect(service, "ggd-demo", max_batch=11)
    with pytest.raises(ResourceExhausted, match="at most 10 elements"):
        client.pseudonymize(PERSON, [b"x"] * 11)


def test_an_over_rate_partner_is_refused_while_another_keeps_working(
    start_service: ServiceFactory, connect: ClientFactory
) -> None:
    """A partner over its element rate gets RESOURCE_EXHAUSTED; another partner is unaffected."""
    service = start_service(max_batch=100, rate=1.0, burst=150)
    greedy, other = connect(service, "greedy"), connect(service, "other")
    greedy.pseudonymize(PERSON, [b"x"] * 100)
    with pytest.raises(ResourceExhausted, match=r"at most 1 evaluations per second"):
        greedy.pseudonymize(PERSON, [b"x"] * 100)
    assert other.pseudonymize(PERSON, [b"x"] * 100)[0] == 1
    assert service.evaluator.refusals() == {("greedy", "RESOURCE_EXHAUSTED"): 1}


def test_rekey_factors_go_to_the_hub_only_and_the_hub_may_not_evaluate(
    start_service: ServiceFactory, connect: ClientFactory
) -> None:
    """A partner is refused a re-key factor; the hub gets one but may not evaluate."""
    service = start_service()
    with pytest.raises(PermissionDenied, match="only the hub"):
        connect(service, "ggd-demo").rekey_factor(PERSON, 1, 1)
    hub = connect(service, "hub")
    assert len(hub.rekey_factor(PERSON, 1, 1)) == 32
    with pytest.raises(PermissionDenied, match="hub may not evaluate"):
        hub.pseudonymize(PERSON, [BSN])
    with pytest.raises(InvalidArgument, match="from_version"):
        hub.rekey_factor(PERSON, 0, 1)


def test_only_listed_partners_and_the_portal_may_evaluate(
    start_service: ServiceFactory, connect: ClientFactory
) -> None:
    """A certificate of the network's CA that is on neither list (a member of staff, another
    service, a removed partner) cannot compute pseudonyms of guessed citizen numbers."""
    service = start_service()
    for name in ("anna.staff", "consent", "ggd-removed"):
        with pytest.raises(PermissionDenied, match="only registered partner nodes"):
            connect(service, name).pseudonymize(PERSON, [BSN])
    assert connect(service, "portal").pseudonymize(PERSON, [BSN])[1] == [
        _expected(service, PERSON, BSN)
    ]


def test_rotation_rekeys_old_pseudonyms_to_fresh_new_ones(
    start_service: ServiceFactory, connect: ClientFactory
) -> None:
    """After a rotation, factor(v1->v2) turns each v1 pseudonym into its fresh v2 evaluation."""
    service = start_service()
    partner, hub = connect(service, "ggd-demo"), connect(service, "hub")
    inputs = {PERSON: [BSN, b"bsn:111222333"], ADDRESS: [b"nl:1234AB:1::", b"nl:1234AB:2:a:"]}
    old = {kind: partner.pseudonymize(kind, values) for kind, values in inputs.items()}
    keyring.rotate(service.config.keyring)
    service.keyring.refresh()
    assert partner.key_info().current_version == 2
    assert hub.key_info().versions == (1, 2)
    for kind, values in inputs.items():
        version, fresh = partner.pseudonymize(kind, values)
        assert version == 2 and old[kind][0] == 1
        factor = hub.rekey_factor(kind, 1, 2)
        assert [oprf.rekey(factor, p) for p in old[kind][1]] == fresh != old[kind][1]
    assert hub.rekey_factor(PERSON, 1, 2) != hub.rekey_factor(ADDRESS, 1, 2)
    with pytest.raises(Exception, match="version 3 does not exist"):
        hub.rekey_factor(PERSON, 1, 3)
    issued = [r for r in service.audit.find(partner="hub") if r.outcome == OK]
    assert {(r.operation, r.from_version, r.key_version) for r in issued} == {
        (Operation.REKEY_FACTOR, 1, 2)
    }


def test_audit_rows_hold_counts_and_none_of_the_values(
    start_service: ServiceFactory, connect: ClientFactory
) -> None:
    """Each query leaves one row with partner, kind, count and version; the file holds no values."""
    service = start_service()
    inputs = [f"bsn:{n:09d}".encode() for n in range(900_000_000, 900_000_050)]
    _, pseudonyms = connect(service, "ggd-demo").pseudonymize(PERSON, inputs)
    connect(service, "woonstad").pseudonymize(ADDRESS, [b"nl:9999ZZ:12:b:"])
    rows = service.audit.find()
    assert [(r.partner, r.kind, r.count, r.key_version, r.outcome) for r in rows] == [
        ("ggd-demo", PERSON, 50, 1, OK),
        ("woonstad", ADDRESS, 1, 1, OK),
    ]
    db = service.config.audit_database
    stored = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    assert b"ggd-demo" in stored  # the search does see the data, WAL included
    for value in [*inputs, b"nl:9999ZZ:12:b:", b"900000000", *pseudonyms]:
        assert value not in stored
        assert value.hex().encode() not in stored


def test_health_is_serving_and_the_port_file_is_written(
    start_service: ServiceFactory, issue_tls: Callable[..., TlsFiles]
) -> None:
    """The health check answers SERVING for the service and the port file holds the port."""
    service = start_service()
    assert service.config.port_file is not None
    assert service.config.port_file.read_text().strip() == str(service.port)
    channel = secure_channel(
        f"127.0.0.1:{service.port}", issue_tls("monitor"), server_name="pseudonym"
    )
    stub: Any = health_pb2_grpc.HealthStub(channel)  # the health stubs are untyped
    for name in ("", SERVICE_NAME):
        response = stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
        assert response.status == health_pb2.HealthCheckResponse.SERVING
    channel.close()


def test_an_unreachable_service_surfaces_as_unavailable(
    issue_tls: Callable[..., TlsFiles], start_service: ServiceFactory
) -> None:
    """A client whose service is gone gets Unavailable, not a gRPC exception."""
    service = start_service()
    port = service.port
    service.stop(0)
    with (
        PseudonymClient(f"127.0.0.1:{port}", issue_tls("ggd-demo"), timeout_s=2) as client,
        pytest.raises(Unavailable),
    ):
        client.pseudonymize(PERSON, [BSN])


def test_a_client_without_a_certificate_from_the_ca_is_refused(
    start_service: ServiceFactory, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A client certificate from another CA never reaches the service (mTLS is required)."""
    from seinhuis.crypto.pki import DevCA

    service = start_service()
    other = DevCA.create(tmp_path_factory.mktemp("other-ca"))
    own = other.issue(tmp_path_factory.mktemp("intruder"), "intruder")
    # Trust the real server, present a certificate the server does not trust.
    tls = TlsFiles(ca_cert=service.config.tls.ca_cert, cert=own.cert, key=own.key)
    with (
        PseudonymClient(f"127.0.0.1:{service.port}", tls, timeout_s=2) as client,
        pytest.raises(Unavailable),
    ):
        client.key_info()
    assert service.audit.find() == []


def test_pseudonymize_of_nothing_returns_the_current_version(
    start_service: ServiceFactory, connect: ClientFactory
) -> None:
    """An empty input list evaluates nothing and still names the current key version."""
    service = start_service()
    assert connect(service, "ggd-demo").pseudonymize(PERSON, []) == (1, [])
    assert service.audit.find() == []
