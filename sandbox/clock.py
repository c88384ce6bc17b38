"""The sandbox clock: the only place that reads real time. Everything is Japan time.

A bank's virtual clock is a value, :class:`ClockState` (virtual base, wall-clock anchor,
frozen), that a store can hold: every worker that reads the same state computes the same
time, and a restart continues where the clock stood.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sandbox.copies import replace

JST = ZoneInfo("Asia/Tokyo")


def to_jst(moment: datetime) -> datetime:
    """Return an aware datetime in Asia/Tokyo; a naive one is taken as Japan time."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=JST)
    return moment.astimezone(JST)


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 date-time; a value without offset is Japan time (ValueError if bad)."""
    try:
        return to_jst(datetime.fromisoformat(text))
    except OverflowError:
        raise ValueError(f"date-time out of range: {text[:40]!r}") from None


def next_midnight(moment: datetime) -> datetime:
    """00:00 Asia/Tokyo of the day after ``moment``."""
    local = to_jst(moment)
    tomorrow = local.date() + timedelta(days=1)
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=JST)


def jst_date(moment: datetime) -> date:
    """The calendar date in Japan of ``moment``."""
    return to_jst(moment).date()


def wall_seconds() -> float:
    """Real wall-clock time, seconds since the epoch (the anchor of every virtual clock)."""
    return time.time()


def real_now() -> datetime:
    """Real wall-clock time in Japan (for start-up defaults only)."""
    return datetime.now(UTC).astimezone(JST)


@dataclass(frozen=True, slots=True)
class ClockState:
    """A virtual clock as data: ``base`` at wall time ``anchor``; frozen or running.

    ``origin`` is the virtual time the bank (re)started at: statements are derived from it.
    """

    base: datetime
    anchor: float
    frozen: bool
    origin: datetime

    @classmethod
    def starting(cls, start: datetime | None, frozen: bool, wall: float) -> ClockState:
        """A clock at ``start`` (or real time when None) as of wall time ``wall``."""
        base = to_jst(start) if start is not None else datetime.fromtimestamp(wall, JST)
        return cls(base=base, anchor=wall, frozen=frozen, origin=base)

    def now(self, wall: float) -> datetime:
        """The virtual time at wall time ``wall``."""
        if self.frozen:
            return self.base
        return self.base + timedelta(seconds=wall - self.anchor)

    def set(self, moment: datetime, wall: float) -> ClockState:
        """Jump to ``moment`` (forwards or backwards), keeping the mode."""
        return replace(self, base=to_jst(moment), anchor=wall)

    def advance(self, seconds: float, wall: float) -> ClockState:
        """Move the clock by ``seconds`` (may be negative)."""
        return self.set(self.now(wall) + timedelta(seconds=seconds), wall)

    def freeze(self, frozen: bool, wall: float) -> ClockState:
        """Stop (or restart) the clock at the current virtual time."""
        return replace(self, base=self.now(wall), anchor=wall, frozen=frozen)
