"""An HTTPS server for a WSGI app on a thread: cheroot, with TLS from the standard library.

cheroot is CherryPy's production WSGI server; unlike waitress it terminates TLS itself, so the
portal, the dashboard and the development identity provider speak HTTPS without a proxy in front.
"""

from __future__ import annotations

import logging
import ssl
import threading
from pathlib import Path
from typing import Any

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from seinhuis.errors import ConfigError

#: Worker threads; the pages are quick and mostly wait on SQLite or the pseudonym service.
THREADS = 8
_STOP_WITHIN_S = 10.0


def _quiet(msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
    """cheroot's error log would print request details; the apps log their own events."""


class HttpsServer:
    """Serve `app` on host:port (port 0: a free one) over TLS until stop()."""

    def __init__(self, app: Any, listen: str, cert: Path, key: str | Path, *, name: str) -> None:
        host, _, port = listen.rpartition(":")
        self._name = name
        self._server = wsgi.Server((host.strip("[]"), int(port)), app, numthreads=THREADS)
        adapter = BuiltinSSLAdapter(str(cert), str(key))
        adapter.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._server.ssl_adapter = adapter
        self._server.error_log = _quiet  # type: ignore[method-assign]
        self._thread: threading.Thread | None = None
        self.port = 0

    def start(self) -> int:
        """Bind, start serving on a thread, and return the port."""
        try:
            self._server.prepare()
        except OSError as exc:
            raise ConfigError(f"{self._name}.listen: cannot bind ({exc.strerror})") from exc
        bound = self._server.bind_addr
        assert isinstance(bound, tuple)
        self.port = int(bound[1])
        self._thread = threading.Thread(target=self._server.serve, name=self._name, daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        """Stop serving (nothing to do if never started)."""
        if self._thread is None:
            return
        self._server.stop()
        self._thread.join(timeout=_STOP_WITHIN_S)
        self._thread = None
