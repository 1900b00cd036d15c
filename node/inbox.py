"""The inbox: notifications from the hub's partner feed, and the cursor to resume the feed from."""

from __future__ import annotations

import threading
from pathlib import Path

from node import db
from node.model import DeliveryState, Notification
from seinhuis.vocabulary import WithdrawReason

KIND_SIGNAL_WITHDRAWN = "signal_withdrawn"
KIND_SIGNAL_EXPIRED = "signal_expired"
_CURSOR = "feed_cursor"


class Inbox:
    """Stores each notification and advances the cursor in one transaction."""

    def __init__(self, path: Path) -> None:
        self._conn = db.connect(path, synchronous="FULL")
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def cursor(self) -> int:
        """The cursor of the last notification stored; 0 before the first."""
        with self._lock:
            row = self._conn.execute(
                "SELECT value FROM node_meta WHERE name = ?", (_CURSOR,)
            ).fetchone()
        return int(row[0]) if row else 0

    def store(self, n: Notification) -> bool:
        """Store a notification unless seen before; True if it was new.

        A withdrawal the hub reports also marks a delivered message withdrawn in the outbox,
        in the same transaction, so inbox, outbox and cursor never disagree after a crash.
        """
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
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
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
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
