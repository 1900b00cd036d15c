"""The judge in a process of its own (hub.toml `judge = "process"`).

The intake is bound by the interpreter lock: a judge thread beside it takes turns with it, so
at high rates every judged signal slows the intake down. In its own process the judge runs on
another core, draining the store's judgement queue exactly as the thread would. The hub starts
and stops it; when the hub dies without stopping it (SIGKILL), it notices its parent is gone and
ends, and the next hub's judge takes the queue over where it was left.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from multiprocessing.synchronize import Event as EventType
from types import FrameType

from hub import institutions as institutions_module
from hub import registry as registry_module
from hub.config import HubConfig
from hub.judge import Judge
from hub.judgement import policy as policy_module
from hub.store import open_store
from seinhuis import lifecycle, logs

log = logs.get_logger(__name__)

#: How often the relay looks whether the hub is stopping (a notice wakes it at once).
RELAY_POLL_S = 0.5
#: How long the hub waits for the judge to finish its batch when stopping.
STOP_TIMEOUT_S = 10.0


class JudgeProcess:
    """The hub's handle on its judge process: starts it, relays its "notices appended" to the
    hub's feeds (SQLite has no cross-process notification; PostgreSQL's LISTEN also works but
    this costs nothing), stops it."""

    def __init__(self, config: HubConfig, on_notices: Callable[[], None]) -> None:
        context = multiprocessing.get_context("spawn")  # nothing of the hub's threads inherited
        self._appended = context.Event()
        # The intake's "households queued": the judge looks at once instead of at its next poll.
        self._queued = context.Event()
        self._stopping = threading.Event()
        self._on_notices = on_notices
        self._process = context.Process(
            target=main,
            args=(config, os.getpid(), self._appended, self._queued),
            name="seinhuis-hub-judge",
            daemon=True,
        )
        self._relay = threading.Thread(target=self._relay_notices, name="hub-judge-relay")

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def wake(self) -> None:
        """Households were queued for judgement: tell the judge process now."""
        self._queued.set()

    def start(self) -> None:
        self._process.start()
        self._relay.start()
        log.info("hub.judge_started", mode="process", pid=self._process.pid)

    def stop(self) -> None:
        """Ask the judge to finish its batch and end; kill it if it does not."""
        if self._process.is_alive():
            self._process.terminate()  # SIGTERM: handled, the judge ends after its batch
            self._process.join(STOP_TIMEOUT_S)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._stopping.set()
        if self._relay.ident is not None:  # started
            self._relay.join()

    def _relay_notices(self) -> None:
        while not self._stopping.is_set():
            if self._appended.wait(RELAY_POLL_S):
                self._appended.clear()
                self._on_notices()


def main(config: HubConfig, parent_pid: int, appended: EventType, queued: EventType) -> None:
    """The judge process: judge until SIGTERM/SIGINT or until the hub is gone."""
    logs.configure("hub")
    # Judging may lag a burst by seconds; the intake's answers to partners may not. When both
    # want the CPU, the intake goes first (by hub.toml's judge_niceness, 10 unless set, added
    # to the hub's own) and the queue absorbs the burst. Under sustained load or a host taking
    # CPU away, a niced judge can fall far behind: an operator who prefers prompt judgement
    # lowers it. (Tried at 0: match latency at half the maximum ingest fell, the spine's rate
    # by about a fifth.)
    os.nice(config.judge_niceness)
    stopping: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)  # only record it: see seinhuis.lifecycle

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # The hub migrated the schema before it started this process, and checkpoints its WAL.
    store = open_store(config.database_url, auto_migrate=False, checkpoints=False)
    institutions_list = institutions_module.Watched(config.institutions)
    judge = Judge(
        store,
        registry_module.load(config.registry),
        policy_module.load(config.policies or policy_module.DEFAULT_DIR),
        institutions=institutions_list.addresses,
        on_notices=appended.set,
        wake=queued,
    )
    lifecycle.settle_heap()
    lifecycle.prompt_thread_switches()
    try:
        judge.run(should_stop=lambda: bool(stopping) or os.getppid() != parent_pid)
    finally:
        store.close()
