"""Lockout rules: failures per kind and Japanese day; locks lift at 00:00 JST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandbox.clock import JST
from sandbox.domain.lockout import (
    FailureResult,
    Kind,
    Limits,
    LockRecord,
    current,
    fail,
    failures,
    lock_state,
    succeed,
)

NOON = datetime(2026, 11, 5, 12, 0, tzinfo=JST)


def fail_times(
    record: LockRecord | None, kind: Kind, now: datetime, limits: Limits, times: int = 1
) -> tuple[LockRecord | None, list[FailureResult]]:
    """``times`` failures in a row, each applied to the record the previous one left."""
    results: list[FailureResult] = []
    for _ in range(times):
        record, result = fail(record, kind, now, limits)
        results.append(result)
    return record, results


def test_limit_three_counts_then_locks_then_refuses() -> None:
    record, results = fail_times(None, "identity", NOON, Limits(identity=3, pin=3), 5)
    assert results == ["counted", "counted", "locked_now", "locked", "locked"]
    assert failures(record, "identity", NOON) == 3


def test_lock_reports_kind_and_next_midnight() -> None:
    limits = Limits(identity=2, pin=2)
    assert lock_state(None, NOON) is None
    record, _ = fail(None, "identity", NOON, limits)
    assert lock_state(record, NOON) is None
    record, _ = fail(record, "identity", NOON + timedelta(minutes=1), limits)
    state = lock_state(record, NOON)
    assert state is not None
    assert state.kind == "identity"
    assert state.locked_at == NOON + timedelta(minutes=1)
    assert state.until == datetime(2026, 11, 6, 0, 0, tzinfo=JST)


def test_lock_lifts_exactly_at_midnight_japan_time() -> None:
    limits = Limits(identity=1, pin=1)
    record, result = fail(None, "identity", NOON, limits)
    assert result == "locked_now"
    assert lock_state(record, datetime(2026, 11, 5, 23, 59, 59, tzinfo=JST)) is not None
    midnight = datetime(2026, 11, 6, 0, 0, 0, tzinfo=JST)
    assert lock_state(record, midnight) is None
    assert failures(record, "identity", midnight) == 0
    assert fail(record, "identity", midnight, limits)[1] == "locked_now"


def test_day_boundary_is_japan_time_not_utc() -> None:
    record, _ = fail(None, "pin", NOON, Limits(identity=1, pin=1))
    # 14:59:59 UTC is 23:59:59 in Japan (still locked); 15:00 UTC is 00:00 the next day.
    assert lock_state(record, datetime(2026, 11, 5, 14, 59, 59, tzinfo=UTC)) is not None
    assert lock_state(record, datetime(2026, 11, 5, 15, 0, 0, tzinfo=UTC)) is None


def test_failures_from_yesterday_do_not_count_today() -> None:
    limits = Limits(identity=3, pin=3)
    late = datetime(2026, 11, 5, 23, 59, 0, tzinfo=JST)
    record, _ = fail_times(None, "identity", late, limits, 2)
    next_day = late + timedelta(minutes=2)
    assert current(record, "identity", next_day) is None
    record, result = fail(record, "identity", next_day, limits)
    assert result == "counted"
    assert failures(record, "identity", next_day) == 1


def test_a_clock_set_back_to_an_earlier_day_sees_nothing_counted() -> None:
    record, _ = fail_times(None, "identity", NOON, Limits(identity=3, pin=3), 2)
    assert failures(record, "identity", NOON - timedelta(days=1)) == 0


def test_kinds_have_their_own_limits_and_either_lock_blocks() -> None:
    limits = Limits(identity=3, pin=2)
    record, _ = fail_times(None, "identity", NOON, limits, 2)
    record, results = fail_times(record, "pin", NOON, limits, 2)
    assert results == ["counted", "locked_now"]
    state = lock_state(record, NOON)
    assert state is not None
    assert state.kind == "pin"
    # The PIN lock blocks the identity check too, without counting it.
    record, result = fail(record, "identity", NOON, limits)
    assert result == "locked"
    assert failures(record, "identity", NOON) == 2


def test_success_resets_its_own_kind_only() -> None:
    limits = Limits(identity=3, pin=3)
    record, _ = fail_times(None, "identity", NOON, limits, 2)
    record, _ = fail(record, "pin", NOON, limits)
    after = succeed(record, "identity", NOON)
    assert failures(after, "identity", NOON) == 0
    assert failures(after, "pin", NOON) == 1
    assert fail(after, "identity", NOON, limits)[1] == "counted"


def test_success_without_failures_leaves_nothing_to_store() -> None:
    record, _ = fail(None, "identity", NOON, Limits(identity=3, pin=3))
    assert succeed(record, "identity", NOON) is None
    assert succeed(None, "pin", NOON) is None


def test_success_does_not_lift_a_lock() -> None:
    record, _ = fail(None, "identity", NOON, Limits(identity=1, pin=1))
    after = succeed(record, "identity", NOON)
    assert lock_state(after, NOON) is not None


def test_limits_must_be_at_least_one() -> None:
    assert Limits(identity=3, pin=5).of("pin") == 5
    for identity, pin in [(0, 3), (3, 0)]:
        with pytest.raises(ValueError, match="at least 1"):
            Limits(identity=identity, pin=pin)
