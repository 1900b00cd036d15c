"""The dashboard's figures (pure): counts per week and per month, by life domain and by kind of
partner, and the disclosure control that keeps anyone from being singled out.

Input are the store's aggregated reads (HubStore.signal_tallies, HubStore.case_facts): counts
per day and per-case codes and dates, never a pseudonym. `compute` gives Figures in which every
number is either shown or hidden:

- signals received; cases opened (matches); escalations; cases not taken on by their response
  deadline ("late", by the period the case opened in); closures by outcome: per period, in
  total and per category (life domain or kind of partner; outcome code for closures);
- the share of cases taken on in time (acknowledged on or before their response deadline, by
  the period the case opened in) and the median hours from opening to a first regiehouder;
- open cases past a deadline now, in total and per category.

A case counts under a life domain or kind of partner only through signals whose sender may be
disclosed, exactly as staff are shown a case (hub.operator.views.detail): a GP's involvement,
or any consent-based signal's, never shows.

Disclosure control, with SMALLEST = 5:
1. every count below 5, zero included, is hidden and shown as "<5" (Mark.SMALL);
2. a share is shown only over at least 5 cases, when its numerator and the rest are each 0 or
   at least 5; a median only over at least 5 cases (otherwise Mark.TOO_FEW);
3. where counts add up to another count (a period's parts to its total: signals by domain and
   by kind of partner, closures by outcome; months to the weeks that hold the same days, when
   those weeks are all in view), no hidden count may be worked out by subtraction, also not
   through a chain of such sums: every hidden count from 1 to 4 must still possibly be zero,
   and no hidden larger count may be pinned to one value. Until that holds, the smallest shown
   part of a sum holding it (else its total; else of the nearest sum further along that still
   shows something) is hidden too and shown as "×" (Mark.PROTECTED; such a count is at least
   5); when nothing there is shown any more, the nearest parts (then totals) are withheld
   ("·", Mark.WITHHELD, saying nothing of their size).
   The reader this guards against narrows every hidden count through every sum until nothing
   changes (interval reasoning); tests/hub/dashboard/test_figures.py also tries every whole
   number the published figures allow.
The same cells are hidden whichever period or breakdown is asked for: all of them are
protected together. Counts of several categories per case (a case has several life domains)
do not add up to the total, so rule 3 does not apply to them.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from hub.judgement.model import CaseStatus
from hub.judgement.model import Outcome as CaseOutcome
from hub.judgement.notifications import ALWAYS_CONSENT_GATED
from hub.store.base import CaseFacts, SignalKind, SignalTally
from seinhuis.vocabulary import LegalBasis, LifeDomain, PartnerType

#: Counts below this are never shown; shares and medians need at least this many cases.
SMALLEST = 5
_UNACKNOWLEDGED = frozenset({CaseStatus.OPEN, CaseStatus.ASSIGNED})


class Unit(StrEnum):
    WEEK = "week"
    MONTH = "maand"


class Dimension(StrEnum):
    """What a breakdown is by."""

    LIFE_DOMAIN = "levensdomein"
    PARTNER_TYPE = "partner"


class Mark(StrEnum):
    SHOWN = "shown"
    SMALL = "small"  # a count below SMALLEST: "<5"
    PROTECTED = "protected"  # hidden so that a small count cannot be worked out: "×"
    WITHHELD = "withheld"  # a part of a total given on its own: "·"
    TOO_FEW = "too_few"  # a share or median over too few cases


@dataclass(frozen=True)
class Figure:
    """One number as the dashboard may show it: its value only when shown."""

    value: float | None
    mark: Mark

    @property
    def shown(self) -> bool:
        return self.mark is Mark.SHOWN


@dataclass(frozen=True)
class Period:
    unit: Unit
    start: dt.date
    #: The last day (inclusive); the current period's may lie ahead.
    end: dt.date

    def holds(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class Table:
    """A count per period, in total and per category (codes: LifeDomain, PartnerType or
    Outcome values); `additive`: each counted item is in exactly one category."""

    periods: tuple[Period, ...]
    totals: tuple[Figure, ...]
    categories: tuple[str, ...]
    #: Per category (in `categories` order), per period.
    rows: tuple[tuple[Figure, ...], ...]
    additive: bool


@dataclass(frozen=True)
class Series:
    """One derived figure per period (a share in percent, a median in hours)."""

    periods: tuple[Period, ...]
    values: tuple[Figure, ...]


@dataclass(frozen=True)
class Snapshot:
    """A count now, in total and per category."""

    total: Figure
    categories: tuple[str, ...]
    values: tuple[Figure, ...]


@dataclass(frozen=True)
class Figures:
    unit: Unit
    dimension: Dimension
    today: dt.date
    periods: tuple[Period, ...]
    signals: Table
    opened: Table
    escalated: Table
    late: Table
    outcomes: Table
    #: Percent of the decided cases (taken on, or past the deadline) taken on in time.
    in_time: Series
    #: Median hours from opening to the first regiehouder's briefing.
    to_regiehouder: Series
    overdue: Snapshot


# --- periods ---------------------------------------------------------------------------------


def weeks(today: dt.date, count: int) -> tuple[Period, ...]:
    """The last `count` ISO weeks (Monday to Sunday), the current one last."""
    monday = today - dt.timedelta(days=today.weekday())
    starts = [monday - dt.timedelta(weeks=n) for n in reversed(range(count))]
    return tuple(Period(Unit.WEEK, s, s + dt.timedelta(days=6)) for s in starts)


def months(today: dt.date, count: int) -> tuple[Period, ...]:
    """The last `count` calendar months, the current one last."""
    out = []
    year, month = today.year, today.month
    for _ in range(count):
        start = dt.date(year, month, 1)
        following = dt.date(year + (month == 12), month % 12 + 1, 1)
        out.append(Period(Unit.MONTH, start, following - dt.timedelta(days=1)))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return tuple(reversed(out))


def since(today: dt.date, week_count: int, month_count: int) -> dt.datetime:
    """The first instant any figure looks at (UTC midnight)."""
    first = min(weeks(today, week_count)[0].start, months(today, month_count)[0].start)
    return dt.datetime.combine(first, dt.time(), dt.UTC)


def _period_of(periods: Sequence[Period], day: dt.date) -> int | None:
    for i, p in enumerate(periods):
        if p.holds(day):
            return i
    return None


def _same_days(
    month_periods: Sequence[Period], week_periods: Sequence[Period], today: dt.date
) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Runs of consecutive months and runs of weeks that hold exactly the same days up to
    today (a run of months starting on a Monday): their counts add up to the same sums."""
    found = []
    for first, start in enumerate(month_periods):
        if start.start.weekday() != 0:
            continue
        for last in range(first, len(month_periods)):
            end = min(month_periods[last].end, today)
            inside = tuple(
                i
                for i, w in enumerate(week_periods)
                if w.start >= start.start and w.start <= end and min(w.end, today) <= end
            )
            days = sum(
                (min(week_periods[i].end, today) - week_periods[i].start).days + 1 for i in inside
            )
            if inside and days == (end - start.start).days + 1:
                found.append((tuple(range(first, last + 1)), inside))
    return found


# --- what a case shows ----------------------------------------------------------------------


def disclosable(kind: SignalKind) -> bool:
    """Whether staff may learn this signal's sender and life domain: as
    hub.judgement.notifications.disclosable with no consent to disclose (the hub holds none)."""
    return kind.partner_type not in ALWAYS_CONSENT_GATED and kind.legal_basis is not (
        LegalBasis.TOESTEMMING
    )


def _categories(case: CaseFacts, dimension: Dimension) -> frozenset[str]:
    shown = [k for k in case.signal_kinds if disclosable(k)]
    if dimension is Dimension.LIFE_DOMAIN:
        return frozenset(k.life_domain.value for k in shown)
    return frozenset(k.partner_type.value for k in shown)


def late(case: CaseFacts, today: dt.date) -> bool | None:
    """Whether the regiehouder took the case on after its response deadline (or not before
    it passed); None while undecided (no deadline, or not yet passed and not taken on)."""
    if case.deadline is None:
        return None
    if case.acknowledged_at is not None:
        return case.acknowledged_at.astimezone(dt.UTC).date() > case.deadline
    # Not taken on: late once the deadline's day is over while the case was still open.
    ended = case.closed_on if case.closed_on is not None else today
    return True if ended > case.deadline else None


def overdue(case: CaseFacts, today: dt.date) -> bool:
    """Open now and past a deadline: not taken on by the response deadline, or escalated and
    past the escalation deadline (hub.judgement.lifecycle's own tests)."""
    if case.status is CaseStatus.CLOSED:
        return False
    if case.status in _UNACKNOWLEDGED and case.deadline is not None and today > case.deadline:
        return True
    return (
        case.status is CaseStatus.ESCALATED
        and case.escalation_deadline is not None
        and today > case.escalation_deadline
    )


# --- counting --------------------------------------------------------------------------------

#: A count's cell: (metric, unit, period index, dimension or "", category or "").
Key = tuple[str, str, int, str, str]
_TEMPORAL = ("signals", "opened", "escalated", "late", "outcomes")
_OUTCOME = "uitkomst"
#: The counts whose parts add up to their total: each signal has one life domain and one
#: kind of partner, each closure one outcome.
_ADDITIVE = {
    "signals": (Dimension.LIFE_DOMAIN.value, Dimension.PARTNER_TYPE.value),
    "outcomes": (_OUTCOME,),
}


def categories(dimension: Dimension, tallies: Iterable[SignalTally] = ()) -> tuple[str, ...]:
    """The categories of a breakdown, in the vocabulary's order. The BRP sends no signals; it
    is listed only should a count ever name it (parts must add up to their total)."""
    if dimension is Dimension.LIFE_DOMAIN:
        return tuple(d.value for d in LifeDomain)
    seen = {t.partner_type for t in tallies}
    return tuple(p.value for p in PartnerType if p is not PartnerType.BRP or p in seen)


@dataclass
class _Counter:
    periods: dict[Unit, tuple[Period, ...]]
    cats: dict[str, tuple[str, ...]]
    values: dict[Key, int]
    today: dt.date

    def __post_init__(self) -> None:
        self._index = {
            unit: {
                p.start + dt.timedelta(days=d): i
                for i, p in enumerate(ps)
                for d in range((p.end - p.start).days + 1)
            }
            for unit, ps in self.periods.items()
        }

    def add(
        self, metric: str, day: dt.date, parts: Mapping[str, Iterable[str]], n: int = 1
    ) -> None:
        if day > self.today:
            return  # not yet (a clock ahead): every unit must count the same days
        for unit in self.periods:
            i = self._index[unit].get(day)
            if i is None:
                continue
            self.values[(metric, unit.value, i, "", "")] += n
            for dim, found in parts.items():
                for category in found:
                    self.values[(metric, unit.value, i, dim, category)] += n


def _count(
    tallies: Sequence[SignalTally],
    cases: Sequence[CaseFacts],
    periods: dict[Unit, tuple[Period, ...]],
    today: dt.date,
) -> tuple[_Counter, dict[str, tuple[str, ...]]]:
    cats = {
        Dimension.LIFE_DOMAIN.value: categories(Dimension.LIFE_DOMAIN),
        Dimension.PARTNER_TYPE.value: categories(Dimension.PARTNER_TYPE, tallies),
        _OUTCOME: tuple(o.value for o in CaseOutcome),
    }
    values: dict[Key, int] = {}
    for metric in _TEMPORAL:
        dims = [_OUTCOME] if metric == "outcomes" else [d.value for d in Dimension]
        for unit, ps in periods.items():
            for i in range(len(ps)):
                values[(metric, unit.value, i, "", "")] = 0
                for dim in dims:
                    for category in cats[dim]:
                        values[(metric, unit.value, i, dim, category)] = 0
    counter = _Counter(periods, cats, values, today)
    for t in tallies:
        kinds = {
            Dimension.LIFE_DOMAIN.value: [t.life_domain.value],
            Dimension.PARTNER_TYPE.value: [t.partner_type.value],
        }
        counter.add("signals", t.day, kinds, t.count)
    for case in cases:
        parts = {d.value: _categories(case, d) for d in Dimension}
        opened_on = case.opened_at.astimezone(dt.UTC).date()
        counter.add("opened", opened_on, parts)
        for at, _level in case.escalations:
            counter.add("escalated", at.astimezone(dt.UTC).date(), parts)
        if late(case, today):
            counter.add("late", opened_on, parts)
        if case.outcome is not None and case.closed_on is not None:
            counter.add("outcomes", case.closed_on, {_OUTCOME: [case.outcome.value]})
    return counter, cats


#: Counts a reader knows add up alike: sum(first) == sum(second) (a total and its parts; the
#: months and the weeks that hold the same days).
Sum = tuple[tuple[Key, ...], tuple[Key, ...]]


def _sums(
    values: dict[Key, int],
    periods: dict[Unit, tuple[Period, ...]],
    cats: dict[str, tuple[str, ...]],
    today: dt.date,
) -> list[Sum]:
    """Every published sum."""
    sums: list[Sum] = []
    metrics = {k[0] for k in values}
    for metric, dims in _ADDITIVE.items():
        if metric not in metrics:
            continue
        for unit, ps in periods.items():
            for i in range(len(ps)):
                for dim in dims:
                    parts = tuple((metric, unit.value, i, dim, c) for c in cats.get(dim, ()))
                    if parts:
                        sums.append((((metric, unit.value, i, "", ""),), parts))
    week, month = Unit.WEEK.value, Unit.MONTH.value
    cells = sorted({(k[0], k[3], k[4]) for k in values})
    for month_run, week_run in _same_days(periods[Unit.MONTH], periods[Unit.WEEK], today):
        for metric, dim, category in cells:
            sums.append(
                (
                    tuple((metric, month, m, dim, category) for m in month_run),
                    tuple((metric, week, w, dim, category) for w in week_run),
                )
            )
    return sums


# --- disclosure control ----------------------------------------------------------------------


def protect(values: dict[Key, int], sums: Sequence[Sum]) -> dict[Key, Mark]:
    """Primary and secondary suppression (rules 1 and 3 of the module's docstring).

    A reader who knows every published figure and every sum narrows each hidden cell down by
    working through the sums one after another (bounds propagated until nothing changes; a
    chain through a week, a month and another week is found too). While some hidden count
    from 1 to 4 cannot be zero any more, or a larger one is pinned, hide more near it
    (_hide_more). A reader who learns less works out less, so hiding more never makes a safe
    cell unsafe, and every step hides more: it ends, at the latest with all withheld.
    """
    marks = {k: Mark.SMALL if v < SMALLEST else Mark.SHOWN for k, v in values.items()}
    for cells, group in _groups(values, sums):
        _protect_group(values, marks, cells, group)
    return marks


def _groups(values: dict[Key, int], sums: Sequence[Sum]) -> list[tuple[list[Key], list[Sum]]]:
    """The sums in groups that share no cell (worked through one group at a time)."""
    parent: dict[Key, Key] = {}

    def root(k: Key) -> Key:
        while parent.setdefault(k, k) != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for totals, parts in sums:
        first, *rest = (*totals, *parts)
        for k in rest:
            parent[root(k)] = root(first)
    groups: dict[Key, tuple[set[Key], list[Sum]]] = {}
    for s in sums:
        cells, members = groups.setdefault(root(s[0][0]), (set(), []))
        cells.update(s[0], s[1])
        members.append(s)
    return [(sorted(cells), members) for cells, members in groups.values()]


def _protect_group(
    values: dict[Key, int], marks: dict[Key, Mark], cells: list[Key], sums: list[Sum]
) -> None:
    holding: dict[Key, list[Sum]] = {}
    for s in sums:
        for k in (*s[0], *s[1]):
            holding.setdefault(k, []).append(s)
    while True:
        if not any(marks[k] is not Mark.SHOWN and values[k] > 0 for k in cells):
            return  # hidden zeros only: there is nobody to single out
        bounds = _propagate(values, marks, cells, sums)
        unsafe = [
            k for k in cells if marks[k] is not Mark.SHOWN and not _safe(values[k], bounds[k])
        ]
        if not unsafe or not _hide_more(values, marks, unsafe[0], holding):
            return


def _safe(value: int, bounds: tuple[float, float]) -> bool:
    """A hidden count from 1 to 4 may still be zero; a larger one is not pinned."""
    lo, hi = bounds
    if 0 < value < SMALLEST:
        return lo <= 0
    return value == 0 or lo < hi


def _hide_more(
    values: dict[Key, int], marks: dict[Key, Mark], unsafe: Key, holding: dict[Key, list[Sum]]
) -> bool:
    """One step towards a safe `unsafe`, nearest first: hide the smallest shown part (else
    total) of a sum holding it, else of a sum one step further along, and so on; when nothing
    in the group is shown any more, withhold the nearest parts (else totals) not yet withheld.
    False when everything is withheld already."""
    for hide in (Mark.PROTECTED, Mark.WITHHELD):
        for near in _layers(unsafe, holding):
            for side in (1, 0):  # the parts first, then the totals
                if hide is Mark.PROTECTED:
                    shown = sorted(
                        (values[k], k) for s in near for k in s[side] if marks[k] is Mark.SHOWN
                    )
                    if shown:
                        marks[shown[0][1]] = Mark.PROTECTED
                        return True
                else:
                    left = {k for s in near for k in s[side] if marks[k] is not Mark.WITHHELD}
                    for k in left:
                        marks[k] = Mark.WITHHELD
                    if left:
                        return True
    return False


def _layers(start: Key, holding: dict[Key, list[Sum]]) -> Iterator[list[Sum]]:
    """The sums holding `start`, then those holding their other cells, and so on."""
    seen = {start}
    frontier = [start]
    while frontier:
        near = list({id(s): s for k in frontier for s in holding[k]}.values())
        yield near
        frontier = sorted({k for s in near for k in (*s[0], *s[1])} - seen)
        seen.update(frontier)


def _bounds(values: dict[Key, int], marks: dict[Key, Mark], key: Key) -> tuple[float, float]:
    """What a reader knows of a cell from its mark alone: its value, below SMALLEST, at least
    SMALLEST, or (a withheld part) nothing."""
    mark = marks[key]
    if mark is Mark.SHOWN:
        return values[key], values[key]
    if mark is Mark.SMALL:
        return 0, SMALLEST - 1
    if mark is Mark.PROTECTED:
        return SMALLEST, math.inf
    return 0, math.inf


def _propagate(
    values: dict[Key, int], marks: dict[Key, Mark], cells: list[Key], sums: list[Sum]
) -> dict[Key, tuple[float, float]]:
    """Each cell's range as a reader narrows it with every sum, until nothing changes. (A
    range narrowed within a round is used from the next: older ranges are only wider.)"""
    lo = {k: _bounds(values, marks, k)[0] for k in cells}
    hi = {k: _bounds(values, marks, k)[1] for k in cells}
    changed = True
    while changed:
        changed = False
        for totals, parts in sums:
            for side, other in ((totals, parts), (parts, totals)):
                # sum(side) == sum(other): a cell of `side` is sum(other) - the rest of `side`.
                other_lo = sum(lo[k] for k in other)
                other_hi = _Upper([hi[k] for k in other])
                side_lo = sum(lo[k] for k in side)
                side_hi = _Upper([hi[k] for k in side])
                for k in side:
                    new_lo = max(lo[k], other_lo - side_hi.without(hi[k]))
                    new_hi = min(hi[k], other_hi.value - (side_lo - lo[k]))
                    if new_lo > lo[k] or new_hi < hi[k]:
                        if new_lo > new_hi:  # would narrow for ever: the counts do not add up
                            raise ValueError(f"figures: the counts of {k} do not add up")
                        lo[k], hi[k] = new_lo, new_hi
                        changed = True
    return {k: (lo[k], hi[k]) for k in cells}


class _Upper:
    """A sum of upper bounds, some of which may be unbounded, less one of them on demand."""

    def __init__(self, his: list[float]) -> None:
        self.unbounded = sum(1 for h in his if h == math.inf)
        self.finite = sum(h for h in his if h != math.inf)

    @property
    def value(self) -> float:
        return math.inf if self.unbounded else self.finite

    def without(self, h: float) -> float:
        if h == math.inf:
            return math.inf if self.unbounded > 1 else self.finite
        return math.inf if self.unbounded else self.finite - h


def share(numerator: int, base: int) -> Figure:
    """A percentage, shown under rule 2."""
    rest = base - numerator
    if base < SMALLEST or not all(n == 0 or n >= SMALLEST for n in (numerator, rest)):
        return Figure(None, Mark.TOO_FEW)
    return Figure(100.0 * numerator / base, Mark.SHOWN)


def median(values: Sequence[float]) -> Figure:
    """A median, shown over at least SMALLEST values."""
    if len(values) < SMALLEST:
        return Figure(None, Mark.TOO_FEW)
    return Figure(float(statistics.median(values)), Mark.SHOWN)


def count(value: int) -> Figure:
    """A count on its own (no sum to protect): rule 1 only."""
    return Figure(value, Mark.SHOWN) if value >= SMALLEST else Figure(None, Mark.SMALL)


# --- the figures -----------------------------------------------------------------------------


def compute(
    tallies: Sequence[SignalTally],
    cases: Sequence[CaseFacts],
    *,
    today: dt.date,
    unit: Unit,
    dimension: Dimension,
    week_count: int = 13,
    month_count: int = 12,
) -> Figures:
    """The figures for one unit and breakdown, protected together with every other."""
    periods = {Unit.WEEK: weeks(today, week_count), Unit.MONTH: months(today, month_count)}
    counter, cats = _count(tallies, cases, periods, today)
    values = counter.values
    marks = protect(values, _sums(values, periods, cats, today))

    def figure(key: Key) -> Figure:
        mark = marks[key]
        return Figure(values[key] if mark is Mark.SHOWN else None, mark)

    chosen = periods[unit]

    def table(metric: str, dim: str) -> Table:
        n = range(len(chosen))
        return Table(
            periods=chosen,
            totals=tuple(figure((metric, unit.value, i, "", "")) for i in n),
            categories=cats[dim],
            rows=tuple(
                tuple(figure((metric, unit.value, i, dim, c)) for i in n) for c in cats[dim]
            ),
            additive=metric in ("signals", "outcomes"),
        )

    in_time, to_regie = _derived(cases, chosen, today)
    return Figures(
        unit=unit,
        dimension=dimension,
        today=today,
        periods=chosen,
        signals=table("signals", dimension.value),
        opened=table("opened", dimension.value),
        escalated=table("escalated", dimension.value),
        late=table("late", dimension.value),
        outcomes=table("outcomes", _OUTCOME),
        in_time=in_time,
        to_regiehouder=to_regie,
        overdue=_overdue(cases, today, dimension, cats[dimension.value]),
    )


def _derived(
    cases: Sequence[CaseFacts], periods: Sequence[Period], today: dt.date
) -> tuple[Series, Series]:
    on_time = [0] * len(periods)
    decided = [0] * len(periods)
    hours: list[list[float]] = [[] for _ in periods]
    for case in cases:
        i = _period_of(periods, case.opened_at.astimezone(dt.UTC).date())
        if i is None:
            continue
        was_late = late(case, today)
        if was_late is not None:
            decided[i] += 1
            on_time[i] += not was_late
        if case.regiehouder_at is not None:
            waited = (case.regiehouder_at - case.opened_at).total_seconds() / 3600
            hours[i].append(max(waited, 0.0))
    return (
        Series(tuple(periods), tuple(share(a, b) for a, b in zip(on_time, decided, strict=True))),
        Series(tuple(periods), tuple(median(h) for h in hours)),
    )


def _overdue(
    cases: Sequence[CaseFacts], today: dt.date, dimension: Dimension, cats: tuple[str, ...]
) -> Snapshot:
    late_now = [c for c in cases if overdue(c, today)]
    per = {c: 0 for c in cats}
    for case in late_now:
        for category in _categories(case, dimension):
            per[category] = per.get(category, 0) + 1
    return Snapshot(count(len(late_now)), cats, tuple(count(per[c]) for c in cats))
