"""The lockout book of one bank: counters per account in the store, applied atomically."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sandbox.clock import JST
from sandbox.domain.lockout import Limits
from sandbox.scenario.bundled import default_scenario
from sandbox.store.base import TenantStore
from sandbox.store.memory import MemoryStore
from sandbox.tenant.lockout import LockoutBook

ACCOUNT = "001-1234567"
OTHER = "001-7654321"
NOON = datetime(2026, 11, 5, 12, 0, tzinfo=JST)


async def test_limit_three_counts_then_locks_then_refuses(tenant_store: TenantStore) -> None:
    book = LockoutBook(tenant_store, Limits(identity=3, pin=3))
    assert (book.limit("identity"), book.limit("pin")) == (3, 3)
    results = [await book.record_failure("identity", ACCOUNT, NOON) for _ in range(5)]
    assert results == ["counted", "counted", "locked_now", "locked", "locked"]
    assert await book.failures("identity", ACCOUNT, NOON) == 3
    state = await book.lock_state(ACCOUNT, NOON)
    assert state is not None
    assert (state.kind, state.until) == ("identity", datetime(2026, 11, 6, tzinfo=JST))


async def test_success_resets_in_the_store_but_does_not_lift_a_lock(
    tenant_store: TenantStore,
) -> None:
    book = LockoutBook(tenant_store, Limits(identity=3, pin=1))
    await book.record_failure("identity", ACCOUNT, NOON)
    await book.record_success("identity", ACCOUNT, NOON)
    assert await book.failures("identity", ACCOUNT, NOON) == 0
    assert await book.record_failure("pin", ACCOUNT, NOON) == "locked_now"
    await book.record_success("pin", ACCOUNT, NOON)
    assert await book.is_locked(ACCOUNT, NOON)


async def test_accounts_are_independent(tenant_store: TenantStore) -> None:
    book = LockoutBook(tenant_store, Limits(identity=1, pin=1))
    await book.record_failure("identity", ACCOUNT, NOON)
    assert await book.is_locked(ACCOUNT, NOON)
    assert not await book.is_locked(OTHER, NOON)
    assert await book.record_failure("identity", OTHER, NOON) == "locked_now"


async def test_unlock_and_reset_clear_locks() -> None:
    store = MemoryStore()
    await store.put_bank("2011", default_scenario(), "<test>")
    book = LockoutBook(store.tenant("2011"), Limits(identity=1, pin=1))
    await book.record_failure("identity", ACCOUNT, NOON)
    await book.record_failure("pin", OTHER, NOON)
    await book.unlock(ACCOUNT)
    assert not await book.is_locked(ACCOUNT, NOON)
    assert await book.is_locked(OTHER, NOON)
    await store.reset_bank("2011")  # a reset is a fresh store state
    assert not await book.is_locked(OTHER, NOON)


async def test_hundred_concurrent_failures_lock_exactly_once(tenant_store: TenantStore) -> None:
    book = LockoutBook(tenant_store, Limits(identity=5, pin=5))

    async def attempt() -> str:
        await asyncio.sleep(0)  # every attempt has started before any goes on
        return await book.record_failure("identity", ACCOUNT, NOON)

    results = await asyncio.gather(*(attempt() for _ in range(100)))
    assert results.count("locked_now") == 1
    assert results.count("counted") == 4
    assert results.count("locked") == 95
    assert await book.failures("identity", ACCOUNT, NOON) == 5
