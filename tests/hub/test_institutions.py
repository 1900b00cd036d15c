"""The institutions list the judge reads: kept between batches, read again after a rewrite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hub import institutions
from hub.institutions import Institutions, Watched
from seinhuis.errors import ConfigError


def _listed(path: Path, *addresses: bytes) -> None:
    institutions.save(path, Institutions(1, tuple((a, "zorginstelling") for a in addresses)))


def test_the_list_is_read_again_only_when_the_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "institutions.yaml"
    first, second = os.urandom(32), os.urandom(32)
    _listed(path, first)
    reads: list[Path | None] = []
    real_load = institutions.load
    monkeypatch.setattr(institutions, "load", lambda p: reads.append(p) or real_load(p))
    watched = Watched(path)

    assert watched.addresses() == {first}
    assert watched.addresses() == {first}
    assert len(reads) == 1

    _listed(path, first, second)  # as `seinhuis hub rekey` does: a new file put in place
    assert watched.addresses() == {first, second}
    assert len(reads) == 2


def test_no_file_configured_lists_nothing_and_a_broken_file_is_named(tmp_path: Path) -> None:
    assert Watched(None).addresses() == frozenset()
    path = tmp_path / "institutions.yaml"
    path.write_text("key_version: 0\n")
    with pytest.raises(ConfigError, match=r"institutions\.yaml: key_version"):
        Watched(path).addresses()
    with pytest.raises(ConfigError, match="cannot read institutions"):
        Watched(tmp_path / "missing.yaml").addresses()
