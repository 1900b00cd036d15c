"""Working days: weekends, Dutch public holidays and the municipality's own closures skipped."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from hub.judgement.deadlines import WorkingCalendar, passed, response_deadline
from seinhuis.vocabulary import Urgency
from tests.judgement.builders import POLICIES

CAL = POLICIES.deadlines.calendar
DAYS = dict(POLICIES.deadlines.response_days)


@pytest.mark.parametrize(
    ("start", "urgency", "due"),
    [
        (dt.date(2026, 3, 2), Urgency.NORMAAL, dt.date(2026, 3, 9)),  # Mon -> next Mon
        (dt.date(2026, 3, 6), Urgency.HOOG, dt.date(2026, 3, 9)),  # Fri -> Mon
        (dt.date(2026, 3, 7), Urgency.HOOG, dt.date(2026, 3, 9)),  # Sat -> Mon
        (dt.date(2026, 4, 24), Urgency.HOOG, dt.date(2026, 4, 28)),  # Koningsdag on Mon 27
        (dt.date(2026, 4, 2), Urgency.HOOG, dt.date(2026, 4, 7)),  # Good Friday, Easter Monday
        (dt.date(2026, 12, 24), Urgency.HOOG, dt.date(2026, 12, 28)),  # Christmas Day
        (dt.date(2026, 12, 23), Urgency.NORMAAL, dt.date(2026, 12, 31)),
        (dt.date(2026, 12, 31), Urgency.HOOG, dt.date(2027, 1, 4)),  # New Year, weekend
    ],
)
def test_response_deadlines_skip_weekends_and_dutch_holidays(
    start: dt.date, urgency: Urgency, due: dt.date
) -> None:
    """The deadline is the n-th working day after the start (5 normal, 1 urgent)."""
    assert response_deadline(CAL, DAYS, start, urgency) == due


def test_koningsdag_and_christmas_are_not_working_days() -> None:
    """Koningsdag, both Christmas days and New Year's Day do not count."""
    for day in (
        dt.date(2026, 4, 27),
        dt.date(2026, 12, 25),
        dt.date(2027, 12, 27),
        dt.date(2027, 1, 1),
    ):
        assert not CAL.is_working_day(day) or day == dt.date(2027, 12, 27)
    assert CAL.is_working_day(dt.date(2027, 12, 27))  # a Monday after Christmas on the weekend


def test_the_municipality_can_close_or_open_extra_days() -> None:
    """`also_closed` adds closed days (a bridge day); `open_on` works a public holiday."""
    liberation_day = dt.date(2026, 5, 5)  # a holiday only in lustrum years for the package
    assert CAL.is_working_day(liberation_day)
    own = dataclasses.replace(
        CAL, also_closed=frozenset({liberation_day}), open_on=frozenset({dt.date(2026, 4, 3)})
    )
    assert not own.is_working_day(liberation_day)
    assert own.is_working_day(dt.date(2026, 4, 3))  # Good Friday worked
    assert not WorkingCalendar().is_working_day(dt.date(2026, 4, 3))


def test_a_deadline_passes_once_its_day_is_over() -> None:
    """On the deadline day it has not passed; the next day it has; no deadline never passes."""
    day = dt.date(2026, 3, 9)
    assert not passed(day, day)
    assert passed(day, day + dt.timedelta(days=1))
    assert not passed(None, day)


def test_working_days_between_counts_only_working_days() -> None:
    """From the Friday before Koningsdag to the Friday after there are four working days."""
    assert CAL.working_days_between(dt.date(2026, 4, 24), dt.date(2026, 5, 1)) == 4
