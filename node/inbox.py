"""The inbox: notifications from the hub's partner feed, and the cursor to resume the feed from."""

from __future__ import annotations

import builtins
import dataclasses
import datetime as dt
import threading
from dataclasses import dataclass
from pathlib import Path

from node import db
from node.model import DeliveryState, Notification
from seinhuis.v1 import feed_pb2, vocabulary_pb2
from seinhuis.vocabulary import WithdrawReason

KIND_SIGNAL_WITHDRAWN = "signal_withdrawn"
KIND_SIGNAL_EXPIRED = "signal_expired"
KIND_CASE_NOTICE = "case_notice"
KIND_REGIEHOUDER_BRIEFING = "regiehouder_briefing"
CASE_KINDS = frozenset({KIND_CASE_NOTICE, KIND_REGIEHOUDER_BRIEFING})
_CURSOR = "feed_cursor"
# The case notices' content, beside the inbox rows (node/db.py holds the core schema).
_CASE_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox_case (
    cursor  INTEGER PRIMARY KEY REFERENCES inbox (cursor),
    payload BLOB    NOT NULL
);
"""


@dataclass(frozen=True)
class InvolvedView:
    """Another partner in the case, as the regiehouder is told."""

    partner_type: str
    contact_point: str
    life_domains: tuple[str, ...]


@dataclass(frozen=True)
class CaseView:
    """A case notice or briefing mapped to this partner's own references."""

    cursor: int
    created_at: dt.datetime
    kind: str  # KIND_CASE_NOTICE or KIND_REGIEHOUDER_BRIEFING
    notice: str  # CASE_OPENED, CASE_UPDATED, CASE_CLOSED, OUTREACH, REGIE_ASSIGNED, REVIEW
    case_id: bytes
    status: str | None
    signal_ids: tuple[bytes, ...]
    references: tuple[str, ...]  # the partner's references of those signals, where known
    regiehouder: str
    deadline: dt.date | None
    outcome: str | None
    involved: tuple[InvolvedView, ...]


def _enum_name(enum: object, number: int, prefix: str) -> str | None:
    if number == 0:
        return None
    name: str = enum.Name(number)  # type: ignore[attr-defined]
    return name.removeprefix(prefix)


def case_view(
    cursor: int, created_at: dt.datetime, kind: str, payload: bytes, refs: dict[bytes, str]
) -> CaseView:
    """Decode a stored case notice or briefing and put the partner's own references on it."""
    msg: feed_pb2.CaseNotice | feed_pb2.RegiehouderBriefing
    involved: tuple[InvolvedView, ...] = ()
    if kind == KIND_REGIEHOUDER_BRIEFING:
        briefing = feed_pb2.RegiehouderBriefing.FromString(payload)
        involved = tuple(
            InvolvedView(
                partner_type=_enum_name(vocabulary_pb2.PartnerType, i.partner_type, "PARTNER_TYPE_")
                or "",
                contact_point=i.contact_point,
                life_domains=tuple(
                    _enum_name(vocabulary_pb2.LifeDomain, d, "LIFE_DOMAIN_") or ""
                    for d in i.life_domains
                ),
            )
            for i in briefing.involved
        )
        msg = briefing
    else:
        msg = feed_pb2.CaseNotice.FromString(payload)
    ids = tuple(bytes(i) for i in msg.signal_ids)
    deadline = (
        dt.date(msg.deadline.year, msg.deadline.month, msg.deadline.day)
        if msg.HasField("deadline")
        else None
    )
    return CaseView(
        cursor=cursor,
        created_at=created_at,
        kind=kind,
        notice=_enum_name(feed_pb2.CaseNoticeKind, msg.kind, "CASE_NOTICE_KIND_") or "",
        case_id=bytes(msg.case_id),
        status=_enum_name(feed_pb2.CaseStatus, msg.status, "CASE_STATUS_"),
        signal_ids=ids,
        references=tuple(refs.get(i) or i.hex() for i in ids),
        regiehouder=msg.regiehouder_contact_point,
        deadline=deadline,
        outcome=_enum_name(feed_pb2.CaseOutcome, msg.outcome, "CASE_OUTCOME_"),
        involved=involved,
    )


_OUTCOME_NL = {
    "HELPED": "geholpen",
    "DECLINED": "hulp afgewezen",
    "MOVED": "verhuisd",
    "UNJUSTIFIED": "ongegrond",
    "ALREADY_IN_CARE": "al in zorg",
    "NO_CONTACT": "geen contact",
}


def describe(view: CaseView) -> str:
    """The notice in Dutch, with the partner's own references, e.g. "Uw signaal LL-2026-0412
    maakt deel uit van een casus; regiehouder: Sociaal team Noord, 0800-1234; reactie uiterlijk
    2026-11-27"."""
    refs = ", ".join(view.references)
    subject = (
        f"Uw signaal {refs}"
        if len(view.references) == 1
        else f"Uw signalen {refs}"
        if view.references
        else "Een casus"
    )
    verb = "maakt" if len(view.references) == 1 else "maken"
    if view.notice == "OUTREACH":
        return f"{subject} {verb} geen deel uit van een casus; de gemeente biedt hulp aan."
    if view.notice == "CASE_CLOSED":
        outcome = _OUTCOME_NL.get(view.outcome or "", view.outcome or "onbekend")
        return f"{subject}: de casus is gesloten; uitkomst: {outcome}."
    parts = []
    if view.kind == KIND_REGIEHOUDER_BRIEFING:
        parts.append("U bent regiehouder van een casus")
        if view.references:
            noun = "uw signaal" if len(view.references) == 1 else "uw signalen"
            parts.append(f"{noun} {refs} {verb} er deel van uit")
        for i in view.involved:
            parts.append(f"betrokken: {i.contact_point} ({', '.join(i.life_domains).lower()})")
    elif view.references:
        parts.append(f"{subject} {verb} deel uit van een casus")
    else:
        parts.append("Een casus met uw signalen is gewijzigd")
    if view.kind != KIND_REGIEHOUDER_BRIEFING:
        parts.append(f"regiehouder: {view.regiehouder or 'nog niet bekend'}")
    if view.deadline is not None:
        parts.append(f"reactie uiterlijk {view.deadline.isoformat()}")
    if view.notice == "REVIEW":
        parts.append("de casus heeft geen grond meer: beslis over voortzetting")
    return "; ".join(parts)


class Inbox:
    """Stores each notification and advances the cursor in one transaction."""

    def __init__(self, path: Path) -> None:
        self._conn = db.connect(path, synchronous="FULL")
        self._writer = db.Writer(self._conn, path)
        self._lock = threading.Lock()
        # db.connect made the node's schema; the case notices' table sits beside its inbox.
        self._conn.executescript(_CASE_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            self._writer.close()

    def cursor(self) -> int:
        """The cursor of the last notification stored; 0 before the first."""
        with self._lock:
            row = self._conn.execute(
                "SELECT value FROM node_meta WHERE name = ?", (_CURSOR,)
            ).fetchone()
        return int(row[0]) if row else 0

    def store_response(self, response: feed_pb2.SubscribeResponse) -> bool:
        """Store a case notice or briefing straight from the feed, content included; True if
        it was new. Other kinds go through store()."""
        which = response.WhichOneof("notification")
        if which not in CASE_KINDS:
            raise ValueError(f"not a case notification: {which}")
        msg = getattr(response, which)
        created = (
            response.created_at.ToDatetime(dt.UTC)
            if response.HasField("created_at")
            else dt.datetime.now(dt.UTC)
        )
        n = Notification(
            cursor=int(response.cursor),
            created_at=created,
            kind=which,
            id=bytes(msg.case_id),
            reason=None,
            partner_reference="",
        )
        return self.store(n, payload=msg.SerializeToString())

    def store(self, n: Notification, *, payload: bytes | None = None) -> bool:
        """Store a notification unless seen before; True if it was new.

        A withdrawal the hub reports also marks a delivered message withdrawn in the outbox,
        in the same transaction, so inbox, outbox and cursor never disagree after a crash.
        A case notice's content (`payload`) is stored in that transaction too.
        """
        with self._lock, self._writer.transaction() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO inbox (cursor, created_at, received_at, kind, id,"
                " reason) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    n.cursor,
                    db.to_micros(n.created_at),
                    db.now_micros(),
                    n.kind,
                    n.id,
                    n.reason.value if n.reason else None,
                ),
            )
            new = cur.rowcount == 1
            if new and payload is not None:
                conn.execute(
                    "INSERT INTO inbox_case (cursor, payload) VALUES (?, ?)",
                    (n.cursor, payload),
                )
            if new and n.kind == KIND_SIGNAL_WITHDRAWN:
                conn.execute(
                    "UPDATE outbox SET state = ?, withdrawn_at = ?, withdraw_reason = ?,"
                    " payload = NULL WHERE id = ? AND state = ?",
                    (
                        DeliveryState.WITHDRAWN.value,
                        db.now_micros(),
                        n.reason.value if n.reason else None,
                        n.id,
                        DeliveryState.DELIVERED.value,
                    ),
                )
            conn.execute(
                "INSERT INTO node_meta (name, value) VALUES (?, ?) ON CONFLICT (name)"
                " DO UPDATE SET value = max(value, excluded.value)",
                (_CURSOR, n.cursor),
            )
        return new

    def list(self, *, after_cursor: int = 0, limit: int = 1000) -> list[Notification]:
        """Stored notifications in cursor order, with the partner reference where known."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT i.cursor, i.created_at, i.kind, i.id, i.reason, o.partner_reference"
                " FROM inbox i LEFT JOIN outbox o ON o.id = i.id"
                " WHERE i.cursor > ? ORDER BY i.cursor LIMIT ?",
                (after_cursor, limit),
            ).fetchall()
        return [
            Notification(
                cursor=r[0],
                created_at=db.from_micros(r[1]),
                kind=r[2],
                id=bytes(r[3]),
                reason=WithdrawReason(r[4]) if r[4] else None,
                partner_reference=r[5] or "",
            )
            for r in rows
        ]

    def cases(self, *, after_cursor: int = 0, limit: int = 1000) -> builtins.list[CaseView]:
        """Stored case notices and briefings, in cursor order, with this partner's references."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT i.cursor, i.created_at, i.kind, c.payload FROM inbox i"
                " JOIN inbox_case c ON c.cursor = i.cursor"
                " WHERE i.cursor > ? ORDER BY i.cursor LIMIT ?",
                (after_cursor, limit),
            ).fetchall()
            views = []
            for cursor, created, kind, payload in rows:
                view = case_view(cursor, db.from_micros(created), kind, bytes(payload), {})
                refs = tuple(self._reference(i) or i.hex() for i in view.signal_ids)
                views.append(dataclasses.replace(view, references=refs))
        return views

    def _reference(self, message_id: bytes) -> str | None:
        row = self._conn.execute(
            "SELECT partner_reference FROM outbox WHERE id = ?", (message_id,)
        ).fetchone()
        return row[0] if row and row[0] else None
