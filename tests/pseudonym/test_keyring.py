"""The keyring folder: versioned master keys, derived per-kind keys, rotation."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from pseudonym import keyring
from seinhuis.crypto import oprf
from seinhuis.crypto.keys import read_key
from seinhuis.errors import ConfigError, NotFound
from seinhuis.vocabulary import IdentifierKind

PERSON, ADDRESS = IdentifierKind.PERSON, IdentifierKind.ADDRESS


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_create_writes_version_1_readable_by_the_owner_only(tmp_path: Path) -> None:
    """init writes v1.key (0600) in a 0700 folder, and nothing else."""
    ring = keyring.create(tmp_path / "keyring")
    assert ring.versions == (1,) and ring.current_version == 1
    assert [p.name for p in (tmp_path / "keyring").iterdir()] == ["v1.key"]
    assert _mode(tmp_path / "keyring" / "v1.key") == 0o600
    assert _mode(tmp_path / "keyring") == 0o700


def test_keys_are_derived_from_the_seed_with_a_label_per_kind_and_version(tmp_path: Path) -> None:
    """The key for a kind and version is DeriveKeyPair(seed, seinhuis/pseudonym/<kind>/v<n>)."""
    ring = keyring.create(tmp_path)
    seed = read_key(tmp_path / "v1.key", keyring.KEY_LABEL, 32)
    expected = oprf.derive_key_pair(seed, b"seinhuis/pseudonym/person/v1")
    assert ring.key(PERSON) == expected
    assert ring.key(ADDRESS) == oprf.derive_key_pair(seed, b"seinhuis/pseudonym/address/v1")
    assert ring.key(PERSON) != ring.key(ADDRESS)


def test_rotate_adds_a_current_version_and_keeps_the_old(tmp_path: Path) -> None:
    """rotate adds v2 with a fresh seed; v1 stays and loads unchanged."""
    v1 = keyring.create(tmp_path)
    v2 = keyring.rotate(tmp_path)
    assert v2.versions == (1, 2) and v2.current_version == 2
    assert v2.key(PERSON, 1) == v1.key(PERSON, 1)
    assert v2.key(PERSON, 2) != v2.key(PERSON, 1)
    assert keyring.load(tmp_path).info().versions == (1, 2)


def test_the_rekey_factor_is_new_key_times_inverse_old(tmp_path: Path) -> None:
    """rekey_factor(kind, 1, 2) maps a v1 pseudonym onto the v2 one, per kind."""
    keyring.create(tmp_path)
    ring = keyring.rotate(tmp_path)
    for kind in IdentifierKind:
        factor = ring.rekey_factor(kind, 1, 2)
        old = oprf.evaluate_element(ring.key(kind, 1), b"bsn:123456782")
        assert oprf.rekey(factor, old) == oprf.evaluate_element(ring.key(kind, 2), b"bsn:123456782")
    with pytest.raises(NotFound, match="version 7"):
        ring.rekey_factor(PERSON, 1, 7)


def test_create_refuses_a_folder_that_holds_keys(tmp_path: Path) -> None:
    """init-keyring never overwrites an existing keyring."""
    keyring.create(tmp_path)
    with pytest.raises(ConfigError, match="holds keys already"):
        keyring.create(tmp_path)


def test_load_refuses_empty_foreign_or_exposed_keyrings(tmp_path: Path) -> None:
    """An empty folder, a wrong key label or a group-readable key file is a ConfigError."""
    with pytest.raises(ConfigError, match="no keys"):
        keyring.load(tmp_path)
    keyring.create(tmp_path)
    (tmp_path / "v1.key").chmod(0o640)
    with pytest.raises(ConfigError, match="0600"):
        keyring.load(tmp_path)
    (tmp_path / "v1.key").chmod(0o600)
    (tmp_path / "v1.key").write_text("seinhuis-signing-key " + "00" * 32)
    with pytest.raises(ConfigError, match="oprf-master"):
        keyring.load(tmp_path)


def test_other_files_in_the_folder_are_ignored(tmp_path: Path) -> None:
    """Only v<n>.key names count as versions; temp files and notes do not."""
    keyring.create(tmp_path)
    for name in ("README", ".v2.key.123.tmp", "v01.key", "v2.key.bak"):
        (tmp_path / name).write_text("x")
    assert keyring.list_versions(tmp_path) == (1,)


def test_the_watcher_picks_up_a_rotation_on_disk(tmp_path: Path) -> None:
    """A running service sees a new version after its check interval, and logs the rotation."""
    now = [0.0]
    keyring.create(tmp_path)
    watcher = keyring.KeyringWatcher(tmp_path, interval_s=1.0, clock=lambda: now[0])
    keyring.rotate(tmp_path)
    assert watcher.get().current_version == 1  # not yet time to look
    now[0] = 1.5
    with capture_logs() as events:
        assert watcher.get().current_version == 2
    assert [e["event"] for e in events] == ["pseudonym.rotated"] * 2
    assert {e["kind"] for e in events} == {"PERSON", "ADDRESS"}


def test_the_watcher_keeps_serving_when_a_reload_fails(tmp_path: Path) -> None:
    """A broken key file on disk leaves the loaded keyring in service."""
    keyring.create(tmp_path)
    watcher = keyring.KeyringWatcher(tmp_path)
    (tmp_path / "v2.key").write_text("garbage")
    (tmp_path / "v2.key").chmod(0o600)
    with capture_logs() as events:
        assert watcher.refresh().versions == (1,)
    assert [e["event"] for e in events] == ["pseudonym.keyring_reload_failed"]


def test_no_key_material_in_repr(tmp_path: Path) -> None:
    """repr of a keyring shows versions, not keys."""
    ring = keyring.create(tmp_path)
    text = repr(ring)
    assert "versions=(1,)" in text
    assert ring.key(PERSON).private.hex() not in text and "_keys" not in text
