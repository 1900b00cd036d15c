"""The audit log's hash chain (hub/audit.py): sealing, canonical encoding and verification."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import pytest

from hub import audit
from hub.audit import (
    GENESIS,
    ActorRole,
    AuditAction,
    AuditDraft,
    AuditEntry,
    Problem,
    Subject,
    SubjectKind,
)

AT = dt.datetime(2026, 11, 23, 9, 30, 0, 123456, tzinfo=dt.UTC)
HOUSEHOLD = hashlib.sha256(b"household").digest()
PERSON = hashlib.sha256(b"person").digest()


def draft(action: AuditAction = AuditAction.VIEW_CASE, **changes: object) -> AuditDraft:
    base = AuditDraft(
        actor_id="anna",
        actor_role=ActorRole.OPERATOR,
        action=action,
        case_ref="C-0123456789abcdef0123",
        detail=AuditDraft.details(outcome="HELPED"),
        subjects=audit.household_subjects(HOUSEHOLD, [PERSON]),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def chain(n: int) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    for i in range(n):
        entries.append(
            audit.seal(draft(), AT + dt.timedelta(seconds=i), entries[-1] if entries else None)
        )
    return entries


def test_entries_link_by_hash_and_count_from_one() -> None:
    entries = chain(3)
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].prev_hash == GENESIS
    assert entries[1].prev_hash == entries[0].hash
    assert entries[2].prev_hash == entries[1].hash
    assert len({e.hash for e in entries}) == 3
    assert audit.verify(entries) == audit.Verification(3)
    assert audit.verify([]).intact


def test_the_hash_is_sha256_over_the_canonical_encoding() -> None:
    (entry,) = chain(1)
    encoded = audit.encode(
        seq=1,
        at=AT,
        actor_id="anna",
        actor_role="OPERATOR",
        action="view_case",
        case_ref="C-0123456789abcdef0123",
        detail=[("outcome", "HELPED")],
        subjects=entry.subjects,
        prev_hash=GENESIS,
    )
    assert entry.hash == hashlib.sha256(b"seinhuis/audit/v1\x00" + encoded).digest()
    # Canonical: sorted keys, no spaces, the instant in UTC to the microsecond, bytes as hex.
    text = encoded.decode()
    assert " " not in text
    assert '"at":"2026-11-23T09:30:00.123456+00:00"' in text
    assert PERSON.hex() in text and HOUSEHOLD.hex() in text


def test_the_encoding_does_not_depend_on_the_order_of_detail_or_subjects_or_the_zone() -> None:
    one = audit.seal(draft(detail=(("b", "2"), ("a", "1"))), AT, None)
    other = audit.seal(
        draft(detail=(("a", "1"), ("b", "2"))),
        AT.astimezone(dt.timezone(dt.timedelta(hours=2))),
        None,
    )
    assert one.hash == other.hash


@pytest.mark.parametrize(
    "change",
    [
        {"actor_id": "mallory"},
        {"actor_role": ActorRole.BESTUURDER},
        {"action": AuditAction.CLOSE},
        {"case_ref": None},
        {"detail": (("outcome", "DECLINED"),)},
        {"subjects": frozenset({Subject(SubjectKind.HOUSEHOLD, HOUSEHOLD)})},
        {"at": AT + dt.timedelta(microseconds=1)},
    ],
    ids=lambda c: next(iter(c)),
)
def test_changing_any_field_of_an_entry_breaks_the_chain_at_that_entry(
    change: dict[str, object],
) -> None:
    entries = chain(4)
    entries[2] = dataclasses.replace(entries[2], **change)  # type: ignore[arg-type]
    result = audit.verify(entries)
    assert not result.intact
    assert (result.first_broken, result.problem) == (3, Problem.HASH_MISMATCH)


def test_a_recomputed_hash_is_caught_by_the_next_entry() -> None:
    """Changing an entry and sealing it again does not help: the next one points at the old."""
    entries = chain(4)
    forged = dataclasses.replace(entries[1], actor_id="mallory")
    entries[1] = dataclasses.replace(forged, hash=audit.entry_hash(forged))
    result = audit.verify(entries)
    assert (result.first_broken, result.problem) == (3, Problem.PREVIOUS_HASH_MISMATCH)


def test_a_removed_entry_is_named_as_missing() -> None:
    entries = chain(5)
    del entries[2]
    result = audit.verify(entries)
    assert (result.first_broken, result.problem) == (3, Problem.MISSING_ENTRY)


def test_drafts_keep_only_the_codes_given() -> None:
    assert AuditDraft.details(to="ggd", outcome=None, level="BESTUURDER") == (
        ("level", "BESTUURDER"),
        ("to", "ggd"),
    )


def test_an_instant_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        audit.seal(draft(), dt.datetime(2026, 1, 1), None)
