"""The pseudonym cache: repeats cost no OPRF round, it holds no identifier, it stays bounded."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from node.pseudonyms import Pseudonymizer
from seinhuis.vocabulary import IdentifierKind
from tests.node.conftest import CACHE_KEY, FakePseudonyms, make_bsn

P, A = IdentifierKind.PERSON, IdentifierKind.ADDRESS


def persons(n: int, start: int = 0) -> list[bytes]:
    return [f"bsn:{make_bsn(i)}".encode() for i in range(start, start + n)]


def test_misses_go_in_one_batch_and_repeats_cost_nothing(
    pseudonymizer: Pseudonymizer, source: FakePseudonyms
) -> None:
    """One call per kind for the misses of a batch; a second batch of the same is all hits."""
    inputs = persons(50)
    version, first = pseudonymizer.pseudonymize_many({P: inputs + inputs, A: [b"nl:1234AB:1::"]})
    assert version == 1
    assert [len(c[1]) for c in source.calls] == [50, 1]  # deduplicated, one call per kind
    _, again = pseudonymizer.pseudonymize_many({P: inputs})
    assert again[P] == first[P][:50] == first[P][50:]
    assert len(source.calls) == 2
    stats = pseudonymizer.stats()
    assert (stats.hits, stats.size) == (50, 51)


def test_the_cache_survives_a_restart(db_path: Path, source: FakePseudonyms) -> None:
    """Cached pseudonyms are read back after reopening the database."""
    first = Pseudonymizer(source, db_path, CACHE_KEY)
    _, expected = first.pseudonymize_many({P: persons(5)})
    first.close()
    second = Pseudonymizer(source, db_path, CACHE_KEY)
    _, found = second.pseudonymize_many({P: persons(5)})
    second.close()
    assert found == expected
    assert len(source.calls) == 1


def test_the_cache_holds_no_identifier_and_no_clear_pseudonym(
    pseudonymizer: Pseudonymizer, db_path: Path
) -> None:
    """Neither the citizen number, the input, nor the pseudonym is in the file in clear."""
    number = make_bsn(7)
    _, found = pseudonymizer.pseudonymize_many({P: [f"bsn:{number}".encode()]})
    pseudonymizer.close()
    raw = b"".join(p.read_bytes() for p in db_path.parent.iterdir() if p.is_file())
    assert number.encode() not in raw
    assert found[P][0] not in raw


def test_another_cache_key_cannot_read_the_cache(db_path: Path, source: FakePseudonyms) -> None:
    """Rows sealed under one cache key are misses under another, never garbage."""
    first = Pseudonymizer(source, db_path, CACHE_KEY)
    first.pseudonymize_many({P: persons(3)})
    first.close()
    other = Pseudonymizer(source, db_path, bytes(32))
    other.pseudonymize_many({P: persons(3)})
    other.close()
    assert len(source.calls) == 2


def test_a_new_key_version_drops_the_cache(
    pseudonymizer: Pseudonymizer, source: FakePseudonyms
) -> None:
    """Once the service answers under a new version, pseudonyms of the old are never mixed in."""
    _, old = pseudonymizer.pseudonymize_many({P: persons(3)})
    source.version = 2
    version, new = pseudonymizer.pseudonymize_many({P: persons(3) + persons(1, start=10)})
    assert version == 2
    assert new[P][:3] != old[P]
    # All four were evaluated under version 2, and are cached under it now.
    assert source.calls[-1] == (P, persons(3) + persons(1, start=10))
    calls = len(source.calls)
    again_version, _ = pseudonymizer.pseudonymize_many({P: persons(3)})
    assert again_version == 2 and len(source.calls) == calls


def test_a_version_probe_invalidates_a_cache_of_only_hits(
    db_path: Path, source: FakePseudonyms
) -> None:
    """Without misses the node learns of a rotation through the periodic version check."""
    p = Pseudonymizer(
        source,
        db_path,
        CACHE_KEY,
        current_version=lambda: source.version,
        version_check_interval_s=0.0,
    )
    p.pseudonymize_many({P: persons(2)})
    source.version = 3
    version, _ = p.pseudonymize_many({P: persons(2)})
    p.close()
    assert version == 3


def test_the_cache_is_bounded(db_path: Path, source: FakePseudonyms) -> None:
    """Beyond max_entries the least recently used rows go."""
    p = Pseudonymizer(source, db_path, CACHE_KEY, max_entries=100)
    hot = persons(10)
    for start in range(0, 300, 20):
        p.pseudonymize_many({P: hot})  # keep these recently used
        p.pseudonymize_many({P: persons(20, start=1000 + start)})
    assert p.stats().size <= 100
    calls = len(source.calls)
    p.pseudonymize_many({P: hot})
    assert len(source.calls) == calls  # the hot ones survived eviction
    p.close()
    with sqlite3.connect(db_path) as conn:
        (count,) = conn.execute("SELECT COUNT(*) FROM pseudonym_cache").fetchone()
    assert count <= 100


def test_an_empty_request_asks_nothing(
    pseudonymizer: Pseudonymizer, source: FakePseudonyms
) -> None:
    """Nothing to pseudonymise means no call to the service."""
    _, found = pseudonymizer.pseudonymize_many({P: [], A: []})
    assert found == {P: [], A: []}
    assert source.calls == []
