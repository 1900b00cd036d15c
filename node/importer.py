"""CSV import of signals (docs/partner-csv.md): parse rows, submit them, report refusals.

Two ways in: through a running node's local API with many calls in flight, or straight into
the node database through node.service with the batched pseudonym cache (the fast path). A
refusal names the row and the field, never the value.
"""

from __future__ import annotations

import csv
import datetime as dt
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO, TypeVar

from node.model import LocalAddress, LocalArrears, LocalPerson, LocalSignal
from seinhuis.errors import InvalidArgument, SeinhuisError
from seinhuis.vocabulary import SignalType, Urgency

if TYPE_CHECKING:
    from node.service import SignalBatch

COLUMNS = (
    "reference",
    "signal_type",
    "urgency",
    "observed_on",
    "bsn",
    "birth_date",
    "postcode",
    "house_number",
    "house_letter",
    "house_number_addition",
    "amount_cents",
    "months_in_arrears",
    "contact_attempted",
    "reminder_sent",
)
_TRUE = frozenset({"1", "true", "yes", "ja", "j", "y"})
_FALSE = frozenset({"", "0", "false", "no", "nee", "n"})
_E = TypeVar("_E", SignalType, Urgency)
_EXTRA = "\x00extra"
_ARREARS_COLUMNS = ("amount_cents", "months_in_arrears", "contact_attempted", "reminder_sent")


@dataclass(frozen=True)
class Refusal:
    """Why one row was not accepted: its row number (the header is row 1) and the reason."""

    row: int
    code: str
    message: str


@dataclass
class Report:
    rows: int = 0
    accepted: int = 0
    refusals: list[Refusal] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, row: int, outcome: bytes | SeinhuisError) -> None:
        with self._lock:
            if isinstance(outcome, SeinhuisError):
                self.refusals.append(Refusal(row, outcome.status, outcome.message))
            else:
                self.accepted += 1

    def add_refusal(self, refusal: Refusal) -> None:
        with self._lock:
            self.refusals.append(refusal)

    @property
    def refused(self) -> int:
        return len(self.refusals)


def open_rows(stream: TextIO) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, row) for each data row; InvalidArgument if the header is not as documented."""
    reader = csv.reader(stream)
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in COLUMNS if c not in header]
    unknown = [h for h in header if h not in COLUMNS]
    if missing or unknown:
        parts = []
        if missing:
            parts.append("missing columns: " + ", ".join(missing))
        if unknown:
            # Column names are the partner's own header, not data: safe to show.
            parts.append("unknown columns: " + ", ".join(unknown[:10]))
        raise InvalidArgument("; ".join(parts), field="header")
    width = len(header)
    for number, cells in enumerate(reader, start=2):
        if len(cells) < width:
            cells += [""] * (width - len(cells))
        row = dict(zip(header, cells[:width], strict=True))
        if any(c.strip() for c in cells[width:]):
            row[_EXTRA] = "1"  # a quoting slip shifts cells: refuse rather than guess
        yield number, row


def parse_row(row: Mapping[str, str | None], *, today: dt.date | None = None) -> LocalSignal:
    """A CSV row as a LocalSignal; InvalidArgument names the column, never the value."""

    def get(name: str) -> str:
        return (row.get(name) or "").strip()

    if row.get(_EXTRA):
        raise InvalidArgument("has more cells than the header", field="row")

    signal_type = _enum(SignalType, get("signal_type"), "signal_type", required=True)
    urgency = _enum(Urgency, get("urgency"), "urgency", required=False) or Urgency.NORMAAL
    arrears = None
    if any(get(c) for c in _ARREARS_COLUMNS):
        arrears = LocalArrears(
            amount_cents=_integer(get("amount_cents"), "amount_cents"),
            months_in_arrears=_integer(get("months_in_arrears"), "months_in_arrears"),
            contact_attempted=_boolean(get("contact_attempted"), "contact_attempted"),
            written_reminder_sent=_boolean(get("reminder_sent"), "reminder_sent"),
        )
    assert signal_type is not None
    return LocalSignal(
        signal_type=signal_type,
        urgency=urgency,
        person=LocalPerson(bsn=get("bsn"), birth_date=_date(get("birth_date"), "birth_date")),
        address=LocalAddress(
            postcode=get("postcode"),
            house_number=_integer(get("house_number"), "house_number"),
            house_letter=get("house_letter"),
            house_number_addition=get("house_number_addition"),
        ),
        observed_on=_date(get("observed_on"), "observed_on") or today,
        arrears=arrears,
        partner_reference=get("reference"),
    )


def _enum(kind: type[_E], value: str, column: str, *, required: bool) -> _E | None:
    if not value:
        if required:
            raise InvalidArgument("required", field=column)
        return None
    try:
        return kind(value.upper())
    except ValueError:
        choices = ", ".join(m.value for m in kind)
        raise InvalidArgument(f"must be one of {choices}", field=column) from None


def _integer(value: str, column: str) -> int:
    if not value:
        return 0
    try:
        return int(value)
    except ValueError:
        raise InvalidArgument("must be a whole number", field=column) from None


def _boolean(value: str, column: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidArgument("must be true or false", field=column)


def _date(value: str, column: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidArgument("must be a date as YYYY-MM-DD", field=column) from None


def chunks(
    rows: Iterable[tuple[int, dict[str, str]]], size: int
) -> Iterator[list[tuple[int, dict[str, str]]]]:
    batch: list[tuple[int, dict[str, str]]] = []
    for item in rows:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class BatchSteps(Protocol):
    """The three steps of node.service.Node.submit_signals."""

    def check_batch(self, signals: Sequence[LocalSignal]) -> SignalBatch: ...
    def pseudonymize_batch(self, batch: SignalBatch) -> SignalBatch: ...
    def store_batch(self, batch: SignalBatch) -> list[bytes | SeinhuisError]: ...


def run_direct(
    rows: Iterable[tuple[int, dict[str, str]]],
    node: BatchSteps,
    *,
    batch_size: int = 2000,
    progress: Callable[[int], None] = lambda n: None,
) -> Report:
    """Import straight into the outbox, a batch of rows per pseudonym round and transaction.

    Pipelined: while one batch is with the pseudonymisation service (whose client does its
    elliptic-curve work outside the GIL), this thread parses and checks the next one.
    """
    report = Report()
    today = dt.date.today()
    in_flight: deque[tuple[list[int], Future[SignalBatch]]] = deque()

    def finish_oldest() -> None:
        numbers, future = in_flight.popleft()
        outcomes = node.store_batch(future.result())
        for number, outcome in zip(numbers, outcomes, strict=True):
            report.add(number, outcome)
        progress(len(numbers))

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-pseudonyms") as pool:
        try:
            for batch in chunks(rows, batch_size):
                numbers: list[int] = []
                signals: list[LocalSignal] = []
                for number, row in batch:
                    report.rows += 1
                    try:
                        signals.append(parse_row(row, today=today))
                        numbers.append(number)
                    except SeinhuisError as exc:
                        report.add(number, exc)
                progress(len(batch) - len(numbers))
                checked = node.check_batch(signals)
                in_flight.append((numbers, pool.submit(node.pseudonymize_batch, checked)))
                while len(in_flight) > 1:
                    finish_oldest()
            while in_flight:
                finish_oldest()
        finally:
            for _, future in in_flight:
                future.cancel()
    report.refusals.sort(key=lambda r: r.row)
    return report


def write_report(report: Report, out: TextIO, *, limit: int = 1000) -> None:
    """The summary and, per refused row, the field and reason (never a value)."""
    out.write(f"{report.rows} rows: {report.accepted} accepted, {report.refused} refused\n")
    for refusal in report.refusals[:limit]:
        out.write(f"row {refusal.row}: {refusal.code}: {refusal.message}\n")
    if report.refused > limit:
        out.write(f"... and {report.refused - limit} more refused rows\n")


def count_rows(path: Path) -> int:
    """Data rows in a CSV file (for the progress bar); quoted newlines may overcount slightly."""
    with path.open("rb") as f:
        return max(0, sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b"")) - 1)
