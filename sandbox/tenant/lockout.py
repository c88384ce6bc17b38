"""Lockout counters of one bank: the rules of domain/lockout applied atomically in the store."""

from __future__ import annotations

from datetime import datetime

from sandbox.domain import lockout
from sandbox.domain.lockout import FailureResult, Kind, Limits, LockState
from sandbox.store.base import LockoutStore


class LockoutBook:
    """Failure counters and day-long locks, per account (``branch-number``) and kind."""

    def __init__(self, store: LockoutStore, limits: Limits) -> None:
        self._store = store
        self.limits = limits

    def limit(self, kind: Kind) -> int:
        """The number of failures of ``kind`` that locks an account."""
        return self.limits.of(kind)

    async def record_failure(self, kind: Kind, key: str, now: datetime) -> FailureResult:
        """Count one failure; say whether it was counted, locked the account, or hit a lock."""
        limits = self.limits
        return await self._store.update_lock(
            key, lambda record: lockout.fail(record, kind, now, limits)
        )

    async def record_success(self, kind: Kind, key: str, now: datetime) -> None:
        """Reset the failures of ``kind``; an active lock stays until 00:00 JST."""
        await self._store.update_lock(
            key, lambda record: (lockout.succeed(record, kind, now), None)
        )

    async def lock_state(self, key: str, now: datetime) -> LockState | None:
        """The lock blocking API linkage for ``key`` at ``now``, if any."""
        return lockout.lock_state(await self._store.get_lock(key), now)

    async def is_locked(self, key: str, now: datetime) -> bool:
        return await self.lock_state(key, now) is not None

    async def failures(self, kind: Kind, key: str, now: datetime) -> int:
        """Failures of ``kind`` counted for ``key`` today (Japan time)."""
        return lockout.failures(await self._store.get_lock(key), kind, now)

    async def unlock(self, key: str) -> None:
        """Clear both counters and any lock of ``key`` (an operator's action)."""
        await self._store.update_lock(key, lambda record: (None, None))
