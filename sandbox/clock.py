"""The sandbox clock: the only place that reads real time. Everything is Japan time."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

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


class Clock(Protocol):
    """Something that tells the time (always aware, Asia/Tokyo)."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class SystemClock:
    """Real time, in Japan."""

    def now(self) -> datetime:
        return datetime.now(UTC).astimezone(JST)

    def monotonic(self) -> float:
        return time.monotonic()


def real_now() -> datetime:
    """Real wall-clock time in Japan (for start-up defaults only)."""
    return datetime.now(UTC).astimezone(JST)


class VirtualClock:
    """A clock that can be frozen, set and advanced; when running it follows real time."""

    def __init__(self, start: datetime | None = None, *, frozen: bool = False) -> None:
        self._lock = threading.Lock()
        self._frozen = frozen
        self._start = to_jst(start) if start is not None else None
        self._start_frozen = frozen
        self._base = self._start if self._start is not None else real_now()
        self._anchor = time.monotonic()

    @property
    def frozen(self) -> bool:
        return self._frozen

    def now(self) -> datetime:
        with self._lock:
            if self._frozen:
                return self._base
            return self._base + timedelta(seconds=time.monotonic() - self._anchor)

    def monotonic(self) -> float:
        return self.now().timestamp()

    def set(self, moment: datetime) -> datetime:
        """Jump to ``moment`` (forwards or backwards)."""
        with self._lock:
            self._base = to_jst(moment)
            self._anchor = time.monotonic()
            return self._base

    def advance(self, seconds: float) -> datetime:
        """Move the clock by ``seconds`` (may be negative)."""
        current = self.now()
        return self.set(current + timedelta(seconds=seconds))

    def freeze(self, frozen: bool = True) -> datetime:
        """Stop (or restart) the clock at the current virtual time."""
        current = self.now()
        with self._lock:
            self._frozen = frozen
            self._base = current
            self._anchor = time.monotonic()
        return current

    def reset(self) -> None:
        """Go back to the scenario's start time (or real time) and mode."""
        with self._lock:
            self._base = self._start if self._start is not None else real_now()
            self._frozen = self._start_frozen
            self._anchor = time.monotonic()
