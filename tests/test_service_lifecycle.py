"""A service's life: started, settled, stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator

import pytest

from seinhuis import lifecycle


@pytest.fixture
def restored() -> Iterator[None]:
    interval = sys.getswitchinterval()
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    yield
    sys.setswitchinterval(interval)
    for signum, handler in handlers.items():
        signal.signal(signum, handler)


def test_a_running_service_switches_threads_promptly_and_stops_on_sigterm(
    restored: None,
) -> None:
    seen: dict[str, float] = {}

    def start() -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # arrives while the service waits

    def stop() -> None:
        seen["switch_interval"] = sys.getswitchinterval()

    lifecycle.serve_until_signalled(start, stop)
    assert seen["switch_interval"] == pytest.approx(lifecycle.THREAD_SWITCH_S)
