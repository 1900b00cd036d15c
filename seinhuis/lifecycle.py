"""Running a service until SIGTERM or SIGINT, safely for a signal arriving at any moment."""

from __future__ import annotations

import gc
import signal
import sys
import time
from collections.abc import Callable
from types import FrameType

_POLL_S = 0.1
#: How long a thread may hold the GIL while another waits for it (CPython's default: 5 ms).
THREAD_SWITCH_S = 0.001


def _install_stop_handlers() -> list[int]:
    """Handlers that only append the signal number to the returned list.

    A handler calling Event.set() deadlocks when the signal lands while the main thread holds
    that Event's lock inside Event.wait(), which is likely when a supervisor stops a service
    right after it started; appending to a list takes no Python-level lock.
    """
    received: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return received


def _wait(received: list[int]) -> int:
    while not received:
        time.sleep(_POLL_S)  # a signal interrupts the sleep, so stopping is prompt
    return received[0]


def wait_for_stop_signal() -> int:
    """Block until SIGTERM or SIGINT arrives; return its number."""
    return _wait(_install_stop_handlers())


def serve_until_signalled(start: Callable[[], object], stop: Callable[[], object]) -> None:
    """Install the stop handlers (first, so a signal during start-up still stops cleanly),
    start, wait for a stop signal, stop."""
    received = _install_stop_handlers()
    start()
    settle_heap()
    prompt_thread_switches()
    _wait(received)
    stop()


def settle_heap() -> None:
    """Leave what start-up built (modules, protobuf descriptors, the schema) out of every
    later garbage collection.

    A full collection walks every tracked object: in a service that loaded gRPC, protobuf and
    SQLAlchemy it took 60 to 110 ms on a busy 2-core machine, a pause every request in flight
    waits out. gc.freeze() moves what exists now into a generation no collection walks.
    """
    gc.collect()
    gc.freeze()


def prompt_thread_switches() -> None:
    """Hand the GIL to a waiting thread after 1 ms instead of CPython's 5.

    A service's threads that pass work along (a feed woken by a commit, a node storing a
    notice, the judge's wake-up relay) mostly wait, then need the GIL for a moment, while the
    threads taking in batches hold it for long stretches, so each hand-over can cost the full
    interval. More switches between busy threads cost little: the spine's ingest is unchanged.
    """
    sys.setswitchinterval(THREAD_SWITCH_S)
