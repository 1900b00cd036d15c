"""A BRP node never sends a residence date that would reveal a date of birth."""

from __future__ import annotations

import datetime as dt

from node.service import _residence_date

BORN = dt.date(2013, 8, 19)
TODAY = dt.date(2026, 11, 22)


def test_a_residence_since_birth_is_sent_without_a_date() -> None:
    """Living at an address since the day of birth sends no date at all."""
    assert _residence_date(BORN, BORN, TODAY) is None


def test_a_residence_from_within_the_first_year_is_sent_without_a_date() -> None:
    """A date within the first year of life would narrow down the birth date: withheld."""
    assert _residence_date(dt.date(2014, 3, 1), BORN, TODAY) is None


def test_a_later_move_in_date_is_sent() -> None:
    """A move-in date years after birth says nothing about the birth date and is kept."""
    assert _residence_date(dt.date(2020, 5, 1), BORN, TODAY) == dt.date(2020, 5, 1)
