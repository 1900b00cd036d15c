"""Pseudonyms at the node: the OPRF client behind a bounded, encrypted cache in the node database.

The cache row for an identifier is found by a keyed hash (HMAC-SHA256 of kind and input under a
sub-key of the cache key), so the cache holds no identifier; the pseudonym is encrypted with
XChaCha20-Poly1305 under another sub-key, bound to its row and key version. Both sub-keys come
from the cache key through BLAKE2b with a per-purpose label. A repeat costs no OPRF round; misses
of one batch go to the service together. When the service answers under a new key version the
whole cache is dropped, so a signal never mixes pseudonyms of two versions.
"""

from __future__ import annotations

import hmac
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import nacl.bindings
import nacl.encoding
import nacl.exceptions
import nacl.hash

from node import db
from seinhuis import logs
from seinhuis.errors import Unavailable
from seinhuis.vocabulary import IdentifierKind

log = logs.get_logger(__name__)

PSEUDONYM_BYTES = 32
DEFAULT_MAX_ENTRIES = 1_000_000
_VERSION = "pseudonym_key_version"
_KIND_TAG = {IdentifierKind.PERSON: b"P", IdentifierKind.ADDRESS: b"A"}
_NONCE = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#: SQLite's default limit on host parameters is 32766; stay well below it.
_SQL_CHUNK = 900
#: Rows carry the generation they were last used in; a generation ends after this fraction
#: of max_entries new rows. A hit writes its row only when it is two generations old, so
#: the eviction order stays roughly least-recently-used at a small fraction of the writes.
_GENERATION_FRACTION = 0.05
#: Evict this fraction beyond the limit at once, so eviction runs rarely.
_EVICT_SLACK = 0.05


class PseudonymSource(Protocol):
    """What the cache needs from the pseudonymisation client (pseudonym.client)."""

    def pseudonymize(
        self, kind: IdentifierKind, inputs: Sequence[bytes]
    ) -> tuple[int, list[bytes]]: ...


def derive_key(cache_key: bytes, label: bytes) -> bytes:
    """A 32-byte sub-key of the cache key for one purpose (BLAKE2b keyed, personalised)."""
    return nacl.hash.blake2b(
        b"", key=cache_key, person=label, digest_size=32, encoder=nacl.encoding.RawEncoder
    )


@dataclass(frozen=True)
class CacheStats:
    hits: int
    misses: int
    size: int


class Pseudonymizer:
    """Turns canonical identifier inputs into pseudonyms, all of one key version per call."""

    def __init__(
        self,
        source: PseudonymSource,
        database: Path,
        cache_key: bytes,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_batch: int = 10_000,
        current_version: Callable[[], int] | None = None,
        version_check_interval_s: float = 60.0,
        memory_entries: int = 200_000,
    ) -> None:
        if len(cache_key) != 32:
            raise ValueError("the cache key must be 32 bytes")
        self._source = source
        self._lookup_key = derive_key(cache_key, b"seinhuis-lookup")
        self._seal_key = derive_key(cache_key, b"seinhuis-cache")
        self._max_entries = max(1, max_entries)
        self._max_batch = max(1, max_batch)
        self._current_version = current_version
        self._check_interval = version_check_interval_s
        self._next_check = 0.0
        # NORMAL: a cache row lost in a power cut costs one OPRF round, nothing more.
        self._conn = db.connect(database, synchronous="NORMAL")
        self._writer = db.Writer(self._conn, database)
        self._lock = threading.Lock()
        self._hits = self._misses = 0
        # Decrypted pseudonyms of the current version, most recently used last: an import
        # that repeats the same people should not pay a query and a decryption per row.
        self._memory: OrderedDict[bytes, list[Any]] = OrderedDict()
        self._memory_max = max(1, min(self._max_entries, memory_entries))
        with self._lock:
            self._version = self._read_version()
            (self._size, generation) = self._conn.execute(
                "SELECT COUNT(*), COALESCE(MAX(used), 0) FROM pseudonym_cache"
            ).fetchone()
            self._generation = int(generation)
        self._generation_size = max(1, int(self._max_entries * _GENERATION_FRACTION))
        self._generation_inserts = 0

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            self._writer.close()

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self._hits, self._misses, self._size)

    def pseudonymize(self, kind: IdentifierKind, value: bytes) -> tuple[int, bytes]:
        """One pseudonym and its key version."""
        version, found = self.pseudonymize_many({kind: [value]})
        return version, found[kind][0]

    def pseudonymize_many(
        self, requests: Mapping[IdentifierKind, Sequence[bytes]]
    ) -> tuple[int, dict[IdentifierKind, list[bytes]]]:
        """Pseudonyms for every input, in order, all under the one key version returned."""
        self._maybe_check_version()
        for _ in range(3):
            result = self._attempt(requests)
            if result is not None:
                return result
        raise Unavailable("the pseudonymisation service keeps changing key versions; retry")

    def _attempt(
        self, requests: Mapping[IdentifierKind, Sequence[bytes]]
    ) -> tuple[int, dict[IdentifierKind, list[bytes]]] | None:
        # Deduplicate: an import repeats the same people and addresses many times.
        wanted: dict[tuple[IdentifierKind, bytes], bytes] = {}
        for kind, inputs in requests.items():
            tag = _KIND_TAG[kind]
            for value in inputs:
                if (kind, value) not in wanted:
                    wanted[(kind, value)] = hmac.digest(
                        self._lookup_key, tag + b"\x00" + value, "sha256"
                    )
        if not wanted:
            return self._version or 0, {kind: [] for kind in requests}
        found, version = self._lookup(wanted)
        missing: dict[IdentifierKind, list[bytes]] = {}
        for key in wanted:
            if key not in found:
                missing.setdefault(key[0], []).append(key[1])
        fetched: dict[tuple[IdentifierKind, bytes], bytes] = {}
        versions: set[int] = set()
        for kind, values in missing.items():
            for start in range(0, len(values), self._max_batch):
                chunk = values[start : start + self._max_batch]
                v, pseudonyms = self._source.pseudonymize(kind, chunk)
                if len(pseudonyms) != len(chunk) or any(
                    len(p) != PSEUDONYM_BYTES for p in pseudonyms
                ):
                    raise Unavailable("the pseudonymisation service gave a malformed answer")
                versions.add(v)
                fetched.update(zip(((kind, x) for x in chunk), pseudonyms, strict=True))
        if len(versions) > 1:
            self._reset(max(versions))  # rotated between two chunks
            return None
        if versions:
            (final,) = versions
            if found and final != version:
                # The service rotated its key since these were cached: start over without them.
                self._reset(final)
                return None
            if final != version:
                self._reset(final)
            self._store(final, {wanted[k]: p for k, p in fetched.items()})
        elif version is None:
            raise AssertionError("unreachable: an empty request has nothing to look up")
        else:
            final = version
        merged = found | fetched
        return final, {
            kind: [merged[(kind, value)] for value in inputs] for kind, inputs in requests.items()
        }

    def _lookup(
        self, wanted: Mapping[tuple[IdentifierKind, bytes], bytes]
    ) -> tuple[dict[tuple[IdentifierKind, bytes], bytes], int | None]:
        found: dict[tuple[IdentifierKind, bytes], bytes] = {}
        with self._lock:
            version = self._version
            if version is None:
                self._misses += len(wanted)
                return found, None
            tick, stale_before = self._generation, self._generation - 1
            touch: list[tuple[int, bytes]] = []
            from_disk: dict[bytes, tuple[IdentifierKind, bytes]] = {}
            memory = self._memory
            for key, lookup in wanted.items():
                entry = memory.get(lookup)
                if entry is None:
                    from_disk[lookup] = key
                    continue
                memory.move_to_end(lookup)
                found[key] = entry[0]
                if entry[1] < stale_before:
                    entry[1] = tick
                    touch.append((tick, lookup))
            lookups = list(from_disk)
            for start in range(0, len(lookups), _SQL_CHUNK):
                chunk = lookups[start : start + _SQL_CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    "SELECT lookup, sealed, used FROM pseudonym_cache"  # noqa: S608 - only ?s
                    f" WHERE key_version = ? AND lookup IN ({marks})",
                    (version, *chunk),
                ).fetchall()
                for raw_lookup, sealed, used in rows:
                    lookup = bytes(raw_lookup)
                    pseudonym = self._open(lookup, version, bytes(sealed))
                    if pseudonym is None:
                        continue
                    found[from_disk[lookup]] = pseudonym
                    if used < stale_before:
                        used = tick
                        touch.append((tick, lookup))
                    self._remember(lookup, pseudonym, used)
            if touch:
                # Refresh the eviction order only now and then: a write per hit would cost
                # more than the hit saves.
                with self._writer.transaction():
                    self._conn.executemany(
                        "UPDATE pseudonym_cache SET used = ? WHERE lookup = ?", touch
                    )
            self._hits += len(found)
            self._misses += len(wanted) - len(found)
        return found, version

    def _remember(self, lookup: bytes, pseudonym: bytes, used: int) -> None:
        self._memory[lookup] = [pseudonym, used]
        if len(self._memory) > self._memory_max:
            self._memory.popitem(last=False)

    def _store(self, version: int, entries: Mapping[bytes, bytes]) -> None:
        with self._lock:
            if self._version is not None and self._version != version:
                return  # a newer version arrived meanwhile; these are stale
            rows = [
                (lk, version, self._seal(lk, version, p), self._generation)
                for lk, p in entries.items()
            ]
            with self._writer.transaction():
                if self._version is None:
                    self._write_version(version)
                before = self._conn.total_changes
                self._conn.executemany(
                    "INSERT OR REPLACE INTO pseudonym_cache (lookup, key_version, sealed, used)"
                    " VALUES (?, ?, ?, ?)",
                    rows,
                )
                self._size += self._conn.total_changes - before
                if self._size > self._max_entries:
                    self._evict()
            self._version = version
            for lookup, pseudonym in entries.items():
                self._remember(lookup, pseudonym, self._generation)
            self._generation_inserts += len(entries)
            if self._generation_inserts >= self._generation_size:
                self._generation += 1
                self._generation_inserts = 0

    def _evict(self) -> None:
        # Another process (the import fast path) may share the cache: count before deleting.
        (self._size,) = self._conn.execute("SELECT COUNT(*) FROM pseudonym_cache").fetchone()
        excess = self._size - self._max_entries
        if excess <= 0:
            return
        excess += int(self._max_entries * _EVICT_SLACK)
        self._conn.execute(
            "DELETE FROM pseudonym_cache WHERE lookup IN"
            " (SELECT lookup FROM pseudonym_cache ORDER BY used LIMIT ?)",
            (excess,),
        )
        (self._size,) = self._conn.execute("SELECT COUNT(*) FROM pseudonym_cache").fetchone()

    def _reset(self, version: int) -> None:
        """Drop every cached pseudonym: the service now answers under another key version."""
        with self._lock:
            old = self._version
            with self._writer.transaction():
                self._conn.execute("DELETE FROM pseudonym_cache")
                self._write_version(version)
            self._version, self._size = version, 0
            self._memory.clear()
        if old is not None:
            log.info("node.pseudonym_key_changed", from_version=old, to_version=version)

    def _maybe_check_version(self) -> None:
        if self._current_version is None or time.monotonic() < self._next_check:
            return
        self._next_check = time.monotonic() + self._check_interval
        try:
            current = self._current_version()
        except Exception:
            # A failed check must not block accepting signals; try again next interval.
            return
        with self._lock:
            known = self._version
        if known is not None and current != known:
            self._reset(current)

    def _read_version(self) -> int | None:
        row = self._conn.execute(
            "SELECT value FROM node_meta WHERE name = ?", (_VERSION,)
        ).fetchone()
        return int(row[0]) if row else None

    def _write_version(self, version: int) -> None:
        self._conn.execute(
            "INSERT INTO node_meta (name, value) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (_VERSION, version),
        )

    def _seal(self, lookup: bytes, version: int, pseudonym: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        aad = lookup + version.to_bytes(4, "big")
        return nonce + nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
            pseudonym, aad, nonce, self._seal_key
        )

    def _open(self, lookup: bytes, version: int, sealed: bytes) -> bytes | None:
        aad = lookup + version.to_bytes(4, "big")
        try:
            return bytes(
                nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
                    sealed[_NONCE:], aad, sealed[:_NONCE], self._seal_key
                )
            )
        except nacl.exceptions.CryptoError:
            # A row that does not open (another cache key, tampering) is a miss, not an error.
            return None
