"""The SQL consent store: SQLite by default, through SQLModel's tables and SQLAlchemy Core.

On SQLite `apply` takes the write lock at BEGIN (BEGIN IMMEDIATE), so its read, its checks and
its writes cannot interleave with another writer, in this process or another, and cursors
become visible in the order they were assigned. On PostgreSQL `apply` locks the change log
table for the transaction to the same end (the contract tests run on both). Opening brings the
schema to the newest migration (consent/migrations), unless automatic migration is off.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from consent.model import (
    Cell,
    Change,
    ChangeKind,
    Decision,
    Entry,
    EntryState,
    Party,
    Pseudonym,
    Purpose,
    Source,
    Validity,
)
from consent.store.base import ConsentStore, Mutator, check_mutation, check_replacement
from consent.store.tables import CHANGES, ENTRIES
from seinhuis import db, schema
from seinhuis.vocabulary import LifeDomain, PartnerType

_IMMEDIATE = db.IMMEDIATE


class SqlConsentStore(ConsentStore):
    """A ConsentStore on an SQLAlchemy URL; opening migrates its schema (open_database)."""

    def __init__(self, url: str, *, auto_migrate: bool = True) -> None:
        super().__init__()
        self._engine = open_database(url, auto_migrate=auto_migrate)
        self._writer = self._engine.execution_options(**{_IMMEDIATE: True})
        self._postgres = self._engine.dialect.name == "postgresql"

    def close(self) -> None:
        super().close()
        self._engine.dispose()

    def apply(self, subject: Pseudonym, mutate: Mutator) -> list[Change]:
        # No retry here when the database is away: a commit whose answer was lost would be
        # applied twice. The caller gets UNAVAILABLE (db.DatabaseUnavailable) and decides.
        with self._writer.begin() as conn:
            if self._postgres:
                conn.exec_driver_sql("LOCK TABLE consent_changes IN EXCLUSIVE MODE")
            mutation = mutate(self._entries_of(conn, subject))
            check_mutation(subject, mutation)
            for entry in mutation.entries:
                self._put(conn, entry)
            stored = []
            for change in mutation.changes:
                result = conn.execute(insert(CHANGES).values(_change_row(change)))
                cursor = result.inserted_primary_key[0] if result.inserted_primary_key else None
                assert isinstance(cursor, int)
                stored.append(dataclasses.replace(change, cursor=cursor))
        if stored:
            self.wake()
        return stored

    @staticmethod
    def _put(conn: Connection, entry: Entry) -> None:
        stored = conn.execute(select(ENTRIES).where(ENTRIES.c.id == entry.id)).first()
        if stored is None:
            conn.execute(insert(ENTRIES).values(_entry_row(entry)))
            return
        check_replacement(_entry(stored._mapping), entry)
        conn.execute(
            update(ENTRIES)
            .where(ENTRIES.c.id == entry.id)
            .values(
                state=entry.state.value,
                awaiting=entry.awaiting.value if entry.awaiting else None,
                changed_at=entry.changed_at,
            )
        )

    @staticmethod
    def _entries_of(conn: Connection, subject: Pseudonym) -> list[Entry]:
        query = (
            select(ENTRIES)
            .where(
                ENTRIES.c.subject == subject.value,
                ENTRIES.c.subject_key_version == subject.key_version,
            )
            .order_by(ENTRIES.c.created_at, ENTRIES.c.id)
        )
        return [_entry(r._mapping) for r in conn.execute(query)]

    def entries(self, subject: Pseudonym) -> list[Entry]:
        with self._engine.connect() as conn:
            return self._entries_of(conn, subject)

    def entry(self, entry_id: bytes) -> Entry | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(ENTRIES).where(ENTRIES.c.id == bytes(entry_id))).first()
        return _entry(row._mapping) if row is not None else None

    def changes_after(
        self, after_cursor: int, *, limit: int = 500, effective_only: bool = False
    ) -> list[Change]:
        query = _changes().where(CHANGES.c.cursor > after_cursor)
        if effective_only:
            query = query.where(CHANGES.c.effective.is_(True))
        with self._engine.connect() as conn:
            rows = conn.execute(query.order_by(CHANGES.c.cursor).limit(limit))
            return [_change(r._mapping) for r in rows]

    def changes_for(self, subject: Pseudonym) -> list[Change]:
        query = _changes().where(
            ENTRIES.c.subject == subject.value,
            ENTRIES.c.subject_key_version == subject.key_version,
        )
        with self._engine.connect() as conn:
            return [_change(r._mapping) for r in conn.execute(query.order_by(CHANGES.c.cursor))]


def _changes() -> Any:
    """Change rows joined with their entry's fixed part (labelled e_*)."""
    entry_columns = [c.label(f"e_{c.name}") for c in ENTRIES.c]
    return select(CHANGES, *entry_columns).join(ENTRIES, ENTRIES.c.id == CHANGES.c.entry_id)


# --- rows <-> domain --------------------------------------------------------------------------


def _utc(value: dt.datetime) -> dt.datetime:
    """SQLite hands instants back without a zone; they were stored in UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _entry_row(entry: Entry) -> dict[str, Any]:
    cell = entry.cell
    return {
        "id": entry.id,
        "subject": cell.subject.value,
        "subject_key_version": cell.subject.key_version,
        "partner_type": cell.source.partner_type.value if cell.source.partner_type else None,
        "partner_id": cell.source.partner_id,
        "life_domain": cell.life_domain.value if cell.life_domain else None,
        "purpose": cell.purpose.value,
        "decision": entry.decision.value,
        "valid_from": entry.validity.valid_from,
        "valid_until": entry.validity.valid_until,
        "state": entry.state.value,
        "awaiting": entry.awaiting.value if entry.awaiting else None,
        "created_at": entry.created_at,
        "changed_at": entry.changed_at,
    }


def _entry(r: Mapping[Any, Any], prefix: str = "") -> Entry:
    def get(name: str) -> Any:
        return r[prefix + name]

    partner_type = get("partner_type")
    life_domain = get("life_domain")
    valid_until = get("valid_until")
    awaiting = get("awaiting")
    return Entry(
        id=bytes(get("id")),
        cell=Cell(
            subject=Pseudonym(bytes(get("subject")), get("subject_key_version")),
            source=Source(
                partner_type=PartnerType(partner_type) if partner_type else None,
                partner_id=get("partner_id"),
            ),
            life_domain=LifeDomain(life_domain) if life_domain else None,
            purpose=Purpose(get("purpose")),
        ),
        decision=Decision(get("decision")),
        validity=Validity(
            _utc(get("valid_from")), _utc(valid_until) if valid_until is not None else None
        ),
        state=EntryState(get("state")),
        awaiting=Party(awaiting) if awaiting else None,
        created_at=_utc(get("created_at")),
        changed_at=_utc(get("changed_at")),
    )


def _change_row(change: Change) -> dict[str, Any]:
    return {
        "at": change.at,
        "kind": change.kind.value,
        "actor": change.actor.value,
        "actor_key_version": change.actor.key_version,
        "party": change.party.value,
        "effective": change.effective,
        "entry_id": change.entry.id,
        "state": change.entry.state.value,
        "awaiting": change.entry.awaiting.value if change.entry.awaiting else None,
    }


def _change(r: Mapping[Any, Any]) -> Change:
    fixed = _entry(r, prefix="e_")
    awaiting = r["awaiting"]
    at = _utc(r["at"])
    entry = dataclasses.replace(
        fixed,
        state=EntryState(r["state"]),
        awaiting=Party(awaiting) if awaiting else None,
        changed_at=at,
    )
    return Change(
        at=at,
        kind=ChangeKind(r["kind"]),
        actor=Pseudonym(bytes(r["actor"]), r["actor_key_version"], field_name="actor"),
        party=Party(r["party"]),
        entry=entry,
        effective=bool(r["effective"]),
        cursor=int(r["cursor"]),
    )


# --- engine -------------------------------------------------------------------------------------


def open_database(url: str, *, auto_migrate: bool = True) -> Engine:
    """The consent database's engine, its schema (registry and portal tables) made current, or
    with auto_migrate off checked to be current."""
    from consent.migrations import SCHEMA

    engine = db.create_engine(url)
    try:
        schema.prepare(
            engine,
            SCHEMA,
            auto_migrate=auto_migrate,
            command_hint="seinhuis consent migrate --config consent.toml",
        )
    except BaseException:
        engine.dispose()
        raise
    return engine
