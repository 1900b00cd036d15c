"""`seinhuis keys signing-key | sealing-key | secret`: the key files an operator makes by hand."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from seinhuis.cli import main
from seinhuis.crypto import keys

Capture = pytest.CaptureFixture[str]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _printed_key_id(out: str) -> str:
    (line,) = [x for x in out.splitlines() if x.startswith("key id ")]
    return line.removeprefix("key id ")


def test_signing_key_writes_a_pair_the_node_and_the_hub_can_load(
    tmp_path: Path, capsys: Capture
) -> None:
    """PREFIX.key (0600) signs, PREFIX.pub verifies it, and the printed id is the .pub's."""
    assert main(["keys", "signing-key", str(tmp_path / "signing-2")]) == 0
    private, public = tmp_path / "signing-2.key", tmp_path / "signing-2.pub"
    signing = keys.load_signing_key(private)
    verify = keys.load_verify_key(public)
    assert verify.verify(signing.sign(b"signal")) == b"signal"
    assert _mode(private) == 0o600
    assert _mode(public) == 0o644
    assert _printed_key_id(capsys.readouterr().out) == keys.key_id(bytes(verify)).hex()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["signing-2.key", "signing-2.pub"]


def test_sealing_key_writes_the_hubs_pair(tmp_path: Path, capsys: Capture) -> None:
    """The sealing pair loads as the hub's key and the nodes' public key; the id is the one an
    envelope names."""
    assert main(["keys", "sealing-key", str(tmp_path / "sealing-2.key")]) == 0  # .key not doubled
    private = keys.load_sealing_key(tmp_path / "sealing-2.key")
    public = keys.load_sealing_public(tmp_path / "sealing-2.pub")
    assert bytes(private.public_key) == bytes(public)
    assert _mode(tmp_path / "sealing-2.key") == 0o600
    assert _printed_key_id(capsys.readouterr().out) == keys.key_id(bytes(public)).hex()


def test_an_existing_key_is_never_overwritten_without_force(
    tmp_path: Path, capsys: Capture
) -> None:
    """A second run refuses (exit 2, naming the file) and leaves both files as they were;
    --force makes a new pair."""
    prefix = str(tmp_path / "signing")
    assert main(["keys", "signing-key", prefix]) == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    capsys.readouterr()
    assert main(["keys", "signing-key", prefix]) == 2
    err = capsys.readouterr().err
    assert (
        err == f"seinhuis: {tmp_path / 'signing.key'}: exists already; pass --force to replace it\n"
    )
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    (tmp_path / "signing.key").unlink()  # only the public half left: still refused
    assert main(["keys", "signing-key", prefix]) == 2
    assert "signing.pub: exists already" in capsys.readouterr().err
    assert main(["keys", "signing-key", prefix, "--force"]) == 0
    assert (tmp_path / "signing.pub").read_bytes() != before["signing.pub"]
    keys.load_signing_key(tmp_path / "signing.key")


def test_secret_writes_a_cache_key_the_node_reads(tmp_path: Path, capsys: Capture) -> None:
    """`keys secret FILE --label cache-key` is what a node reads as its cache_key; no overwrite."""
    path = tmp_path / "cache.key"
    assert main(["keys", "secret", str(path), "--label", "cache-key"]) == 0
    assert len(keys.read_key(path, "cache-key", 32)) == 32
    assert _mode(path) == 0o600
    first = path.read_bytes()
    assert main(["keys", "secret", str(path), "--label", "cache-key"]) == 2
    assert "cache.key: exists already; pass --force" in capsys.readouterr().err
    assert path.read_bytes() == first
    assert main(["keys", "secret", str(path), "--label", "cache-key", "--force"]) == 0
    assert path.read_bytes() != first


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["keys", "signing-key", "{tmp}/no-such-folder/signing"], "the folder"),
        (["keys", "sealing-key", "{tmp}/no-such-folder/sealing"], "does not exist"),
        (["keys", "secret", "{tmp}/cache.key", "--label", "Cache Key"], "--label 'Cache Key'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: Capture, argv: list[str], message: str
) -> None:
    """A missing folder or a bad label: exit 2, one line naming what is wrong, nothing written."""
    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("seinhuis: ") and err.count("\n") == 1 and message in err
    assert list(tmp_path.iterdir()) == []
