"""The portal's server-side sessions (seinhuis.web.sessions) under a cookie of its own.

What a session holds (the logged-in actor's pseudonyms and ages, the login's state and nonce,
the CSRF token) stays in this process; the browser never sees a pseudonym.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from seinhuis.web import sessions
from seinhuis.web.sessions import MAX_SESSIONS, MemorySessionStore
from seinhuis.web.sessions import WebSession as PortalSession

COOKIE_NAME = "__Host-portaal-sessie"
_SALT = "seinhuis.consent.portal.session"

__all__ = [
    "COOKIE_NAME",
    "MAX_SESSIONS",
    "MemorySessionStore",
    "PortalSession",
    "ServerSideSessions",
]


class ServerSideSessions(sessions.ServerSideSessions):
    """Sessions with an idle time-out under the portal's cookie."""

    def __init__(
        self,
        store: MemorySessionStore,
        idle: dt.timedelta,
        clock: Callable[[], dt.datetime],
    ) -> None:
        super().__init__(store, idle, clock, cookie_name=COOKIE_NAME, salt=_SALT)
