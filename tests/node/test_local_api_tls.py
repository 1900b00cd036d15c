"""The local API reachable from other machines: TLS and a credential, or the node stays down.

Real gRPC on port 0, a real hub and pseudonymisation service, certificates from
`seinhuis keys local-api-cert` and the commands run through the `seinhuis` entry point.
"""

from __future__ import annotations

import io
import ipaddress
import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc

from hub import config as hub_config
from hub import wiring as hub_wiring
from node import cli as node_cli
from node import config as node_config
from node import wiring as node_wiring
from node.local_tls import ClientTls
from node.remote import NodeClient, signal_request
from pseudonym import config as pseudonym_config
from pseudonym import wiring as pseudonym_wiring
from seinhuis import cli, logs
from seinhuis.crypto.pki import DevCA
from seinhuis.errors import ConfigError, InvalidArgument, Unauthenticated, Unavailable
from seinhuis.keys_cli import PartnerSpec
from seinhuis.network import Layout
from seinhuis.transport import TlsFiles
from seinhuis.v1 import node_pb2_grpc
from seinhuis.vocabulary import PartnerType
from tests.node.conftest import ggd_signal, make_bsn, write_node_config

TOKEN = "a-long-enough-local-api-token-for-tls"
PARTNER = "ggd-tls"


def _own_address() -> str:
    """An IPv4 address of this machine that is not loopback; loopback when it has none.

    Connecting a UDP socket sends nothing; it only picks the interface a packet would leave by.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
            address = str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"
    return "127.0.0.1" if ipaddress.ip_address(address).is_loopback else address


OWN = _own_address()


@dataclass
class Network:
    layout: Layout
    hub: hub_wiring.HubService
    pseudonym: pseudonym_wiring.Service
    hub_port: int
    #: The network's development CA, which issues the local API certificate too.
    ca_cert: Path
    #: The partner's own CA for its systems' client certificates, and one it issued.
    client_ca: Path
    client: TlsFiles


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    layout = Layout(tmp_path_factory.mktemp("network"))
    layout.create([PartnerSpec(PARTNER, PartnerType.GGD)])
    # `seinhuis keys local-api-cert`: the node's server certificate from the development CA.
    assert (
        cli.main(
            [
                "keys",
                "local-api-cert",
                "--root",
                str(layout.root),
                "--node",
                PARTNER,
                "--host",
                OWN,
                "--host",
                "node.ggd.example",
            ]
        )
        == 0
    )
    partner_ca = DevCA.create(tmp_path_factory.mktemp("partner-ca"))
    client = partner_ca.issue(tmp_path_factory.mktemp("partner-system"), "case-system")
    pseudonym = pseudonym_wiring.build(
        pseudonym_config.load(layout.pseudonym_dir / "pseudonym.toml")
    )
    pseudonym.start()
    hub = hub_wiring.build(hub_config.load(layout.hub_dir / "hub.toml"))
    hub_port = hub.start()
    ca_cert = layout.root / "ca" / "ca.crt"
    yield Network(layout, hub, pseudonym, hub_port, ca_cert, partner_ca.cert_path, client)
    hub.stop(0)
    pseudonym.stop(0)


@pytest.fixture
def log_stream(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """Everything logged in this process (node, hub, service, CLI) goes here."""
    stream = io.StringIO()
    logs.configure("node", stream=stream)
    # The client commands would point the logs at stderr: keep them in the stream.
    monkeypatch.setattr(node_cli, "_quiet_logs", lambda verbose=False: None)
    return stream


WriteConfig = Callable[..., Path]


@pytest.fixture
def write_config(network: Network, tmp_path: Path) -> WriteConfig:
    """write_config(listen=, token=, local_tls="...toml lines...") -> node.toml for PARTNER."""
    count = [0]

    def write(*, listen: str = "0.0.0.0:0", token: bool = False, local_tls: str = "") -> Path:
        count[0] += 1
        folder = tmp_path / f"node{count[0]}"
        keys = network.layout.node_dir(PARTNER)
        token_file = None
        if token:
            token_file = folder / "local.token"
            folder.mkdir(parents=True)
            token_file.write_text(TOKEN + "\n")
        path = write_node_config(
            folder,
            partner_id=PARTNER,
            partner_type=PartnerType.GGD,
            tls=TlsFiles(network.ca_cert, keys / "tls.crt", keys / "tls.key"),
            signing_key=keys / "signing.key",
            cache_key=keys / "cache.key",
            hub_sealing_pub=keys / "hub-sealing.pub",
            hub_port=network.hub_port,
            pseudonym_port=network.pseudonym.port,
            listen=listen,
            token_file=token_file,
        )
        if local_tls:
            path.write_text(path.read_text() + "[node.local_tls]\n" + local_tls)
        return path

    return write


def server_tls(network: Network, *, client_ca: Path | None = None) -> str:
    """[node.local_tls] lines for the certificate `seinhuis keys local-api-cert` issued."""
    keys = network.layout.node_dir(PARTNER)
    lines = f'cert = "{keys / "local-api.crt"}"\nkey = "{keys / "local-api.key"}"\n'
    return lines + (f'client_ca = "{client_ca}"\n' if client_ca else "")


StartNode = Callable[[Path], node_wiring.NodeService]


@pytest.fixture
def start(network: Network) -> Iterator[StartNode]:
    started: list[node_wiring.NodeService] = []

    def run(path: Path) -> node_wiring.NodeService:
        service = node_wiring.build(node_config.load(path))
        started.append(service)
        service.start()
        return service

    yield run
    for service in started:
        service.stop(0)


def seinhuis(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the `seinhuis` command in this process: exit status, stdout, stderr."""
    status = cli.main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def send_args(address: str, n: int, reference: str) -> list[str]:
    return [
        "node",
        "send",
        "--node",
        address,
        "--type",
        "ZORGWEKKEND_GEDRAG",
        "--bsn",
        make_bsn(n),
        "--birth-date",
        "1980-05-17",
        "--postcode",
        "1234 AB",
        "--house-number",
        str(10 + n),
        "--reference",
        reference,
    ]


def wait_delivered(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """`seinhuis node status ...` until the hub acknowledged the signal."""
    deadline = time.monotonic() + 15
    while True:
        status, out, err = seinhuis(argv, capsys)
        assert status == 0, err
        found: dict[str, str] = json.loads(out)
        if found["state"] == "DELIVERED" or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_an_exposed_node_needs_tls_and_a_credential_to_start(
    write_config: WriteConfig, network: Network, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without TLS, or with TLS but neither token nor client CA: exit 2 naming node.listen."""
    cases = [
        (write_config(), ["[node.local_tls]", "node.local_token_file"]),
        (write_config(token=True), ["[node.local_tls] cert and key"]),
        (write_config(local_tls=server_tls(network)), ["node.local_token_file", "client_ca"]),
    ]
    for path, named in cases:
        status, out, err = seinhuis(["node", "serve", "--config", str(path)], capsys)
        assert status == 2 and out == ""
        assert err.startswith("seinhuis: node.listen: 0.0.0.0:0 is reachable from other machines")
        for words in named:
            assert words in err
        assert not (path.parent / "node.port").exists()


def test_tls_and_a_token_let_the_partner_system_in_and_nothing_else(
    write_config: WriteConfig,
    start: StartNode,
    network: Network,
    log_stream: io.StringIO,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """send/status with --ca and --token-file deliver to the hub; plaintext, no token or a
    wrong one are refused; no citizen number reaches any log line."""
    service = start(write_config(token=True, local_tls=server_tls(network)))
    node = f"{OWN}:{service.port}"
    token_file = service.config.local_token_file
    assert token_file is not None
    secure = ["--ca", str(network.ca_cert), "--token-file", str(token_file)]

    status, out, err = seinhuis([*send_args(node, 1, "tls-1"), *secure], capsys)
    assert status == 0, err
    message_id = out.strip()
    found = wait_delivered(["node", "status", "--node", node, *secure, "tls-1"], capsys)
    assert found["id"] == message_id and found["state"] == "DELIVERED"
    # The certificate names another host too; --server-name picks it.
    by_name = [*secure, "--server-name", "node.ggd.example"]
    status, out, err = seinhuis(["node", "status", "--node", node, *by_name, message_id], capsys)
    assert status == 0 and json.loads(out)["state"] == "DELIVERED", err

    # Without --ca the client sends nothing in the clear to another machine.
    status, out, err = seinhuis(
        [*send_args(f"{OWN}:{service.port}", 2, "plain"), "--token-file", str(token_file)], capsys
    )
    assert status == 2 and out == ""
    if OWN != "127.0.0.1":
        assert "--ca:" in err and "not on this machine" in err
    # Plaintext to the node from its own machine meets a TLS server: a clear refusal.
    loopback = f"127.0.0.1:{service.port}"
    status, out, err = seinhuis(
        [*send_args(loopback, 3, "plain-2"), "--token-file", str(token_file)], capsys
    )
    assert status == 2 and out == ""
    assert "not reachable" in err and "pass --ca" in err

    # Over TLS without the token, or with a wrong one: UNAUTHENTICATED; health stays open.
    creds = grpc.ssl_channel_credentials(root_certificates=network.ca_cert.read_bytes())
    with grpc.secure_channel(node, creds) as channel:
        stub = node_pb2_grpc.NodeServiceStub(channel)
        for metadata in ((), (("authorization", "Bearer not-the-right-token-at-all"),)):
            with pytest.raises(grpc.RpcError) as info:
                stub.SubmitSignal(signal_request(ggd_signal(4)), metadata=metadata, timeout=10)
            assert info.value.code() is grpc.StatusCode.UNAUTHENTICATED
        reply = health_pb2_grpc.HealthStub(channel).Check(  # type: ignore[attr-defined]
            health_pb2.HealthCheckRequest(), timeout=10
        )
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    wrong = tmp_path / "wrong.token"
    wrong.write_text("not-the-right-token-at-all\n")
    status, out, err = seinhuis(
        [*send_args(node, 5, "wrong"), "--ca", str(network.ca_cert), "--token-file", str(wrong)],
        capsys,
    )
    assert status == 2 and "a valid bearer token is required" in err
    # A CA that did not issue the node's certificate: no connection.
    status, out, err = seinhuis(
        [
            *send_args(node, 6, "other-ca"),
            "--ca",
            str(network.client_ca),
            "--token-file",
            str(token_file),
        ],
        capsys,
    )
    assert status == 2 and "not reachable" in err

    # Only the first signal was accepted; no number, postcode or date in any log line.
    lines = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    assert {
        "event": "node.local_api",
        "exposed": True,
        "tls": True,
        "client_certificates": False,
        "token": True,
    }.items() <= next(line for line in lines if line["event"] == "node.local_api").items()
    text = log_stream.getvalue()
    for n in range(1, 7):
        assert make_bsn(n) not in text
    assert "1234 AB" not in text and "1980-05-17" not in text and TOKEN not in text


def test_client_certificates_from_the_partners_ca_are_the_credential(
    write_config: WriteConfig,
    start: StartNode,
    network: Network,
    log_stream: io.StringIO,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With client_ca: no certificate, or the node's own network certificate, is refused in
    the handshake; a certificate from the partner's CA gets through without a token."""
    service = start(write_config(local_tls=server_tls(network, client_ca=network.client_ca)))
    node = f"{OWN}:{service.port}"
    ca = ["--ca", str(network.ca_cert)]
    mine = ["--cert", str(network.client.cert), "--key", str(network.client.key)]
    status, out, err = seinhuis([*send_args(node, 11, "mtls-1"), *ca, *mine], capsys)
    assert status == 0, err
    found = wait_delivered(["node", "status", "--node", node, *ca, *mine, "mtls-1"], capsys)
    assert found["id"] == out.strip() and found["state"] == "DELIVERED"

    network_cert = network.layout.node_dir(PARTNER)
    refused = [
        [],  # no client certificate
        ["--cert", str(network_cert / "tls.crt"), "--key", str(network_cert / "tls.key")],
    ]
    for extra in refused:
        status, out, err = seinhuis([*send_args(node, 12, "mtls-x"), *ca, *extra], capsys)
        assert status == 2 and out == "" and "not reachable" in err and "--cert" in err
    client = NodeClient(node, tls=ClientTls(network.ca_cert))
    try:
        with pytest.raises(Unavailable):
            client.status("mtls-1")
    finally:
        client.close()
    text = log_stream.getvalue()
    assert make_bsn(11) not in text and make_bsn(12) not in text


def test_with_a_client_ca_and_a_token_both_are_required(
    write_config: WriteConfig, start: StartNode, network: Network, log_stream: io.StringIO
) -> None:
    service = start(
        write_config(token=True, local_tls=server_tls(network, client_ca=network.client_ca))
    )
    tls = ClientTls(network.ca_cert, network.client.cert, network.client.key)
    for token in (None, TOKEN):
        client = NodeClient(f"{OWN}:{service.port}", tls=tls, token=token)
        try:
            if token is None:
                with pytest.raises(Unauthenticated, match="bearer token"):
                    client.submit(ggd_signal(21))
            else:
                assert len(client.submit(ggd_signal(21))) == 16
        finally:
            client.close()


def test_tls_is_used_on_a_unix_socket_when_configured(
    write_config: WriteConfig, start: StartNode, network: Network, tmp_path: Path
) -> None:
    """Local listeners may stay plaintext, but once [node.local_tls] is set they serve TLS."""
    sock = tmp_path / "node.sock"
    start(write_config(listen=f"unix:{sock}", local_tls=server_tls(network)))
    plain = NodeClient(f"unix:{sock}")
    secure = NodeClient(f"unix:{sock}", tls=ClientTls(network.ca_cert))
    try:
        with pytest.raises(Unavailable, match="pass --ca"):
            plain.submit(ggd_signal(31))
        assert len(secure.submit(ggd_signal(31))) == 16
    finally:
        plain.close()
        secure.close()


def test_wrong_tls_files_stop_the_node_naming_the_key(
    write_config: WriteConfig, network: Network, tmp_path: Path
) -> None:
    """A key of another certificate, a missing file, the network CA as client CA."""
    keys = network.layout.node_dir(PARTNER)
    cert, key = keys / "local-api.crt", keys / "local-api.key"
    cases = {
        f'cert = "{cert}"\nkey = "{keys / "tls.key"}"\n': "node.local_tls.key: does not belong",
        f'cert = "{tmp_path / "none.crt"}"\nkey = "{key}"\n': "node.local_tls.cert: cannot read",
        f'cert = "{cert}"\nkey = "{key}"\nclient_ca = "{network.ca_cert}"\n': (
            "node.local_tls.client_ca: is the network's CA"
        ),
    }
    for lines, message in cases.items():
        path = write_config(token=True, local_tls=lines)
        with pytest.raises(ConfigError, match=message):
            node_wiring.build(node_config.load(path))


def test_the_local_tls_table_resolves_paths_and_refuses_unknown_keys(tmp_path: Path) -> None:
    base = {
        "partner_id": "ggd-a",
        "partner_type": "GGD",
        "database": "n.db",
        "signing_key": "s.key",
        "cache_key": "c.key",
        "hub": {"target": "h:1", "server_name": "hub", "sealing_public": "h.pub"},
        "pseudonym": {"target": "p:1", "server_name": "pseudonym"},
        "tls": {"ca_cert": "ca.crt", "cert": "t.crt", "key": "t.key"},
    }
    config = node_config.from_dict(
        {"node": base | {"local_tls": {"cert": "api.crt", "key": "api.key", "client_ca": "p.crt"}}},
        base=tmp_path,
    )
    assert config.local_tls == node_config.LocalTlsFiles(
        tmp_path / "api.crt", tmp_path / "api.key", tmp_path / "p.crt"
    )
    assert node_config.from_dict({"node": base}, base=tmp_path).local_tls is None
    for table, message in (
        ({"cert": "a", "key": "b", "ca": "c"}, "node.local_tls.ca: unknown key"),
        ({"cert": "a"}, "node.local_tls.key: required"),
    ):
        with pytest.raises(ConfigError, match=message):
            node_config.from_dict({"node": base | {"local_tls": table}}, base=tmp_path)


def test_local_api_cert_is_for_serving_only(
    network: Network, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issued certificate names the hosts and loopback, serves only, and is no partner's."""
    keys = network.layout.node_dir(PARTNER)
    cert = x509.load_pem_x509_certificate((keys / "local-api.crt").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "node.ggd.example" in names.get_values_for_type(x509.DNSName)
    assert ipaddress.ip_address(OWN) in names.get_values_for_type(x509.IPAddress)
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == f"{PARTNER}.local-api"
    root = str(network.layout.root)
    for argv, message in (
        (["--node", "no-such-node", "--host", "x.example"], "--node:"),
        (["--node", PARTNER, "--host", "not a host!"], "--host:"),
    ):
        status, _out, err = seinhuis(["keys", "local-api-cert", "--root", root, *argv], capsys)
        assert status == 2 and message in err


def test_client_flags_that_need_tls_are_refused_without_ca(
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = ["node", "status", "--node", "127.0.0.1:1", "x"]
    for extra, flag in (
        (["--cert", "c.crt", "--key", "c.key"], "--cert"),
        (["--server-name", "node"], "--server-name"),
    ):
        status, _, err = seinhuis([*base, *extra], capsys)
        assert status == 2 and f"{flag}: needs --ca" in err
    with pytest.raises(InvalidArgument, match="--cert and --key go together"):
        ClientTls(Path("ca.crt"), cert=Path("c.crt"))
