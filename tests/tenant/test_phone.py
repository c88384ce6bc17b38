"""The phone verifier of one bank: challenges in the store, settled by inbound calls."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from sandbox.clock import JST
from sandbox.scenario.bundled import default_scenario
from sandbox.store.base import TenantStore
from sandbox.store.memory import MemoryStore
from sandbox.tenant.phone import PhoneVerifier

START = datetime(2026, 11, 5, 10, 0, 0, tzinfo=JST)
PHONE = "090-1234-5678"
AUTH = "0120-86-3713"


def after(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


@pytest.fixture
async def verifier(tenant_store: TenantStore) -> PhoneVerifier:
    phone = PhoneVerifier(tenant_store, window_seconds=120)
    await phone.start("c1", PHONE, AUTH, START)
    return phone


def test_window_must_be_at_least_a_second(tenant_store: TenantStore) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        PhoneVerifier(tenant_store, window_seconds=0)


async def test_call_in_time_verifies(verifier: PhoneVerifier) -> None:
    assert await verifier.status("c1", after(30)) == "waiting"
    result = await verifier.record_call("09012345678", "0120863713", after(30))
    assert result.outcome == "verified"
    assert result.challenge_ids == ("c1",)
    assert await verifier.status("c1", after(31)) == "verified"
    challenge = await verifier.get("c1")
    assert challenge is not None
    assert challenge.verified_at == after(30)


async def test_phone_numbers_compare_by_digits(verifier: PhoneVerifier) -> None:
    result = await verifier.record_call("(090) 1234 5678", "0120-863-713", after(5))
    assert result.verified


async def test_a_late_call_invalidates_the_challenge(verifier: PhoneVerifier) -> None:
    result = await verifier.record_call(PHONE, AUTH, after(120.001))
    assert result.outcome == "expired"
    assert result.challenge_ids == ("c1",)
    assert await verifier.status("c1", after(120.001)) == "expired"
    # A second call cannot revive it.
    assert (await verifier.record_call(PHONE, AUTH, after(121))).outcome == "no_pending_challenge"


async def test_call_from_another_phone_does_not_verify(verifier: PhoneVerifier) -> None:
    result = await verifier.record_call("08011112222", AUTH, after(10))
    assert result.outcome == "no_pending_challenge"
    assert await verifier.status("c1", after(11)) == "waiting"


async def test_call_to_another_number_is_wrong_number(verifier: PhoneVerifier) -> None:
    result = await verifier.record_call(PHONE, "0272123456", after(10))
    assert result.outcome == "wrong_number"
    assert await verifier.status("c1", after(11)) == "waiting"


async def test_restart_gives_a_fresh_window(verifier: PhoneVerifier) -> None:
    await verifier.record_call(PHONE, AUTH, after(130))
    await verifier.start("c1", PHONE, AUTH, after(140))
    assert await verifier.status("c1", after(141)) == "waiting"
    assert (await verifier.record_call(PHONE, AUTH, after(250))).verified


async def test_cancel_forgets_the_challenge(verifier: PhoneVerifier) -> None:
    assert await verifier.cancel("c1")
    assert not await verifier.cancel("c1")
    assert await verifier.status("c1", after(1)) == "unknown"
    assert (await verifier.record_call(PHONE, AUTH, after(2))).outcome == "no_pending_challenge"


async def test_unknown_challenge_and_reset() -> None:
    store = MemoryStore()
    await store.put_bank("2011", default_scenario(), "<test>")
    verifier = PhoneVerifier(store.tenant("2011"), window_seconds=120)
    await verifier.start("c1", PHONE, AUTH, START)
    assert await verifier.status("nope", after(1)) == "unknown"
    assert await verifier.status("c1", after(1)) == "waiting"
    await store.reset_bank("2011")  # a reset is a fresh store state
    assert await verifier.status("c1", after(1)) == "unknown"


async def test_pending_for_lists_open_challenges(verifier: PhoneVerifier) -> None:
    await verifier.start("c2", PHONE, AUTH, after(100))
    assert [c.challenge_id for c in await verifier.pending_for("09012345678")] == ["c1", "c2"]
    assert [c.challenge_id for c in await verifier.pending_for(PHONE, after(121))] == ["c2"]
    await verifier.record_call(PHONE, AUTH, after(110))
    assert await verifier.pending_for(PHONE) == []


async def test_one_call_settles_every_open_challenge_of_that_phone(
    verifier: PhoneVerifier,
) -> None:
    await verifier.start("c2", PHONE, AUTH, after(60))
    result = await verifier.record_call(PHONE, AUTH, after(150))
    assert result.challenge_ids == ("c2",)
    assert await verifier.status("c1", after(150)) == "expired"
    assert await verifier.status("c2", after(150)) == "verified"


async def test_concurrent_calls_verify_once(verifier: PhoneVerifier) -> None:
    async def call() -> str:
        await asyncio.sleep(0)  # every call has started before any goes on
        return (await verifier.record_call(PHONE, AUTH, after(10))).outcome

    outcomes = await asyncio.gather(*(call() for _ in range(50)))
    assert outcomes.count("verified") == 1
    assert outcomes.count("no_pending_challenge") == 49
