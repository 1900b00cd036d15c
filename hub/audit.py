"""The hub's audit log as a pure hash chain: entries, their canonical encoding, and verification.

Every view of and action on a case is an entry: who (actor id and role), what (an action code
and a few codes of detail), when, which case, and whose data (the household key and person
pseudonyms concerned). Each entry's hash is SHA-256 over its canonical encoding, which includes
the previous entry's hash, so changing, removing or reordering an entry breaks the chain from
there on. The store appends entries in the same transaction as what they record; this module
holds no I/O.

Whose data is stored with the entry (and hashed), never logged or shown to staff: it answers the
resident's question "who looked at my data".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from hub.judgement.notifications import EscalationNotice

#: The previous hash of the first entry.
GENESIS = bytes(32)
#: The actor id of entries the hub writes itself (its judge).
HUB_ACTOR = "hub"
_DOMAIN = b"seinhuis/audit/v1\x00"


class ActorRole(StrEnum):
    """Who writes an entry: municipal staff by role, or the hub itself."""

    OPERATOR = "OPERATOR"
    PROCESREGISSEUR = "PROCESREGISSEUR"
    BESTUURDER = "BESTUURDER"
    HUB = "HUB"


class AuditAction(StrEnum):
    VIEW_LIST = "view_list"
    VIEW_CASE = "view_case"
    ACKNOWLEDGE = "acknowledge"
    REASSIGN = "reassign"
    ESCALATE = "escalate"
    CLOSE = "close"
    VIEW_AUDIT = "view_audit"  # who looked at a person's or household's data
    ESCALATION_NOTICE = "escalation_notice"  # the hub told a municipal role of a case
    VIEW_FIGURES = "view_figures"  # aggregated figures (the dashboard); concern nobody


class SubjectKind(StrEnum):
    HOUSEHOLD = "HOUSEHOLD"
    PERSON = "PERSON"


class Problem(StrEnum):
    """Why the chain breaks at an entry."""

    MISSING_ENTRY = "MISSING_ENTRY"
    PREVIOUS_HASH_MISMATCH = "PREVIOUS_HASH_MISMATCH"
    HASH_MISMATCH = "HASH_MISMATCH"


@dataclass(frozen=True, order=True)
class Subject:
    """Whose data an entry concerns: a household key or a person pseudonym."""

    kind: SubjectKind
    pseudonym: bytes = field(repr=False)


@dataclass(frozen=True)
class AuditDraft:
    """An entry before the store gives it its place in the chain."""

    actor_id: str
    actor_role: ActorRole
    action: AuditAction
    case_ref: str | None = None
    #: Codes only (a partner id, an outcome code, a status), never free text or identities.
    detail: tuple[tuple[str, str], ...] = ()
    subjects: frozenset[Subject] = frozenset()

    @staticmethod
    def details(**codes: str | None) -> tuple[tuple[str, str], ...]:
        """Detail codes in a canonical order, leaving out the ones that are None."""
        return tuple(sorted((k, v) for k, v in codes.items() if v is not None))


@dataclass(frozen=True)
class AuditEntry:
    """An entry in the chain."""

    seq: int
    at: dt.datetime
    actor_id: str
    actor_role: ActorRole
    action: AuditAction
    case_ref: str | None
    detail: tuple[tuple[str, str], ...]
    subjects: frozenset[Subject] = field(repr=False)
    prev_hash: bytes
    hash: bytes

    @property
    def detail_map(self) -> Mapping[str, str]:
        return dict(self.detail)


@dataclass(frozen=True)
class Verification:
    """The chain holds (first_broken None), or breaks first at an entry for a reason."""

    entries: int
    first_broken: int | None = None
    problem: Problem | None = None

    @property
    def intact(self) -> bool:
        return self.first_broken is None


@dataclass(frozen=True)
class Look:
    """One time someone looked at or acted on a resident's data, as the resident may learn it:
    the role, not the person; the action; when."""

    seq: int
    at: dt.datetime
    actor_role: ActorRole
    action: AuditAction


def household_subjects(household: bytes, persons: Iterable[bytes]) -> frozenset[Subject]:
    """The subjects of one case: its household key and the people its signals concern."""
    return frozenset(
        {Subject(SubjectKind.HOUSEHOLD, household)}
        | {Subject(SubjectKind.PERSON, p) for p in persons}
    )


def escalation_notice_draft(notice: EscalationNotice, subjects: frozenset[Subject]) -> AuditDraft:
    """The hub's entry for an escalation (or review) notice it gave a municipal role."""
    return AuditDraft(
        actor_id=HUB_ACTOR,
        actor_role=ActorRole.HUB,
        action=AuditAction.ESCALATION_NOTICE,
        case_ref=notice.case_id,
        detail=AuditDraft.details(
            to=notice.role.value,
            kind=notice.kind.value,
            level=notice.level.name,
            rule=notice.rule,
        ),
        subjects=subjects,
    )


def _utc(at: dt.datetime) -> dt.datetime:
    if at.tzinfo is None:
        raise ValueError("audit instants must be timezone-aware")
    return at.astimezone(dt.UTC)


def encode(
    *,
    seq: int,
    at: dt.datetime,
    actor_id: str,
    actor_role: str,
    action: str,
    case_ref: str | None,
    detail: Iterable[tuple[str, str]],
    subjects: Iterable[Subject],
    prev_hash: bytes,
) -> bytes:
    """The canonical bytes of an entry: JSON with sorted keys, no spaces, ASCII only; bytes as
    hex, the instant in UTC to the microsecond, detail and subjects sorted."""
    document = {
        "v": 1,
        "seq": seq,
        "at": _utc(at).isoformat(timespec="microseconds"),
        "actor_id": actor_id,
        "actor_role": str(actor_role),
        "action": str(action),
        "case_ref": case_ref,
        "detail": [[k, v] for k, v in sorted(detail)],
        "subjects": [[str(s.kind), s.pseudonym.hex()] for s in sorted(subjects)],
        "prev": prev_hash.hex(),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def entry_hash(entry: AuditEntry) -> bytes:
    """SHA-256 over the entry's canonical encoding (which holds the previous hash)."""
    return hashlib.sha256(
        _DOMAIN
        + encode(
            seq=entry.seq,
            at=entry.at,
            actor_id=entry.actor_id,
            actor_role=entry.actor_role,
            action=entry.action,
            case_ref=entry.case_ref,
            detail=entry.detail,
            subjects=entry.subjects,
            prev_hash=entry.prev_hash,
        )
    ).digest()


def seal(draft: AuditDraft, at: dt.datetime, previous: AuditEntry | None) -> AuditEntry:
    """The entry that follows `previous` (None: the first entry)."""
    unsealed = AuditEntry(
        seq=previous.seq + 1 if previous is not None else 1,
        at=_utc(at),
        actor_id=draft.actor_id,
        actor_role=draft.actor_role,
        action=draft.action,
        case_ref=draft.case_ref,
        detail=tuple(sorted(draft.detail)),
        subjects=draft.subjects,
        prev_hash=previous.hash if previous is not None else GENESIS,
        hash=b"",
    )
    return dataclasses.replace(unsealed, hash=entry_hash(unsealed))


def verify(entries: Iterable[AuditEntry]) -> Verification:
    """Walk the chain from its first entry (in sequence order) and name the first one that does
    not hold: a gap in the sequence, a previous hash that is not the one before's, or content
    that does not match its hash. Removing the newest entries leaves a shorter chain that holds;
    comparing `entries` with a count kept elsewhere catches that."""
    expected_seq = 1
    prev = GENESIS
    count = 0
    for entry in entries:
        count += 1
        if entry.seq != expected_seq:
            return Verification(count, min(entry.seq, expected_seq), Problem.MISSING_ENTRY)
        if entry.prev_hash != prev:
            return Verification(count, entry.seq, Problem.PREVIOUS_HASH_MISMATCH)
        if entry_hash(entry) != entry.hash:
            return Verification(count, entry.seq, Problem.HASH_MISMATCH)
        prev = entry.hash
        expected_seq += 1
    return Verification(count)
