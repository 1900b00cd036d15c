"""Message ids follow RFC 9562's UUIDv7 layout, so any UUID tool reads their time."""

from __future__ import annotations

import uuid

from seinhuis import message_ids

#: RFC 9562 appendix A.6: the example UUIDv7's time, Tue Feb 22 2022 19:22:22 UTC.
RFC_9562_EXAMPLE = uuid.UUID("017F22E2-79B0-7CC3-98C4-DC0C0C07398F")
RFC_9562_EXAMPLE_MS = 0x017F22E279B0


def test_the_layout_matches_rfc_9562s_example() -> None:
    made = uuid.UUID(bytes=message_ids.time_ordered(RFC_9562_EXAMPLE_MS))
    assert made.bytes[:6] == RFC_9562_EXAMPLE.bytes[:6]
    assert (made.version, made.variant) == (RFC_9562_EXAMPLE.version, RFC_9562_EXAMPLE.variant)
    assert (made.version, made.variant) == (7, uuid.RFC_4122)
    assert message_ids.unix_ms(RFC_9562_EXAMPLE.bytes) == RFC_9562_EXAMPLE_MS


def test_ids_of_one_millisecond_differ_and_later_milliseconds_sort_after() -> None:
    same = {message_ids.time_ordered(RFC_9562_EXAMPLE_MS) for _ in range(1000)}
    assert len(same) == 1000
    assert max(same) < message_ids.time_ordered(RFC_9562_EXAMPLE_MS + 1)
