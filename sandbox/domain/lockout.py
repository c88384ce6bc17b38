"""Attempt counters for API linkage: too many failures lock the account until 00:00 JST.

Rules (shared/DOMAIN.md, table 3/4 and the FAQ), with the gaps filled the way bank systems
usually behave:

- failures are counted per account, per kind ("identity" for screen ②, "pin" for screen ⑤)
  and per Japanese calendar day; counts from an earlier day do not carry over;
- the failure that reaches the kind's limit returns ``"locked_now"`` and locks the account
  for API linkage (only) until 00:00 JST the next day;
- while the account is locked, by either kind, every failure returns ``"locked"`` and is not
  counted;
- a success resets that kind's counter, unless the account is locked: a lock is lifted only
  by the date changing (or :meth:`LockoutBook.unlock` / :meth:`LockoutBook.reset`).
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from sandbox.clock import jst_date, next_midnight, to_jst

Kind = Literal["identity", "pin"]
FailureResult = Literal["counted", "locked_now", "locked"]
KINDS: tuple[Kind, ...] = ("identity", "pin")


@dataclass(frozen=True, slots=True)
class LockState:
    """Why and until when an account is locked for API linkage."""

    kind: Kind
    locked_at: datetime
    until: datetime


@dataclass(slots=True)
class _Counter:
    """Failures of one kind for one account on one Japanese day."""

    day: date
    count: int = 0
    locked_at: datetime | None = None


class LockoutBook:
    """Thread-safe failure counters and day-long locks, per account and kind."""

    def __init__(self, identity_limit: int, pin_limit: int) -> None:
        if identity_limit < 1 or pin_limit < 1:
            raise ValueError("attempt limits must be at least 1")
        self._limits: dict[Kind, int] = {"identity": identity_limit, "pin": pin_limit}
        self._counters: dict[tuple[Kind, Hashable], _Counter] = {}
        self._lock = threading.Lock()

    def limit(self, kind: Kind) -> int:
        """The number of failures of ``kind`` that locks an account."""
        return self._limits[kind]

    def _current(self, kind: Kind, key: Hashable, now: datetime) -> _Counter | None:
        """Today's counter, dropping one left over from an earlier day."""
        counter = self._counters.get((kind, key))
        if counter is None:
            return None
        today = jst_date(now)
        if counter.day < today:
            del self._counters[(kind, key)]
            return None
        # A clock set back to an earlier day sees nothing counted yet.
        return counter if counter.day == today else None

    def _lock_state(self, key: Hashable, now: datetime) -> LockState | None:
        """The lock holding ``key`` (caller holds the mutex); the earliest if both kinds."""
        states = []
        for kind in KINDS:
            counter = self._current(kind, key, now)
            if counter is not None and counter.locked_at is not None:
                states.append(LockState(kind, counter.locked_at, next_midnight(counter.locked_at)))
        return min(states, key=lambda s: s.locked_at) if states else None

    def record_failure(self, kind: Kind, key: Hashable, now: datetime) -> FailureResult:
        """Count one failure; say whether it was counted, locked the account, or hit a lock."""
        moment = to_jst(now)
        with self._lock:
            if self._lock_state(key, moment) is not None:
                return "locked"
            counter = self._current(kind, key, moment)
            if counter is None:
                counter = self._counters[(kind, key)] = _Counter(day=moment.date())
            counter.count += 1
            if counter.count < self._limits[kind]:
                return "counted"
            counter.locked_at = moment
            return "locked_now"

    def record_success(self, kind: Kind, key: Hashable, now: datetime) -> None:
        """Reset the failures of ``kind``; an active lock stays until 00:00 JST."""
        with self._lock:
            counter = self._current(kind, key, to_jst(now))
            if counter is not None and counter.locked_at is None:
                del self._counters[(kind, key)]

    def lock_state(self, key: Hashable, now: datetime) -> LockState | None:
        """The lock blocking API linkage for ``key`` at ``now``, if any."""
        with self._lock:
            return self._lock_state(key, to_jst(now))

    def is_locked(self, key: Hashable, now: datetime) -> bool:
        """True if API linkage is blocked for ``key`` at ``now``."""
        return self.lock_state(key, now) is not None

    def failures(self, kind: Kind, key: Hashable, now: datetime) -> int:
        """Failures of ``kind`` counted for ``key`` today (Japan time)."""
        with self._lock:
            counter = self._current(kind, key, to_jst(now))
            return 0 if counter is None else counter.count

    def unlock(self, key: Hashable) -> None:
        """Clear both counters and any lock of ``key`` (an operator's action)."""
        with self._lock:
            for kind in KINDS:
                self._counters.pop((kind, key), None)

    def reset(self) -> None:
        """Forget every counter and lock."""
        with self._lock:
            self._counters.clear()
