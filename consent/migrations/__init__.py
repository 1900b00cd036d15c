"""The consent database's schema migrations (Alembic; see seinhuis.schema): the registry's
tables and the resident portal's, which live in the same database. versions/ holds them."""

from __future__ import annotations

from pathlib import Path

from consent.portal.store import PortalModel
from consent.store.tables import ConsentModel
from seinhuis.schema import Schema

SCHEMA = Schema("consent", Path(__file__).parent, (ConsentModel.metadata, PortalModel.metadata))
