"""Lockout: failures per account, kind and Japanese day; locks lift at 00:00 JST."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sandbox.clock import JST
from sandbox.domain.lockout import LockoutBook

ACCOUNT = ("001", "ordinary", "1234567")
OTHER = ("001", "ordinary", "7654321")
NOON = datetime(2026, 11, 5, 12, 0, tzinfo=JST)


def test_limit_three_counts_then_locks_then_refuses() -> None:
    book = LockoutBook(identity_limit=3, pin_limit=3)
    results = [book.record_failure("identity", ACCOUNT, NOON) for _ in range(5)]
    assert results == ["counted", "counted", "locked_now", "locked", "locked"]
    assert book.failures("identity", ACCOUNT, NOON) == 3


def test_lock_reports_kind_and_next_midnight() -> None:
    book = LockoutBook(identity_limit=2, pin_limit=2)
    assert book.lock_state(ACCOUNT, NOON) is None
    book.record_failure("identity", ACCOUNT, NOON)
    book.record_failure("identity", ACCOUNT, NOON + timedelta(minutes=1))
    state = book.lock_state(ACCOUNT, NOON)
    assert state is not None
    assert state.kind == "identity"
    assert state.locked_at == NOON + timedelta(minutes=1)
    assert state.until == datetime(2026, 11, 6, 0, 0, tzinfo=JST)


def test_lock_lifts_exactly_at_midnight_japan_time() -> None:
    book = LockoutBook(identity_limit=1, pin_limit=1)
    assert book.record_failure("identity", ACCOUNT, NOON) == "locked_now"
    assert book.is_locked(ACCOUNT, datetime(2026, 11, 5, 23, 59, 59, tzinfo=JST))
    midnight = datetime(2026, 11, 6, 0, 0, 0, tzinfo=JST)
    assert not book.is_locked(ACCOUNT, midnight)
    assert book.failures("identity", ACCOUNT, midnight) == 0
    assert book.record_failure("identity", ACCOUNT, midnight) == "locked_now"


def test_day_boundary_is_japan_time_not_utc() -> None:
    book = LockoutBook(identity_limit=1, pin_limit=1)
    book.record_failure("pin", ACCOUNT, NOON)
    # 14:59:59 UTC is 23:59:59 in Japan (still locked); 15:00 UTC is 00:00 the next day.
    assert book.is_locked(ACCOUNT, datetime(2026, 11, 5, 14, 59, 59, tzinfo=UTC))
    assert not book.is_locked(ACCOUNT, datetime(2026, 11, 5, 15, 0, 0, tzinfo=UTC))


def test_failures_from_yesterday_do_not_count_today() -> None:
    book = LockoutBook(identity_limit=3, pin_limit=3)
    late = datetime(2026, 11, 5, 23, 59, 0, tzinfo=JST)
    book.record_failure("identity", ACCOUNT, late)
    book.record_failure("identity", ACCOUNT, late)
    next_day = late + timedelta(minutes=2)
    assert book.record_failure("identity", ACCOUNT, next_day) == "counted"
    assert book.failures("identity", ACCOUNT, next_day) == 1


def test_accounts_are_independent() -> None:
    book = LockoutBook(identity_limit=1, pin_limit=1)
    book.record_failure("identity", ACCOUNT, NOON)
    assert book.is_locked(ACCOUNT, NOON)
    assert not book.is_locked(OTHER, NOON)
    assert book.record_failure("identity", OTHER, NOON) == "locked_now"


def test_kinds_have_their_own_limits_and_either_lock_blocks() -> None:
    book = LockoutBook(identity_limit=3, pin_limit=2)
    book.record_failure("identity", ACCOUNT, NOON)
    book.record_failure("identity", ACCOUNT, NOON)
    assert book.record_failure("pin", ACCOUNT, NOON) == "counted"
    assert book.record_failure("pin", ACCOUNT, NOON) == "locked_now"
    state = book.lock_state(ACCOUNT, NOON)
    assert state is not None
    assert state.kind == "pin"
    # The PIN lock blocks the identity check too, without counting it.
    assert book.record_failure("identity", ACCOUNT, NOON) == "locked"
    assert book.failures("identity", ACCOUNT, NOON) == 2


def test_success_resets_its_own_kind_only() -> None:
    book = LockoutBook(identity_limit=3, pin_limit=3)
    book.record_failure("identity", ACCOUNT, NOON)
    book.record_failure("identity", ACCOUNT, NOON)
    book.record_failure("pin", ACCOUNT, NOON)
    book.record_success("identity", ACCOUNT, NOON)
    assert book.failures("identity", ACCOUNT, NOON) == 0
    assert book.failures("pin", ACCOUNT, NOON) == 1
    assert book.record_failure("identity", ACCOUNT, NOON) == "counted"


def test_success_does_not_lift_a_lock() -> None:
    book = LockoutBook(identity_limit=1, pin_limit=1)
    book.record_failure("identity", ACCOUNT, NOON)
    book.record_success("identity", ACCOUNT, NOON)
    assert book.is_locked(ACCOUNT, NOON)


def test_unlock_and_reset_clear_locks() -> None:
    book = LockoutBook(identity_limit=1, pin_limit=1)
    book.record_failure("identity", ACCOUNT, NOON)
    book.record_failure("pin", OTHER, NOON)
    book.unlock(ACCOUNT)
    assert not book.is_locked(ACCOUNT, NOON)
    assert book.is_locked(OTHER, NOON)
    book.reset()
    assert not book.is_locked(OTHER, NOON)


def test_hundred_concurrent_failures_lock_exactly_once() -> None:
    book = LockoutBook(identity_limit=5, pin_limit=5)
    barrier = threading.Barrier(100)

    def attempt(_: int) -> str:
        barrier.wait()
        return book.record_failure("identity", ACCOUNT, NOON)

    with ThreadPoolExecutor(max_workers=100) as pool:
        results = list(pool.map(attempt, range(100)))
    assert results.count("locked_now") == 1
    assert results.count("counted") == 4
    assert results.count("locked") == 95
    assert book.failures("identity", ACCOUNT, NOON) == 5
