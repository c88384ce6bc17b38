"""A bank's clock in its store: every reader of the store sees the same time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import sandbox.tenant.clock
from sandbox.clock import JST, ClockState
from sandbox.scenario.model import Scenario
from sandbox.store import open_store
from sandbox.store.base import Store, TenantStore
from sandbox.tenant.clock import TenantClock

START = datetime(2025, 1, 6, 2, 30, tzinfo=JST)
BANK = "2011"


class Wall:
    """Stands in for sandbox.tenant.clock.wall_seconds (real time, seconds since the epoch)."""

    def __init__(self) -> None:
        self.value = 1_000.0

    def __call__(self) -> float:
        return self.value


@pytest.fixture
def wall(monkeypatch: pytest.MonkeyPatch) -> Wall:
    fake = Wall()
    monkeypatch.setattr(sandbox.tenant.clock, "wall_seconds", fake)
    return fake


@pytest.fixture
async def store() -> Store:
    held = open_store("memory")
    await held.put_bank(BANK, Scenario(), "<test>")
    return held


async def test_frozen_clock_stands_still(wall: Wall, tenant_store: TenantStore) -> None:
    clock = TenantClock(tenant_store, ClockState.starting(START, frozen=True, wall=wall.value))
    assert await clock.frozen()
    assert await clock.now() == START
    wall.value += 60
    assert await clock.now() == START
    assert (await clock.now()).tzinfo is JST


async def test_advance_and_set_are_stored(wall: Wall, tenant_store: TenantStore) -> None:
    clock = TenantClock(tenant_store, ClockState.starting(START, frozen=True, wall=wall.value))
    assert await tenant_store.get_clock() is None  # nothing moved yet: the initial state
    assert await clock.advance(90) == START + timedelta(seconds=90)
    assert await clock.now() == START + timedelta(seconds=90)
    assert await clock.advance(-30) == START + timedelta(seconds=60)
    moment = datetime(2025, 2, 1, 12, 0, tzinfo=UTC)
    assert await clock.set(moment) == moment
    assert (await clock.now()).utcoffset() == timedelta(hours=9)
    assert (await clock.now()).hour == 21
    stored = await tenant_store.get_clock()
    assert stored is not None
    assert stored == await clock.state()
    assert stored.now(wall.value) == moment
    assert await clock.origin() == START


async def test_running_clock_follows_real_time(wall: Wall, tenant_store: TenantStore) -> None:
    clock = TenantClock(tenant_store, ClockState.starting(START, frozen=False, wall=wall.value))
    assert await clock.now() == START
    wall.value += 5
    assert await clock.now() == START + timedelta(seconds=5)


async def test_freeze_keeps_the_current_time(wall: Wall, tenant_store: TenantStore) -> None:
    clock = TenantClock(tenant_store, ClockState.starting(START, frozen=False, wall=wall.value))
    wall.value += 10
    frozen_at = await clock.freeze()
    wall.value += 10
    assert await clock.now() == frozen_at == START + timedelta(seconds=10)
    assert await clock.freeze(False) == frozen_at
    assert not await clock.frozen()
    wall.value += 1
    assert await clock.now() == START + timedelta(seconds=11)


async def test_reset_returns_to_start_and_mode(wall: Wall, store: Store) -> None:
    clock = TenantClock(
        store.tenant(BANK), ClockState.starting(START, frozen=True, wall=wall.value)
    )
    await clock.advance(3600)
    await clock.freeze(False)
    assert not await clock.frozen()
    await store.reset_bank(BANK)  # a reset is a fresh store state
    assert await clock.frozen()
    assert await clock.now() == START


async def test_reset_without_start_goes_back_to_real_time(wall: Wall, store: Store) -> None:
    wall.value = datetime(2025, 3, 3, 15, 30, tzinfo=UTC).timestamp()
    clock = TenantClock(
        store.tenant(BANK), ClockState.starting(None, frozen=False, wall=wall.value)
    )
    await clock.set(START)
    assert await clock.now() == START
    await store.reset_bank(BANK)
    assert await clock.now() == datetime(2025, 3, 4, 0, 30, tzinfo=JST)
    assert not await clock.frozen()


async def test_two_readers_of_the_same_store_agree(wall: Wall, tenant_store: TenantStore) -> None:
    # Two workers, each with the initial state it computed itself a little apart in time.
    first = TenantClock(tenant_store, ClockState.starting(None, frozen=False, wall=wall.value))
    second = TenantClock(
        tenant_store, ClockState.starting(None, frozen=False, wall=wall.value + 0.25)
    )
    await first.advance(0)  # the first move stores the state both read from then on
    wall.value += 30.0004
    assert await first.now() == await second.now()
    await second.advance(3600)
    assert await first.now() == await second.now()
    assert await first.state() == await second.state()


async def test_readers_agree_to_the_millisecond_in_real_time(tenant_store: TenantStore) -> None:
    first = TenantClock(tenant_store, ClockState.starting(START, frozen=False, wall=0.0))
    second = TenantClock(tenant_store, ClockState.starting(START, frozen=True, wall=0.0))
    await first.set(START)  # running, as the first worker stored it
    assert abs(await first.now() - await second.now()) < timedelta(milliseconds=1)
    assert not await second.frozen()
