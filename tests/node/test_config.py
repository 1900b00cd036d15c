"""node.toml: required keys, defaults, bounds, relative paths, and what counts as local."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from node.config import from_dict, is_local_address, load
from seinhuis.errors import ConfigError
from seinhuis.vocabulary import PartnerType

MINIMAL = """\
[node]
partner_id = "ggd-demo"
partner_type = "GGD"
database = "node.db"
signing_key = "signing.key"
cache_key = "cache.key"
[node.hub]
target = "127.0.0.1:50051"
server_name = "hub"
sealing_public = "hub-sealing.pub"
[node.pseudonym]
target = "127.0.0.1:50052"
server_name = "pseudonym"
[node.tls]
ca_cert = "../../ca/ca.crt"
cert = "tls.crt"
key = "tls.key"
"""


def parsed(**changes: Any) -> dict[str, Any]:
    data = tomllib.loads(MINIMAL)
    for dotted, value in changes.items():
        *path, key = dotted.split("__")
        table = data["node"]
        for part in path:
            table = table.setdefault(part, {})
        table[key] = value
    return data


def test_a_minimal_config_gets_the_documented_defaults(tmp_path: Path) -> None:
    """Omitted settings take the documented defaults; paths resolve against the file's folder."""
    path = tmp_path / "node.toml"
    path.write_text(MINIMAL)
    config = load(path)
    assert config.partner_type is PartnerType.GGD
    assert config.listen == "127.0.0.1:0" and config.listen_is_local
    assert config.database == tmp_path.resolve() / "node.db"
    assert config.tls.ca_cert == tmp_path.resolve() / "../../ca/ca.crt"
    assert config.hub.id == "hub"  # the recipient defaults to the hub's TLS name
    assert config.local_token_file is None and config.port_file is None
    assert (config.delivery.batch_size, config.delivery.backoff_initial_s) == (500, 0.1)
    assert config.cache.max_entries == 1_000_000


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"surprise": 1}, "node.surprise: unknown key"),
        ({"partner_type": "BAKKER"}, "node.partner_type"),
        ({"partner_id": "Bad_Id"}, "node.partner_id"),
        ({"delivery__batch_size": 0}, "node.delivery.batch_size"),
        ({"delivery__batch_size": True}, "node.delivery.batch_size"),
        ({"delivery__backoff_max_s": 0.01}, "node.delivery.backoff_max_s"),
        ({"hub__typo": "x"}, "node.hub.typo: unknown key"),
        ({"cache__max_entries": -1}, "node.cache.max_entries"),
    ],
)
def test_a_wrong_setting_names_its_key(changes: dict[str, Any], where: str) -> None:
    """Unknown keys, bad values and out-of-bounds numbers are ConfigErrors naming the key."""
    with pytest.raises(ConfigError, match=where):
        from_dict(parsed(**changes), base=Path("/etc/seinhuis"))


def test_a_missing_table_or_key_is_named() -> None:
    """A missing table or required key is named in the error."""
    data = parsed()
    del data["node"]["hub"]
    with pytest.raises(ConfigError, match=r"\[node\.hub\]"):
        from_dict(data, base=Path("/x"))
    data = parsed()
    del data["node"]["signing_key"]
    with pytest.raises(ConfigError, match=r"node\.signing_key: required"):
        from_dict(data, base=Path("/x"))


def test_a_relative_unix_socket_resolves_against_the_config_folder() -> None:
    """unix:PATH resolves like any relative path; unix:///PATH stays absolute."""
    config = from_dict(parsed(listen="unix:run/node.sock"), base=Path("/srv/node"))
    assert config.listen == "unix:/srv/node/run/node.sock" and config.listen_is_local
    config = from_dict(parsed(listen="unix:///run/node.sock"), base=Path("/srv/node"))
    assert config.listen == "unix:///run/node.sock"


@pytest.mark.parametrize(
    ("listen", "local"),
    [
        ("127.0.0.1:0", True),
        ("127.3.2.1:5000", True),
        ("localhost:5000", True),
        ("[::1]:5000", True),
        ("unix:/tmp/node.sock", True),
        ("0.0.0.0:5000", False),
        ("[::]:5000", False),
        ("10.0.0.5:5000", False),
        ("node.example.org:5000", False),
    ],
)
def test_only_loopback_and_unix_sockets_count_as_local(listen: str, local: bool) -> None:
    """Loopback addresses and unix sockets are local; anything else needs a token."""
    assert is_local_address(listen) is local
