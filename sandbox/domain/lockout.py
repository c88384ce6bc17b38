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
  by the date changing (or an operator's unlock / a reset).

Everything here is a pure function of one account's :class:`LockRecord`; a store applies
them atomically (one read-modify-write per attempt).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from sandbox.clock import JST, jst_date, next_midnight, to_jst
from sandbox.copies import replace

Kind = Literal["identity", "pin"]
FailureResult = Literal["counted", "locked_now", "locked"]
KINDS: tuple[Kind, ...] = ("identity", "pin")


@dataclass(frozen=True, slots=True)
class Limits:
    """How many failures of each kind lock an account."""

    identity: int
    pin: int

    def __post_init__(self) -> None:
        if self.identity < 1 or self.pin < 1:
            raise ValueError("attempt limits must be at least 1")

    def of(self, kind: Kind) -> int:
        return self.identity if kind == "identity" else self.pin


@dataclass(frozen=True, slots=True)
class LockState:
    """Why and until when an account is locked for API linkage."""

    kind: Kind
    locked_at: datetime
    until: datetime


@dataclass(frozen=True, slots=True)
class Counter:
    """Failures of one kind for one account on one Japanese day."""

    day: date
    count: int = 0
    locked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LockRecord:
    """Both counters of one account (None: nothing counted)."""

    identity: Counter | None = None
    pin: Counter | None = None

    def counter(self, kind: Kind) -> Counter | None:
        return self.identity if kind == "identity" else self.pin

    def with_counter(self, kind: Kind, counter: Counter | None) -> LockRecord:
        return replace(self, **{kind: counter})

    def forget_at(self) -> datetime:
        """When the record holds nothing any more (the day after its latest counter)."""
        days = [c.day for c in (self.identity, self.pin) if c is not None]
        if not days:
            return datetime.min.replace(tzinfo=JST)
        return datetime.combine(max(days) + timedelta(days=1), time(), tzinfo=JST)


def current(record: LockRecord | None, kind: Kind, now: datetime) -> Counter | None:
    """Today's counter of ``kind``; one from another day counts for nothing."""
    counter = record.counter(kind) if record is not None else None
    if counter is None or counter.day != jst_date(now):
        return None
    return counter


def lock_state(record: LockRecord | None, now: datetime) -> LockState | None:
    """The lock holding the account at ``now``; the earliest if both kinds locked it."""
    states = []
    for kind in KINDS:
        counter = current(record, kind, now)
        if counter is not None and counter.locked_at is not None:
            states.append(LockState(kind, counter.locked_at, next_midnight(counter.locked_at)))
    return min(states, key=lambda s: s.locked_at) if states else None


def fail(
    record: LockRecord | None, kind: Kind, now: datetime, limits: Limits
) -> tuple[LockRecord, FailureResult]:
    """Count one failure: counted, the one that locks, or one that hits a lock (not counted)."""
    moment = to_jst(now)
    held = record or LockRecord()
    if lock_state(held, moment) is not None:
        return held, "locked"
    counter = current(held, kind, moment) or Counter(day=moment.date())
    counter = replace(counter, count=counter.count + 1)
    if counter.count < limits.of(kind):
        return held.with_counter(kind, counter), "counted"
    return held.with_counter(kind, replace(counter, locked_at=moment)), "locked_now"


def succeed(record: LockRecord | None, kind: Kind, now: datetime) -> LockRecord | None:
    """A success resets the failures of ``kind``; an active lock stays until 00:00 JST."""
    if record is None:
        return None
    counter = current(record, kind, now)
    if counter is not None and counter.locked_at is not None:
        return record
    cleared = record.with_counter(kind, None)
    return None if cleared == LockRecord() else cleared


def failures(record: LockRecord | None, kind: Kind, now: datetime) -> int:
    """Failures of ``kind`` counted today (Japan time)."""
    counter = current(record, kind, now)
    return 0 if counter is None else counter.count
