"""Loading pseudonym.toml: the documented example, relative paths, bounds, typos."""

from __future__ import annotations

from pathlib import Path

import pytest

from pseudonym.config import load
from seinhuis.errors import ConfigError

EXAMPLE = """\
[pseudonym]
listen = "127.0.0.1:0"
port_file = "pseudonym.port"
keyring = "keyring"
audit_database = "audit.db"
hub_ids = ["hub"]
partners = "partners.yaml"
max_batch = 10000
rate_per_partner = 200000.0
rate_burst = 400000
[pseudonym.tls]
ca_cert = "../ca/ca.crt"
cert = "tls.crt"
key = "tls.key"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pseudonym.toml"
    path.write_text(text)
    return path


def test_the_architecture_example_loads_with_paths_beside_the_file(tmp_path: Path) -> None:
    """The example from docs/architecture.md loads; relative paths resolve to its folder."""
    config = load(_write(tmp_path, EXAMPLE))
    assert config.keyring == tmp_path / "keyring"
    assert config.audit_database == tmp_path / "audit.db"
    assert config.port_file == tmp_path / "pseudonym.port"
    assert config.tls.ca_cert == tmp_path / "../ca/ca.crt"
    assert config.hub_ids == frozenset({"hub"})
    assert (config.max_batch, config.rate_per_partner, config.rate_burst) == (
        10000,
        200000.0,
        400000,
    )


def test_optional_keys_take_defaults(tmp_path: Path) -> None:
    """Only keyring, audit_database and tls are required."""
    text = "\n".join(
        line
        for line in EXAMPLE.splitlines()
        if not line.startswith(("listen", "port_file", "hub_ids", "max_", "rate_"))
    )
    config = load(_write(tmp_path, text))
    assert config.listen == "127.0.0.1:0" and config.port_file is None
    assert config.max_batch == 10000 and config.hub_ids == frozenset({"hub"})


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("max_batch = 10000", "max_batch = 0", r"pseudonym\.max_batch: must be between 1"),
        ("max_batch = 10000", "max_batch = 1000000", r"pseudonym\.max_batch: must be between"),
        ("max_batch = 10000", "max_batch = true", r"pseudonym\.max_batch: must be int"),
        ("rate_burst = 400000", "rate_burst = 10", r"pseudonym\.rate_burst: must be between 10000"),
        ("rate_per_partner = 200000.0", "rate_per_partner = -1.0", r"rate_per_partner"),
        ('hub_ids = ["hub"]', 'hub_ids = [""]', r"pseudonym\.hub_ids"),
        ('hub_ids = ["hub"]', 'hub_ids = "hub"', r"pseudonym\.hub_ids: must be list"),
        ('listen = "127.0.0.1:0"', 'listen = "nowhere"', r"pseudonym\.listen"),
        ('keyring = "keyring"', 'keyring = ""', r"pseudonym\.keyring: must not be empty"),
        ('keyring = "keyring"', "", r"pseudonym\.keyring: is required"),
        ('cert = "tls.crt"', "", r"pseudonym\.tls\.cert: is required"),
        ("max_batch = 10000", "max_bacth = 10000", r"pseudonym\.max_bacth: unknown key"),
        ('key = "tls.key"', 'key = "tls.key"\nkye = 1', r"pseudonym\.tls\.kye: unknown key"),
    ],
)
def test_bad_values_are_refused_naming_the_key(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    """Each out-of-bounds, mistyped, missing or unknown key is a ConfigError naming it."""
    assert old in EXAMPLE
    with pytest.raises(ConfigError, match=message):
        load(_write(tmp_path, EXAMPLE.replace(old, new)))


def test_unreadable_or_invalid_files_are_config_errors(tmp_path: Path) -> None:
    """A missing file, bad TOML or a missing [pseudonym] table is a ConfigError."""
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(_write(tmp_path, "[pseudonym"))
    with pytest.raises(ConfigError, match=r"\[pseudonym\] table"):
        load(_write(tmp_path, "[hub]\nid = 'hub'\n"))
