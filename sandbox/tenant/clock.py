"""A bank's virtual clock, read from and moved in its store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sandbox.clock import ClockState, wall_seconds
from sandbox.store.base import ClockStore


class TenantClock:
    """The clock every request of one bank reads (and the control API moves)."""

    def __init__(self, store: ClockStore, initial: ClockState) -> None:
        self._store = store
        self._initial = initial

    async def state(self) -> ClockState:
        return await self._store.get_clock() or self._initial

    async def now(self) -> datetime:
        return (await self.state()).now(wall_seconds())

    async def read(self) -> tuple[ClockState, datetime]:
        """The state and the virtual time now, from one read of the store (every request
        makes it: the store is read here, not through state())."""
        state = await self._store.get_clock() or self._initial
        return state, state.now(wall_seconds())

    async def frozen(self) -> bool:
        return (await self.state()).frozen

    async def origin(self) -> datetime:
        """The virtual time the bank (re)started at (statements are derived from it)."""
        return (await self.state()).origin

    async def _move(self, move: Callable[[ClockState, float], ClockState]) -> datetime:
        wall = wall_seconds()
        initial = self._initial
        stored = await self._store.update_clock(lambda state: move(state or initial, wall))
        return stored.now(wall)

    async def set(self, moment: datetime) -> datetime:
        """Jump to ``moment`` (forwards or backwards)."""
        return await self._move(lambda state, wall: state.set(moment, wall))

    async def advance(self, seconds: float) -> datetime:
        """Move the clock by ``seconds`` (may be negative)."""
        return await self._move(lambda state, wall: state.advance(seconds, wall))

    async def freeze(self, frozen: bool = True) -> datetime:
        """Stop (or restart) the clock at the current virtual time."""
        return await self._move(lambda state, wall: state.freeze(frozen, wall))
