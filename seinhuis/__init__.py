"""Seinhuis: minimal, consent-checked signals from partner nodes to a municipal hub."""

__version__ = "0.1.0"
