"""Working-day arithmetic: weekends and Dutch public holidays (holidays.NL) do not count."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import holidays

from seinhuis.errors import InvalidArgument
from seinhuis.vocabulary import Urgency

WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


@lru_cache(maxsize=64)
def _public_holidays(country: str, year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays(country, years=year).keys())


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days are working days: not a weekend day, not a public holiday, not closed by the
    municipality (`also_closed`), unless the municipality works that holiday (`open_on`)."""

    country: str = "NL"
    weekend: frozenset[int] = frozenset({5, 6})  # date.weekday(): Saturday, Sunday
    also_closed: frozenset[dt.date] = frozenset()
    open_on: frozenset[dt.date] = frozenset()

    def is_working_day(self, day: dt.date) -> bool:
        if day.weekday() in self.weekend or day in self.also_closed:
            return False
        if day in self.open_on:
            return True
        return day not in _public_holidays(self.country, day.year)

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The `days`-th working day after `start` (start itself never counts)."""
        if days < 0:
            raise InvalidArgument("must not be negative", field="days")
        day = start
        while days:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                days -= 1
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """How many working days lie after `start` up to and including `end`."""
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            count += self.is_working_day(day)
        return count


def response_deadline(
    calendar: WorkingCalendar,
    working_days: dict[Urgency, int],
    start: dt.date,
    urgency: Urgency,
) -> dt.date:
    """The last day by which the regiehouder must acknowledge a case of this urgency."""
    try:
        days = working_days[urgency]
    except KeyError:
        raise InvalidArgument(f"no response deadline for urgency {urgency}") from None
    return calendar.add_working_days(start, days)


def passed(deadline: dt.date | None, today: dt.date) -> bool:
    """A deadline has passed once its day is over."""
    return deadline is not None and today > deadline
