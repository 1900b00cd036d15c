"""Following the consent registry: a consent-based signal stops counting when its consent ends.

Two background threads, like node.delivery.FeedFollower and hub.rekey.KeyVersionFollower:

- the watcher subscribes to the registry's Watch stream from the cursor stored at the hub,
  reconnecting with back-off. A change that may end a permit (a consent revoked, an objection
  recorded) is remembered as a narrowing (intake then voids older receipts it covers) and the
  person's counting consent-based signals are checked again with the registry; each one the
  registry no longer permits is marked as no longer counting (it stays stored until its
  retention ends) and its household goes back to the judge, which re-evaluates the case and
  tells the involved partners only that the case changed. The cursor is stored after that, so
  a crash repeats the work rather than losing it.
- the sweeper, every `sweep_interval_s`: signals whose receipt has run out; a second check of
  the people changed a little earlier (a signal in flight during the change may have been
  stored since); and narrowings other hub processes recorded.

The registry decides, with its own precedence rules: the hub never guesses whether a change
covers a signal, it asks (Check, as the hub may).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import threading
import time
from collections.abc import Callable, Sequence

from consent.client import ChangeStream, CheckAnswer, ConsentClient
from consent.model import ChangeKind, ChangeNotice, CheckQuery, Decision, Pseudonym
from hub.consent_check import PURPOSE, ConsentNarrowing, Narrowings
from hub.domain import StoredSignal, Touched
from hub.store import HubStore
from seinhuis import logs
from seinhuis.errors import SeinhuisError
from seinhuis.vocabulary import LegalBasis

log = logs.get_logger(__name__)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def narrowing_of(notice: ChangeNotice) -> ConsentNarrowing | None:
    """The narrowing a change is, if it may end a permit: a consent revoked, an objection made."""
    entry = notice.entry
    revoked_consent = notice.kind is ChangeKind.REVOKED and entry.decision is Decision.PERMIT
    new_objection = notice.kind is ChangeKind.GRANTED and entry.decision is Decision.DENY
    if not (revoked_consent or new_objection):
        return None
    cell = entry.cell
    return ConsentNarrowing(cell.subject, notice.at, cell.source, cell.life_domain, cell.purpose)


def counting_consent_signals(
    signals: Sequence[StoredSignal], person: Pseudonym
) -> list[StoredSignal]:
    """Of these, the consent-based signals about this person that still count."""
    return [
        s
        for s in signals
        if s.consent_lost_at is None
        and s.withdrawn_at is None
        and s.received.signal.legal_basis is LegalBasis.TOESTEMMING
        and s.received.signal.person_pseudonym == person.value
        and s.received.signal.key_version == person.key_version
    ]


class ConsentFollower:
    """The watcher and the sweeper; start() and stop() like the hub's other followers."""

    def __init__(
        self,
        store: HubStore,
        client_factory: Callable[[], ConsentClient],
        narrowings: Narrowings,
        *,
        submit: Callable[[Sequence[Touched]], None] | None,
        clock: Callable[[], dt.datetime] = _utc_now,
        max_age: dt.timedelta = dt.timedelta(days=30),
        sweep_interval_s: float = 5.0,
        backoff_initial_s: float = 0.2,
        backoff_max_s: float = 10.0,
    ) -> None:
        self._store = store
        self._client_factory = client_factory
        self._narrowings = narrowings
        #: Queues households for the judge (hub.judge.Judge.submit, or the store's queue).
        self._submit = submit
        self._clock = clock
        self._max_age = max_age
        self._sweep_interval_s = sweep_interval_s
        self._backoff = (backoff_initial_s, backoff_max_s)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._stream: ChangeStream | None = None
        self._client: ConsentClient | None = None
        #: People to check once more, and when.
        self._again: dict[Pseudonym, float] = {}
        self._narrowings_read_at: dt.datetime | None = None
        # Each thread runs in its own copy of the creator's context (log fields carry over); a
        # context can be entered by one thread at a time.
        self._threads = [
            threading.Thread(
                target=contextvars.copy_context().run, args=(work,), name=name, daemon=True
            )
            for work, name in ((self._watch, "consent-watch"), (self._sweep, "consent-sweep"))
        ]

    def start(self) -> None:
        self._read_narrowings()
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.cancel()
        for t in self._threads:
            if t.is_alive():
                t.join(timeout=10)
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # --- the watcher --------------------------------------------------------------------------

    def _connection(self) -> ConsentClient:
        with self._lock:
            if self._client is None:
                self._client = self._client_factory()
            return self._client

    def _watch(self) -> None:
        failures = 0
        while not self._stop.is_set():
            code = "END_OF_STREAM"
            try:
                client = self._connection()
                after = self._store.consent_cursor()
                stream = client.watch(after)
                with self._lock:
                    self._stream = stream
                if self._stop.is_set():
                    stream.cancel()
                log.info("hub.consent_watch_subscribed", after_cursor=after)
                for notice in stream:
                    self.handle(notice)
                    failures = 0
            except SeinhuisError as exc:
                code = exc.status
            except Exception as exc:  # the follower must outlive one bad change
                log.error("hub.consent_follower_failed", error_type=type(exc).__name__)
                code = "INTERNAL"
            finally:
                with self._lock:
                    self._stream = None
            if self._stop.is_set():
                return
            failures += 1
            initial, ceiling = self._backoff
            delay = min(ceiling, initial * 2 ** min(failures - 1, 16))
            log.info("hub.consent_watch_disconnected", code=code, attempt=failures)
            self._stop.wait(delay)

    def handle(self, notice: ChangeNotice) -> None:
        """Act on one change, then store its cursor."""
        narrowing = narrowing_of(notice)
        if narrowing is not None:
            self._store.add_consent_narrowing(narrowing)
            self._narrowings.add([narrowing])
            self.recheck(narrowing.subject)
            with self._lock:
                self._again[narrowing.subject] = time.monotonic() + self._sweep_interval_s
        self._store.set_consent_cursor(notice.cursor)

    def recheck(self, person: Pseudonym) -> int:
        """Ask the registry about each of the person's counting consent-based signals; mark
        those it no longer permits and send their households to the judge. How many."""
        held = self._store.household_signals((), [person.value])
        signals = counting_consent_signals(held, person)
        # Households of signals marked before go to the judge again too: a crash between an
        # earlier marking and its judgement is then made good by the repeated change.
        lost_before = [s for s in held if s.consent_lost_at is not None and s.withdrawn_at is None]
        if not signals:
            self._judge_again(lost_before)
            return 0
        at = self._clock()
        queries = [
            CheckQuery(
                person,
                s.received.partner_id,
                s.received.partner_type,
                s.received.signal.life_domain,
                PURPOSE,
                at,
            )
            for s in signals
        ]
        answers = self._connection().check_many(queries)
        ended = [s for s, a in zip(signals, answers, strict=True) if _denied(a)]
        return self._lose(ended, at, reason="changed", also=lost_before)

    def _lose(
        self,
        ended: Sequence[StoredSignal],
        at: dt.datetime,
        *,
        reason: str,
        also: Sequence[StoredSignal] = (),
    ) -> int:
        marked = self._store.mark_consent_lost([s.received.id for s in ended], at) if ended else []
        self._judge_again([*ended, *also])
        for sid in marked:
            log.info("hub.consent_lost", id=sid, reason=reason)
        return len(marked)

    def _judge_again(self, signals: Sequence[StoredSignal]) -> None:
        if self._submit is not None and signals:
            self._submit(
                list(
                    dict.fromkeys(
                        Touched(
                            s.received.signal.address_pseudonym, s.received.signal.person_pseudonym
                        )
                        for s in signals
                    )
                )
            )

    # --- the sweeper ----------------------------------------------------------------------------

    def _sweep(self) -> None:
        while not self._stop.wait(self._sweep_interval_s):
            try:
                self.sweep()
            except SeinhuisError as exc:
                log.warning("hub.consent_sweep_failed", error=exc.status)
            except Exception as exc:
                log.error("hub.consent_follower_failed", error_type=type(exc).__name__)

    def sweep(self) -> None:
        """Receipts that ran out, people due for a second check, narrowings seen elsewhere."""
        now = self._clock()
        self._lose(self._store.consent_running_out(now), now, reason="expired")
        with self._lock:
            due = [p for p, when in self._again.items() if when <= time.monotonic()]
            for p in due:
                del self._again[p]
        for person in due:
            self.recheck(person)
        self._read_narrowings()
        self._narrowings.forget_before(now - self._max_age)

    def _read_narrowings(self) -> None:
        """What this and other hub processes recorded (intake here must know it too)."""
        now = self._clock()
        since = self._narrowings_read_at or now - self._max_age
        self._narrowings.add(self._store.consent_narrowings_since(since - dt.timedelta(minutes=1)))
        self._narrowings_read_at = now


def _denied(answer: CheckAnswer | SeinhuisError) -> bool:
    # An error is not a denial: the registry may be away; the next change or sweep asks again.
    return isinstance(answer, CheckAnswer) and not answer.permitted
