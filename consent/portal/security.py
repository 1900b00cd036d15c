"""CSRF tokens on every form and the response headers every portal page carries
(seinhuis.web.security, shared with the dashboard)."""

from __future__ import annotations

from seinhuis.web.security import (
    CONTENT_SECURITY_POLICY,
    CSRF_FIELD,
    SAFE_METHODS,
    add_headers,
    csrf_ok,
    csrf_token,
)

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "CSRF_FIELD",
    "SAFE_METHODS",
    "add_headers",
    "csrf_ok",
    "csrf_token",
]
