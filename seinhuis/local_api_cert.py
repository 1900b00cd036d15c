"""`seinhuis keys local-api-cert`: a TLS certificate for a node's local API from the network's
development CA (demos and tests; in production the partner's own CA issues it).

The certificate is for serving only (extended key usage serverAuth) and its common name,
`<partner id>.local-api`, can never be a partner's: it cannot stand in for the node towards
the hub or the other services. It names the given hosts and loopback, and is written beside
the node's other keys as `local-api.crt` and `local-api.key` (node.toml: [node.local_tls]).
"""

from __future__ import annotations

import argparse
import ipaddress
import re
from collections.abc import Sequence
from pathlib import Path

from seinhuis.crypto.pki import DevCA
from seinhuis.errors import ConfigError
from seinhuis.transport import TlsFiles

STEM = "local-api"
#: Partner ids have no dot, so no partner's certificate name looks like this.
COMMON_NAME_SUFFIX = ".local-api"
#: Always named too: clients on the node's own machine connect over loopback.
LOOPBACK = ("localhost", "127.0.0.1", "::1")
_PARTNER_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DNS_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")


def issue(root: Path, node_id: str, hosts: Sequence[str]) -> TlsFiles:
    """Issue nodes/<node_id>/local-api.crt and .key under the network folder `root`."""
    if not _PARTNER_ID.fullmatch(node_id):
        raise ConfigError(f"--node: {node_id!r} must match {_PARTNER_ID.pattern}")
    node_dir = root / "nodes" / node_id
    if not node_dir.is_dir():
        raise ConfigError(
            f"--node: {node_dir} does not exist; create the node with `seinhuis keys add-partner`"
        )
    if not (root / "ca" / "ca.key").is_file():
        raise ConfigError(f"--root: {root / 'ca' / 'ca.key'} is missing (a development CA)")
    names = list(dict.fromkeys([*(_host(h) for h in hosts), *LOOPBACK]))
    ca = DevCA.load(root / "ca")
    return ca.issue_server(node_dir, node_id + COMMON_NAME_SUFFIX, names, stem=STEM)


def _host(text: str) -> str:
    """A DNS name or an IP address, as it goes into the certificate."""
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        pass
    if len(text) > 253 or not _DNS_NAME.fullmatch(text):
        raise ConfigError(f"--host: {text!r} is neither a DNS name nor an IP address")
    return text.rstrip(".").lower()


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `local-api-cert` to `seinhuis keys`."""
    p = sub.add_parser(
        "local-api-cert",
        help="issue a TLS certificate for a node's local API from the development CA",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--root", required=True, type=Path, metavar="NETWORK_DIR")
    p.add_argument("--node", required=True, metavar="ID", help="the partner id of the node")
    p.add_argument(
        "--host",
        required=True,
        action="append",
        metavar="NAME",
        help="a DNS name or IP address clients use to reach the node (repeatable)",
    )
    p.set_defaults(func=_cmd)


def _cmd(args: argparse.Namespace) -> int:
    files = issue(args.root, args.node, args.host)
    print(f"wrote {files.cert} and {files.key}")
    print("add to the node's node.toml (and restart it):")
    print(f'[node.local_tls]\ncert = "{files.cert.name}"\nkey = "{files.key.name}"')
    print(f"clients connect with --ca {files.ca_cert}")
    return 0
