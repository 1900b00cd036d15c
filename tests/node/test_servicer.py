"""The local API over real gRPC on loopback: submit, status, withdraw, and the bearer token."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from node import config as node_config
from node.model import LocalPerson
from node.remote import NodeClient
from node.wiring import build
from seinhuis.errors import ConfigError, InvalidArgument, PermissionDenied, Unauthenticated
from seinhuis.v1 import node_pb2, node_pb2_grpc, vocabulary_pb2
from seinhuis.vocabulary import PartnerType, SignalType, WithdrawReason
from tests.node.conftest import (
    FakePseudonyms,
    NodeKeys,
    StartNode,
    ggd_signal,
    make_bsn,
    write_node_config,
)

TOKEN = "a-long-enough-local-api-token"


def test_submit_then_status_over_grpc(start_node: StartNode) -> None:
    """A signal submitted on loopback is pending (the hub is away) and found by reference."""
    service = start_node()
    assert service.config.port_file is not None
    port = int(service.config.port_file.read_text())
    assert port == service.port > 0
    client = NodeClient(f"127.0.0.1:{port}")
    try:
        message_id = client.submit(ggd_signal(partner_reference="api-1"))
        status = client.status("api-1")
        assert bytes(status.id) == message_id
        assert status.state == node_pb2.DELIVERY_STATE_PENDING
        assert client.status(message_id.hex()).id == message_id
        assert client.withdraw("api-1", WithdrawReason.RESOLVED) == message_id
        assert client.status("api-1").state == node_pb2.DELIVERY_STATE_WITHDRAWN
    finally:
        client.close()


def test_refusals_come_back_with_status_and_field(start_node: StartNode) -> None:
    """INVALID_ARGUMENT names the field and never echoes the value; catalogue: PERMISSION_DENIED."""
    service = start_node()
    client = NodeClient(f"127.0.0.1:{service.port}")
    good = make_bsn(0)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    try:
        with pytest.raises(InvalidArgument) as info:
            client.submit(ggd_signal(person=LocalPerson(bad)))
        assert info.value.message.startswith("subject.bsn: ") and bad not in info.value.message
        with pytest.raises(PermissionDenied, match="senders"):
            client.submit(ggd_signal(signal_type=SignalType.SCHOOLVERZUIM))
    finally:
        client.close()
    assert service.local.outbox.pending_count() == 0


def test_unknown_enum_values_are_invalid_arguments(start_node: StartNode) -> None:
    """An enum number the node does not know is refused naming the field."""
    service = start_node()
    with grpc.insecure_channel(f"127.0.0.1:{service.port}") as channel:
        stub = node_pb2_grpc.NodeServiceStub(channel)
        request = node_pb2.SubmitSignalRequest(
            signal_type=999,  # type: ignore[arg-type]
            urgency=vocabulary_pb2.URGENCY_HOOG,
        )
        with pytest.raises(grpc.RpcError) as info:
            stub.SubmitSignal(request, timeout=5)
        assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "signal_type" in (info.value.details() or "")


def test_an_exposed_node_requires_tls_and_a_credential(tmp_path: Path, node_keys: NodeKeys) -> None:
    """Listening beyond loopback without [node.local_tls] and a credential refuses to build
    (tests/node/test_local_api_tls.py covers the exposed node over TLS)."""
    path = write_node_config(
        tmp_path / "exposed",
        partner_id="ggd-a",
        partner_type=PartnerType.GGD,
        tls=node_keys.tls,
        signing_key=node_keys.signing_key,
        cache_key=node_keys.cache_key,
        hub_sealing_pub=node_keys.hub_sealing_pub,
        listen="0.0.0.0:0",
    )
    with pytest.raises(ConfigError, match=r"node\.listen: .*local_tls.*local_token_file"):
        build(node_config.load(path), source=FakePseudonyms())


def test_a_configured_token_is_checked_on_loopback_too(
    start_node: StartNode, tmp_path: Path
) -> None:
    """Without or with a wrong token: UNAUTHENTICATED; with it: served. Health stays open."""
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    service = start_node(token_file=token_file)
    address = f"127.0.0.1:{service.port}"
    for token in (None, "wrong-token-of-some-length"):
        client = NodeClient(address, token=token)
        try:
            with pytest.raises(Unauthenticated, match="bearer token"):
                client.submit(ggd_signal())
        finally:
            client.close()
    client = NodeClient(address, token=TOKEN)
    try:
        assert len(client.submit(ggd_signal())) == 16
    finally:
        client.close()
    with grpc.insecure_channel(address) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(  # type: ignore[attr-defined]
            health_pb2.HealthCheckRequest(), timeout=5
        )
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_a_unix_socket_listens_without_a_token(start_node: StartNode, tmp_path: Path) -> None:
    """A unix socket is local: no token needed."""
    sock = tmp_path / "node.sock"
    start_node(listen=f"unix:{sock}")
    client = NodeClient(f"unix:{sock}")
    try:
        assert len(client.submit(ggd_signal())) == 16
    finally:
        client.close()
