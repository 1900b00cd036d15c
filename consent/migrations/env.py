"""Alembic's entry point for the consent database's schema."""

from __future__ import annotations

from consent.migrations import SCHEMA
from seinhuis.schema import run_env

run_env(SCHEMA)
