"""Bank business days (営業日): not Saturday or Sunday, not a Japanese public holiday
(jpholiday, by the 国民の祝日に関する法律, substitute holidays included), and not the banks'
year-end closure from December 31 to January 3."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import jpholiday

_SATURDAY = 5


@lru_cache(maxsize=8192)
def is_business_day(day: date) -> bool:
    """Whether banks are open for business on ``day``."""
    if day.weekday() >= _SATURDAY:
        return False
    if (day.month, day.day) == (12, 31) or (day.month == 1 and day.day <= 3):
        return False
    return not jpholiday.is_holiday(day)


def on_or_before(day: date) -> date:
    """``day``, or the last business day before it (a pay day moves back)."""
    while not is_business_day(day):
        day -= timedelta(days=1)
    return day


def on_or_after(day: date) -> date:
    """``day``, or the first business day after it (a direct debit moves forward)."""
    while not is_business_day(day):
        day += timedelta(days=1)
    return day
