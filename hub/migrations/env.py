"""Alembic's entry point for the hub's schema."""

from __future__ import annotations

from hub.migrations import SCHEMA
from seinhuis.schema import run_env

run_env(SCHEMA)
