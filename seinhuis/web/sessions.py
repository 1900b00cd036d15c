"""Server-side sessions with an idle time-out: the cookie carries only a signed random id.

What a session holds (who logged in, the login's state and nonce, the CSRF token) stays in this
process; the browser never sees it. The cookie is `__Host-` prefixed, Secure, HttpOnly and
SameSite=Lax (Lax, not Strict: the identity provider's redirect back is a cross-site navigation
that must carry it). Each app names its own cookie: cookies belong to a host, not to a port, so
two apps on one host must not share a name. A session unused for longer than the idle time-out
is gone; the next request learns that it expired (`WebSession.expired`). Sessions do not
survive a restart of the service.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from itsdangerous import BadSignature, Signer
from werkzeug.datastructures import CallbackDict

#: Beyond this many live sessions the least recently used are dropped.
MAX_SESSIONS = 10_000


class WebSession(CallbackDict[str, Any], SessionMixin):
    """A dict that notes when it changes, its id (None until stored) and whether it expired."""

    def __init__(
        self, sid: str | None, data: dict[str, Any] | None = None, *, expired: bool = False
    ):
        def on_update(_self: CallbackDict[str, Any]) -> None:
            self.modified = True

        super().__init__(data or {}, on_update)
        self.sid = sid
        self.new = sid is None
        self.modified = False
        #: The previous session timed out; this one starts empty.
        self.expired = expired
        self._rotate = False

    def regenerate(self) -> None:
        """Give the session a fresh id at the next save (at login: no session fixation)."""
        self._rotate = True
        self.modified = True

    @property
    def rotating(self) -> bool:
        return self._rotate


@dataclass
class _Stored:
    data: dict[str, Any]
    last_seen: dt.datetime


class MemorySessionStore:
    """Sessions by id, thread-safe; the least recently used go first when full."""

    def __init__(self, max_sessions: int = MAX_SESSIONS) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, _Stored] = {}
        self._max = max_sessions

    def get(self, sid: str) -> _Stored | None:
        with self._lock:
            return self._sessions.get(sid)

    def put(self, sid: str, data: dict[str, Any], now: dt.datetime) -> None:
        with self._lock:
            self._sessions.pop(sid, None)  # re-insert: dicts keep insertion order, oldest first
            self._sessions[sid] = _Stored(data, now)
            while len(self._sessions) > self._max:
                del self._sessions[next(iter(self._sessions))]

    def delete(self, sid: str) -> None:
        with self._lock:
            self._sessions.pop(sid, None)

    def sweep(self, older_than: dt.datetime) -> None:
        with self._lock:
            for sid in [s for s, v in self._sessions.items() if v.last_seen < older_than]:
                del self._sessions[sid]

    def contents(self) -> list[dict[str, Any]]:
        """What every live session holds (for audits and tests)."""
        with self._lock:
            return [dict(v.data) for v in self._sessions.values()]

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)


class ServerSideSessions(SessionInterface):
    """Flask's session interface over a MemorySessionStore, with an idle time-out.

    cookie_name: `__Host-` and a name of the app's own; salt: separates this app's signed ids
    from any other value signed with the same secret.
    """

    def __init__(
        self,
        store: MemorySessionStore,
        idle: dt.timedelta,
        clock: Callable[[], dt.datetime],
        *,
        cookie_name: str,
        salt: str,
    ) -> None:
        if not cookie_name.startswith("__Host-"):
            raise ValueError("the session cookie must be __Host- prefixed")
        self.store = store
        self.idle = idle
        self.clock = clock
        self.cookie_name = cookie_name
        self.salt = salt

    def _signer(self, app: Flask) -> Signer:
        return Signer(app.secret_key or b"", salt=self.salt)

    def open_session(self, app: Flask, request: Request) -> WebSession:
        raw = request.cookies.get(self.cookie_name)
        if not raw:
            return WebSession(None)
        try:
            sid = self._signer(app).unsign(raw).decode("ascii")
        except (BadSignature, UnicodeDecodeError):
            return WebSession(None)
        stored = self.store.get(sid)
        if stored is None:
            return WebSession(None)
        if self.clock() - stored.last_seen > self.idle:
            self.store.delete(sid)
            return WebSession(None, expired=True)
        return WebSession(sid, dict(stored.data))

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, WebSession)
        now = self.clock()
        if session.sid is not None and (session.rotating or not session):
            self.store.delete(session.sid)
            if not session:
                response.delete_cookie(self.cookie_name, path="/", secure=True, samesite="Lax")
                return
        if not session:
            return
        sid = session.sid
        if sid is None or session.rotating:
            sid = secrets.token_urlsafe(32)
            self.store.sweep(now - self.idle)
            response.set_cookie(
                self.cookie_name,
                self._signer(app).sign(sid).decode("ascii"),
                path="/",
                secure=True,
                httponly=True,
                samesite="Lax",
            )
        # Every request counts as activity: the idle clock starts again.
        self.store.put(sid, dict(session), now)
