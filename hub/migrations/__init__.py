"""The hub's schema migrations (Alembic; see seinhuis.schema). versions/ holds the revisions."""

from __future__ import annotations

from pathlib import Path

from hub.store.tables import HubModel
from seinhuis.schema import Schema

SCHEMA = Schema("hub", Path(__file__).parent, (HubModel.metadata,))
