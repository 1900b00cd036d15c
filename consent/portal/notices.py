"""Telling residents of statute-based signals the hub registered: the portal polls the hub.

A background thread asks the hub's ResidentService for the statute notices after the cursor the
portal stored (ListStatuteNotices), leaves a message and a mail record for every person each
notice concerns (consent.portal.inbox.notify_statute_signal), then stores the new cursor. A
message's id is derived from the signal and the person, so a notice read again (after a crash
before the cursor was stored) adds nothing twice. Polling, rather than the hub calling the
portal, keeps the hub free of a dependency on the portal being up: nothing is lost while either
is down, and the hub needs no outbox of its own.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import threading
from collections.abc import Callable
from typing import Protocol

from consent.model import Pseudonym
from consent.portal.hub_client import HubNotice
from consent.portal.inbox import notify_statute_signal
from consent.portal.store import PortalStore
from seinhuis import logs
from seinhuis.errors import SeinhuisError

log = logs.get_logger(__name__)

_MESSAGE_ID = b"seinhuis/portal-message/v1\x00"
#: Notices asked for at once.
PAGE = 500


class NoticeSource(Protocol):
    """consent.portal.hub_client.HubResidentClient as the follower uses it."""

    def statute_notices_after(self, cursor: int, *, limit: int = 500) -> list[HubNotice]: ...


def message_id(signal_id: bytes, person: Pseudonym) -> bytes:
    """The portal message id for one signal and one person (stable across reads)."""
    h = hashlib.sha256(_MESSAGE_ID + signal_id + person.value)
    h.update(person.key_version.to_bytes(4, "big"))
    return h.digest()[:16]


class NoticeFollower:
    """Polls the hub every `poll_s` seconds; start() and stop() as the portal does."""

    def __init__(
        self,
        hub: NoticeSource,
        store: PortalStore,
        *,
        clock: Callable[[], dt.datetime],
        poll_s: float = 2.0,
    ) -> None:
        self._hub = hub
        self._store = store
        self._clock = clock
        self._poll_s = poll_s
        self._stop = threading.Event()
        context = contextvars.copy_context()
        self._thread = threading.Thread(
            target=context.run, args=(self._run,), name="portal-notices", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                while self.poll_once(PAGE) == PAGE and not self._stop.is_set():
                    pass  # a full page: there may be more at once
            except SeinhuisError as exc:
                # The hub may be away for a while; the next round asks again.
                log.warning("portal.notices_failed", error=exc.status)
            except Exception as exc:
                log.error("portal.internal_error", error_type=type(exc).__name__)
            self._stop.wait(self._poll_s)

    def poll_once(self, limit: int = PAGE) -> int:
        """One page of notices; how many were read."""
        cursor = self._store.hub_notice_cursor()
        notices = self._hub.statute_notices_after(cursor, limit=limit)
        for notice in notices:
            for person in notice.subjects:
                notify_statute_signal(
                    self._store,
                    person,
                    notice.signal_type,
                    notice.partner_type,
                    notice.legal_basis,
                    notice.registered_on,
                    now=self._clock(),
                    new_id=lambda n=notice, p=person: message_id(n.signal_id, p),  # type: ignore[misc]
                    once=True,
                )
            self._store.set_hub_notice_cursor(notice.cursor)
        if notices:
            log.info("portal.notices_read", count=len(notices), cursor=notices[-1].cursor)
        return len(notices)
