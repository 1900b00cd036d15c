"""hub.toml loading: paths resolve against the file's folder, bounds hold, errors name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import MEMORY_URL, load
from seinhuis.errors import ConfigError

EXAMPLE = """\
[hub]
id = "hub"
listen = "127.0.0.1:0"
port_file = "hub.port"
database_url = "sqlite:///hub.db"
registry = "partners.yaml"
catalogue = ""
sealing_keys = ["sealing.key", "old/sealing.key"]
max_clock_skew_s = 300
max_envelopes_per_stream = 10000
rate_per_partner = 5000.0
rate_burst = 20000
[hub.tls]
ca_cert = "../ca/ca.crt"
cert = "tls.crt"
key = "tls.key"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hub" / "hub.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_documented_example_loads_with_paths_resolved(tmp_path: Path) -> None:
    """Every relative path, the SQLite file included, resolves against the config folder."""
    config = load(write(tmp_path, EXAMPLE))
    folder = (tmp_path / "hub").resolve()
    assert config.id == "hub"
    assert config.port_file == folder / "hub.port"
    assert config.database_url == f"sqlite:///{folder / 'hub.db'}"
    assert config.registry == folder / "partners.yaml"
    assert config.catalogue is None
    assert config.sealing_keys == (folder / "sealing.key", folder / "old" / "sealing.key")
    assert config.tls.ca_cert == folder / "../ca/ca.crt"
    assert (config.max_clock_skew_s, config.rate_per_partner, config.rate_burst) == (
        300,
        5000.0,
        20000,
    )


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////var/lib/hub.db",
        "sqlite://",
        "postgresql+psycopg://hub:secret@db.example/hub",
        MEMORY_URL,
    ],
)
def test_absolute_memory_and_server_urls_are_kept(tmp_path: Path, url: str) -> None:
    """Only relative SQLite paths are rewritten."""
    config = load(write(tmp_path, EXAMPLE.replace('"sqlite:///hub.db"', f'"{url}"')))
    assert config.database_url == url


def test_optional_keys_take_their_defaults(tmp_path: Path) -> None:
    """Leaving out port_file, catalogue and the limits gives the documented defaults."""
    text = "\n".join(
        line
        for line in EXAMPLE.splitlines()
        if not line.startswith(("port_file", "catalogue", "max_", "rate_"))
    )
    config = load(write(tmp_path, text))
    assert config.port_file is None
    assert config.max_envelopes_per_stream == 10_000
    assert config.rate_burst == 20_000
    assert config.judge_niceness == 10


def test_a_policies_folder_of_its_own_resolves_against_the_config_folder(tmp_path: Path) -> None:
    """A municipality keeps its edited rules beside its config; without the key, the shipped
    policies/ folder is used."""
    assert load(write(tmp_path, EXAMPLE)).policies is None
    own = 'registry = "partners.yaml"\npolicies = "regels"'
    text = EXAMPLE.replace('registry = "partners.yaml"', own)
    assert load(write(tmp_path, text)).policies == (tmp_path / "hub").resolve() / "regels"


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("max_clock_skew_s = 300", "max_clock_skew_s = 0", "hub.max_clock_skew_s"),
        ("rate_burst = 20000", "rate_burst = true", "hub.rate_burst"),
        ("rate_per_partner = 5000.0", "rate_per_partner = -1.0", "hub.rate_per_partner"),
        ('id = "hub"', 'id = "Hub Centraal"', "hub.id"),
        (
            'sealing_keys = ["sealing.key", "old/sealing.key"]',
            "sealing_keys = []",
            "hub.sealing_keys",
        ),
        ('registry = "partners.yaml"', 'registry = ""', "hub.registry"),
        ('registry = "partners.yaml"', 'registy = "partners.yaml"', "hub.registy"),
        ('database_url = "sqlite:///hub.db"', 'database_url = "not a url"', "hub.database_url"),
        ('key = "tls.key"', "", "hub.tls.key"),
        ('id = "hub"', 'id = "hub"\njudge_niceness = 20', "hub.judge_niceness"),
        ('id = "hub"', 'id = "hub"\njudge_niceness = -1', "hub.judge_niceness"),
    ],
)
def test_bad_values_raise_config_error_naming_the_key(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    """Out of bounds, wrong type, unknown or missing: ConfigError names the key."""
    assert old in EXAMPLE
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, EXAMPLE.replace(old, new)))
    assert f"{key}:" in info.value.message


def test_an_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    """A missing file or broken TOML is a ConfigError naming the file."""
    with pytest.raises(ConfigError, match=r"hub\.toml"):
        load(tmp_path / "hub.toml")
    with pytest.raises(ConfigError, match=r"hub\.toml"):
        load(write(tmp_path, "[hub\n"))
