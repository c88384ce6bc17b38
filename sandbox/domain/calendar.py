"""The service calendar: the credit union's off-hours windows plus announced maintenance.

Windows (shared/DOMAIN.md, "Service hours"), all Japan time, half-open ``[start, end)``:

1. every day 00:00 for ``daily_midnight_seconds`` (``daily_midnight``);
2. every day 04:00 for ``daily_4am_seconds`` (``daily_4am``);
3. the 1st and 3rd Monday of each month, 02:00-06:00 (``monday_maintenance``);
4. 23:50 the day before the 2nd and 4th Sunday until 07:00 that Sunday (``sunday_maintenance``);
5. January 1-3, 00:00-08:00 and 19:00-24:00 (``new_year``);
6. each scenario maintenance window (``maintenance`` unless it names a reason).

Windows that overlap or touch are merged, so ``retry_after_seconds`` points at the moment
the service really opens again.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol

from sandbox.clock import JST, to_jst

_MONDAY = 0
_SUNDAY = 6
_MAX_MERGES = 10_000
_EPSILON = timedelta(microseconds=1)


class HoursLike(Protocol):
    """What the calendar reads from ``scenario.model.ServiceHours``."""

    @property
    def seed_calendar(self) -> bool: ...

    @property
    def daily_midnight_seconds(self) -> int: ...

    @property
    def daily_4am_seconds(self) -> int: ...


class WindowLike(Protocol):
    """What the calendar reads from ``scenario.model.MaintenanceWindow``."""

    @property
    def start(self) -> datetime: ...

    @property
    def end(self) -> datetime: ...

    @property
    def reason(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ClosedWindow:
    """A period when API linkage is unavailable: ``[start, end)`` in Japan time."""

    start: datetime
    end: datetime
    reason: str

    def covers(self, moment: datetime) -> bool:
        """True if ``moment`` falls inside the window."""
        return self.start <= moment < self.end


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    """``day`` at ``hour:minute`` Japan time."""
    return datetime.combine(day, time(hour, minute), tzinfo=JST)


def _nth_weekday(day: date) -> int:
    """1 for the first such weekday of the month, 2 for the second, ..."""
    return (day.day - 1) // 7 + 1


def seed_windows_starting_on(day: date, hours: HoursLike) -> list[ClosedWindow]:
    """The seed calendar's windows that start on the Japanese date ``day``."""
    windows: list[ClosedWindow] = []
    if hours.daily_midnight_seconds > 0:
        start = _at(day, 0)
        end = start + timedelta(seconds=hours.daily_midnight_seconds)
        windows.append(ClosedWindow(start, end, "daily_midnight"))
    if hours.daily_4am_seconds > 0:
        start = _at(day, 4)
        end = start + timedelta(seconds=hours.daily_4am_seconds)
        windows.append(ClosedWindow(start, end, "daily_4am"))
    if day.weekday() == _MONDAY and _nth_weekday(day) in (1, 3):
        windows.append(ClosedWindow(_at(day, 2), _at(day, 6), "monday_maintenance"))
    sunday = day + timedelta(days=1)
    if sunday.weekday() == _SUNDAY and _nth_weekday(sunday) in (2, 4):
        windows.append(ClosedWindow(_at(day, 23, 50), _at(sunday, 7), "sunday_maintenance"))
    if day.month == 1 and day.day <= 3:
        windows.append(ClosedWindow(_at(day, 0), _at(day, 8), "new_year"))
        windows.append(ClosedWindow(_at(day, 19), _at(day + timedelta(days=1), 0), "new_year"))
    return windows


class ServiceCalendar:
    """Answers "is API linkage open now?" and "when does it open again?"."""

    def __init__(self, hours: HoursLike, maintenance: Sequence[WindowLike] = ()) -> None:
        self._hours = hours
        self._maintenance = tuple(
            ClosedWindow(to_jst(w.start), to_jst(w.end), w.reason or "maintenance")
            for w in maintenance
        )
        self._days: dict[date, tuple[ClosedWindow, ...]] = {}
        # [since, until): a span known to be open (checked on every request, so remembered).
        self._open: tuple[datetime, datetime] | None = None

    def _seed_windows(self, day: date) -> tuple[ClosedWindow, ...]:
        """The seed windows starting on ``day`` (a few days are remembered)."""
        found = self._days.get(day)
        if found is None:
            if len(self._days) > 8:
                self._days.clear()
            found = self._days[day] = tuple(seed_windows_starting_on(day, self._hours))
        return found

    def _covering(self, moment: datetime) -> Iterator[ClosedWindow]:
        """Every single (unmerged) window that covers ``moment``."""
        if self._hours.seed_calendar:
            # No seed window lasts longer than a day, so it started today or yesterday.
            today = moment.date()
            for day in (today - timedelta(days=1), today):
                for window in self._seed_windows(day):
                    if window.covers(moment):
                        yield window
        for window in self._maintenance:
            if window.covers(moment):
                yield window

    def _next_start(self, moment: datetime) -> datetime:
        """The start of the first window after ``moment`` (or two days on, if none sooner)."""
        horizon = moment + timedelta(days=2)
        starts = [w.start for w in self._maintenance if moment < w.start < horizon]
        if self._hours.seed_calendar:
            today = moment.date()
            for day in (today, today + timedelta(days=1)):
                starts += [w.start for w in self._seed_windows(day) if w.start > moment]
        return min(starts, default=horizon)

    def closed_window(self, now: datetime) -> ClosedWindow | None:
        """The merged closed window around ``now``, or None when the service is open."""
        moment = to_jst(now)
        known = self._open
        if known is not None and known[0] <= moment < known[1]:
            return None
        here = list(self._covering(moment))
        if not here:
            self._open = (moment, self._next_start(moment))
            return None
        main = max(here, key=lambda w: (w.end, w.end - w.start))
        start = min(w.start for w in here)
        end = max(w.end for w in here)
        for _ in range(_MAX_MERGES):
            later = [w.end for w in self._covering(end)]
            if not later:
                break
            end = max(later)
        for _ in range(_MAX_MERGES):
            earlier = [w.start for w in self._covering(start - _EPSILON)]
            if not earlier:
                break
            start = min(earlier)
        return ClosedWindow(start, end, main.reason)

    def next_closed_window(self, now: datetime) -> ClosedWindow:
        """The closed window around ``now``, or else the next one to come."""
        current = self.closed_window(now)
        if current is not None:
            return current
        start = self._next_start(to_jst(now))
        return self.closed_window(start) or ClosedWindow(start, start, "none within two days")

    def is_open(self, now: datetime) -> bool:
        """True if API linkage is available at ``now``."""
        return self.closed_window(now) is None

    def retry_after_seconds(self, now: datetime) -> int:
        """Whole seconds until the service opens (at least 1), or 0 when it is open."""
        window = self.closed_window(now)
        if window is None:
            return 0
        remaining = (window.end - to_jst(now)).total_seconds()
        return max(1, math.ceil(remaining))

    def windows_on(self, day: date) -> list[ClosedWindow]:
        """The (unmerged) windows that start on the Japanese date ``day``, sorted."""
        found = seed_windows_starting_on(day, self._hours) if self._hours.seed_calendar else []
        found += [w for w in self._maintenance if w.start.date() == day]
        return sorted(found, key=lambda w: (w.start, w.end))
