"""Alembic's entry point for the pseudonymisation service's audit database schema."""

from __future__ import annotations

from pseudonym.migrations import SCHEMA
from seinhuis.schema import run_env

run_env(SCHEMA)
