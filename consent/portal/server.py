"""The portal's HTTPS server: cheroot with TLS from the standard library (seinhuis.web.server,
shared with the dashboard and the development identity provider)."""

from __future__ import annotations

from seinhuis.web.server import THREADS, HttpsServer

__all__ = ["THREADS", "HttpsServer"]
