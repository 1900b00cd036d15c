"""Message ids: UUIDv7 (RFC 9562), a 48-bit Unix millisecond time followed by random bits.

Why time-ordered and not 16 random bytes: the hub keeps every id it ever stored in two unique
B-trees (hub_seen_ids, hub_signals). Random ids land on a different leaf page each, so with
millions stored every insert dirties (and writes, and checkpoints) pages of its own; ids made
in the same millisecond share the right-hand leaf instead. 74 random bits keep ids unguessable
and collisions out of reach; the time they show is no more than the hub's own received_at.

Written here rather than taken from a package: the stdlib's uuid gains uuid7 only in Python 3.14,
and the `uuid6` package keeps ids strictly increasing by running its clock ahead of real time
(one millisecond per id), which a bulk import of a million rows would push minutes ahead.
"""

from __future__ import annotations

import secrets
import time

ID_BYTES = 16
_VERSION = 7
_VARIANT = 0b10


def time_ordered(unix_ms: int | None = None) -> bytes:
    """A new UUIDv7's 16 bytes; `unix_ms` (now when None) is its time, in milliseconds."""
    ms = time.time_ns() // 1_000_000 if unix_ms is None else unix_ms
    rand_a = secrets.randbits(12)
    rand_b = secrets.randbits(62)
    value = (ms & 0xFFFF_FFFF_FFFF) << 80 | _VERSION << 76 | rand_a << 64 | _VARIANT << 62 | rand_b
    return value.to_bytes(ID_BYTES, "big")


def unix_ms(message_id: bytes) -> int:
    """The millisecond time a UUIDv7 message id carries."""
    return int.from_bytes(message_id[:6], "big")
