"""TLS for the node's local API, and the credential a caller needs when the API is exposed.

The local API takes raw citizen numbers, dates of birth and postcodes from the partner's own
systems. Where it listens (`node.listen`) decides what it requires; the node checks this when
it is built and refuses to start otherwise (ConfigError naming `node.listen`):

- Loopback or a unix socket (the default): plaintext gRPC is allowed. `[node.local_tls]` and
  a bearer token (`node.local_token_file`) are used when configured.
- Any other address ("exposed"): the node needs both
  1. TLS, `[node.local_tls] cert` and `key`: nothing a caller sends (identifiers, the token)
     crosses the network in the clear, and callers verify they talk to this node; and
  2. a credential for the partner's own system: a bearer token (`node.local_token_file`),
     client certificates (`[node.local_tls] client_ca`, mutual TLS), or both.

Why either credential suffices, and what both give:

- A bearer token rides gRPC metadata, which TLS keeps confidential; it is compared in constant
  time and a wrong or missing one gets UNAUTHENTICATED. It is a shared secret in a file: whoever
  can read that file can call. Since an exposed node always has TLS, the token is never accepted
  in the clear from another machine; on loopback it may travel without TLS, as it never leaves
  the machine.
- A client certificate proves a private key that never leaves the caller; a caller without one
  (or with one from another CA) is refused in the TLS handshake, before any request is read.
  Every certificate `client_ca` issued is a credential, so it must be a CA the partner runs for
  its own systems (or one kept for the local API only). The network's CA (`node.tls.ca_cert`)
  is refused: it issued the hub's, the services' and every other partner's certificates, none
  of which may submit identifiers in this partner's name.
- Both configured: both are required, so neither a copied token nor a certificate alone lets a
  caller in.

Health checks need no token (load balancers probe them; they reveal nothing), but with
`client_ca` every caller, probes included, needs a certificate.

Clients (`NodeClient`, the `seinhuis node send|status|withdraw|import --node` commands)
connect with TLS when given the CA that issued the node's certificate (`--ca`), with a client
certificate when given one (`--cert`, `--key`), and refuse to send anything in the clear to an
address that is not on their own machine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from node.config import LocalTlsFiles, NodeConfig, is_local_address
from seinhuis.errors import ConfigError, InvalidArgument

_DER = serialization.Encoding.DER
_SPKI = serialization.PublicFormat.SubjectPublicKeyInfo


def check_exposure(config: NodeConfig) -> None:
    """Refuse an exposed local API without TLS or without a credential (module docstring)."""
    if config.listen_is_local:
        return
    tls = config.local_tls
    credential = config.local_token_file is not None or (
        tls is not None and tls.client_ca is not None
    )
    missing = []
    if tls is None:
        missing.append("[node.local_tls] cert and key (the local API's TLS certificate)")
    if not credential:
        missing.append(
            "a credential for your own systems: node.local_token_file (a bearer token) "
            "and/or node.local_tls.client_ca (client certificates)"
        )
    if missing:
        raise ConfigError(
            f"node.listen: {config.listen} is reachable from other machines; set "
            + " and ".join(missing)
            + ", or listen on loopback or a unix socket"
        )


def server_credentials(
    files: LocalTlsFiles, *, network_ca: Path | None = None
) -> grpc.ServerCredentials:
    """The local API's TLS credentials; mutual TLS when `files.client_ca` is set.

    The files are checked here, so a wrong one stops the node at start with the key's name
    rather than failing every handshake later.
    """
    cert_pem = _read(files.cert, "cert")
    key_pem = _read(files.key, "key")
    try:
        certs = x509.load_pem_x509_certificates(cert_pem)
    except ValueError:
        raise ConfigError(f"node.local_tls.cert: {files.cert} holds no PEM certificate") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise ConfigError(
            f"node.local_tls.key: {files.key} holds no unencrypted PEM private key"
        ) from None
    leaf = certs[0]
    if leaf.public_key().public_bytes(_DER, _SPKI) != key.public_key().public_bytes(_DER, _SPKI):
        raise ConfigError("node.local_tls.key: does not belong to node.local_tls.cert")
    if leaf.not_valid_after_utc <= dt.datetime.now(dt.UTC):
        expired = leaf.not_valid_after_utc.date().isoformat()
        raise ConfigError(f"node.local_tls.cert: expired on {expired}; issue a new one")
    client_ca = None
    if files.client_ca is not None:
        client_ca = _read(files.client_ca, "client_ca")
        try:
            authorities = x509.load_pem_x509_certificates(client_ca)
        except ValueError:
            raise ConfigError(
                f"node.local_tls.client_ca: {files.client_ca} holds no PEM certificate"
            ) from None
        if network_ca is not None and _shares_a_certificate(authorities, network_ca):
            raise ConfigError(
                "node.local_tls.client_ca: is the network's CA (node.tls.ca_cert), which issued "
                "the hub's and every partner's certificates; use a CA of your own for the "
                "systems that call this node"
            )
    return grpc.ssl_server_credentials(
        [(key_pem, cert_pem)],
        root_certificates=client_ca,
        require_client_auth=client_ca is not None,
    )


def _shares_a_certificate(authorities: list[x509.Certificate], network_ca: Path) -> bool:
    try:
        network = x509.load_pem_x509_certificates(network_ca.read_bytes())
    except (OSError, ValueError):
        return False  # the hub connection reports an unreadable network CA itself
    ours = {c.public_bytes(_DER) for c in authorities}
    return any(c.public_bytes(_DER) in ours for c in network)


def _read(path: Path, key: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"node.local_tls.{key}: cannot read {path} ({exc.strerror})") from exc


@dataclass(frozen=True)
class ClientTls:
    """How a client reaches a node whose local API serves TLS (the CLI's --ca, --cert, ...)."""

    #: The CA that issued the node's local API certificate.
    ca: Path
    #: A client certificate and its key, for a node with node.local_tls.client_ca.
    cert: Path | None = None
    key: Path | None = None
    #: The name in the node's certificate, when it is not the host in the address
    #: (for a unix socket: localhost, unless given).
    server_name: str | None = None

    def __post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            raise InvalidArgument("--cert and --key go together", field="--cert")


def open_channel(address: str, tls: ClientTls | None) -> grpc.Channel:
    """A channel to a node's local API: TLS when `tls` is given, else plaintext, which is
    refused for an address that is not on this machine (citizen numbers would cross the
    network in the clear)."""
    if tls is None:
        if not is_local_address(address):
            raise InvalidArgument(
                f"{address} is not on this machine, so the node serves TLS there: pass --ca "
                "with the CA that issued its local API certificate",
                field="--ca",
            )
        return grpc.insecure_channel(address)
    creds = grpc.ssl_channel_credentials(
        root_certificates=_read_client_file(tls.ca, "--ca"),
        private_key=_read_client_file(tls.key, "--key") if tls.key else None,
        certificate_chain=_read_client_file(tls.cert, "--cert") if tls.cert else None,
    )
    server_name = tls.server_name
    if server_name is None and address.startswith("unix"):
        # gRPC would check the socket's path against the certificate: loopback's name instead.
        server_name = "localhost"
    options = [("grpc.ssl_target_name_override", server_name)] if server_name else []
    return grpc.secure_channel(address, creds, options=options)


def _read_client_file(path: Path, flag: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidArgument(f"cannot read {path} ({exc.strerror})", field=flag) from exc
