"""The pseudonymisation service's audit database migrations (Alembic; see seinhuis.schema)."""

from __future__ import annotations

from pathlib import Path

from pseudonym.store.sql import AuditModel
from seinhuis.schema import Schema

SCHEMA = Schema("pseudonym", Path(__file__).parent, (AuditModel.metadata,))
