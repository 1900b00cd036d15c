"""CSRF tokens on every form and the response headers every page carries (portal, dashboard)."""

from __future__ import annotations

import hmac
import secrets

from flask import Response, request, session

CSRF_FIELD = "csrf_token"
_SESSION_KEY = "csrf"
#: Methods that never change anything (and so carry no token).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: No scripts at all: the pages work without them, and nothing injected can run.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def csrf_token() -> str:
    """This session's token, made on first use (templates put it in every form)."""
    token = session.get(_SESSION_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[_SESSION_KEY] = token
    return token


def csrf_ok() -> bool:
    """Whether a state-changing request carries this session's token."""
    if request.method in SAFE_METHODS:
        return True
    expected = session.get(_SESSION_KEY)
    given = request.form.get(CSRF_FIELD, "")
    return isinstance(expected, str) and hmac.compare_digest(expected, given)


def add_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    # The callback URL carries an authorization code: it must not leak to other sites.
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.endpoint != "static":
        # Pages show personal data: no copies in caches or the back-forward cache.
        headers["Cache-Control"] = "no-store"
    return response
