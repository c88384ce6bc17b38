"""The sandbox clock: virtual time, always Asia/Tokyo."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

import sandbox.clock
from sandbox.clock import (
    JST,
    SystemClock,
    VirtualClock,
    jst_date,
    next_midnight,
    parse_iso,
    real_now,
    to_jst,
)

START = datetime(2025, 1, 6, 2, 30, tzinfo=JST)


def test_frozen_clock_stands_still() -> None:
    clock = VirtualClock(START, frozen=True)
    assert clock.frozen
    assert clock.now() == START
    assert clock.now() == START
    assert clock.now().tzinfo is JST


def test_advance_and_set() -> None:
    clock = VirtualClock(START, frozen=True)
    assert clock.advance(90) == START + timedelta(seconds=90)
    assert clock.now() == START + timedelta(seconds=90)
    assert clock.advance(-30) == START + timedelta(seconds=60)
    moment = datetime(2025, 2, 1, 12, 0, tzinfo=UTC)
    assert clock.set(moment) == moment
    assert clock.now().utcoffset() == timedelta(hours=9)
    assert clock.now().hour == 21


def test_reset_returns_to_start_and_mode() -> None:
    clock = VirtualClock(START, frozen=True)
    clock.advance(3600)
    clock.freeze(False)
    assert not clock.frozen
    clock.reset()
    assert clock.frozen
    assert clock.now() == START


class FakeMonotonic:
    """Stands in for time.monotonic inside sandbox.clock."""

    def __init__(self) -> None:
        self.value = 1000.0

    def monotonic(self) -> float:
        return self.value


@pytest.fixture
def ticks(monkeypatch: pytest.MonkeyPatch) -> FakeMonotonic:
    fake = FakeMonotonic()
    monkeypatch.setattr(sandbox.clock, "time", fake)
    return fake


def test_running_clock_follows_real_time(ticks: FakeMonotonic) -> None:
    clock = VirtualClock(START)
    assert clock.now() == START
    ticks.value += 5
    assert clock.now() == START + timedelta(seconds=5)
    assert clock.monotonic() == (START + timedelta(seconds=5)).timestamp()


def test_clock_without_start_is_real_time_in_japan(ticks: FakeMonotonic) -> None:
    with time_machine.travel(datetime(2025, 3, 3, 15, 30, tzinfo=UTC), tick=False):
        assert VirtualClock().now() == datetime(2025, 3, 4, 0, 30, tzinfo=JST)
        assert SystemClock().now() == datetime(2025, 3, 4, 0, 30, tzinfo=JST)
        assert real_now().tzinfo is JST


def test_reset_without_start_goes_back_to_real_time(ticks: FakeMonotonic) -> None:
    with time_machine.travel(datetime(2025, 3, 3, 15, 30, tzinfo=UTC), tick=False):
        clock = VirtualClock()
        clock.set(START)
        clock.reset()
        assert clock.now() == datetime(2025, 3, 4, 0, 30, tzinfo=JST)
        assert not clock.frozen


def test_freeze_keeps_the_current_time(ticks: FakeMonotonic) -> None:
    clock = VirtualClock(START)
    ticks.value += 10
    frozen_at = clock.freeze()
    ticks.value += 10
    assert clock.now() == frozen_at == START + timedelta(seconds=10)
    clock.freeze(False)
    ticks.value += 1
    assert clock.now() == START + timedelta(seconds=11)


def test_next_midnight() -> None:
    assert next_midnight(START) == datetime(2025, 1, 7, tzinfo=JST)
    late = datetime(2025, 12, 31, 23, 59, 59, tzinfo=JST)
    assert next_midnight(late) == datetime(2026, 1, 1, tzinfo=JST)
    # 15:00 UTC is already midnight in Tokyo: the next one is a day later.
    assert next_midnight(datetime(2025, 1, 6, 15, 0, tzinfo=UTC)) == datetime(
        2025, 1, 8, tzinfo=JST
    )


def test_naive_values_are_japan_time() -> None:
    naive = datetime(2025, 1, 6, 2, 30)  # noqa: DTZ001 - the point of the test
    assert to_jst(naive) == START
    assert parse_iso("2025-01-06T02:30:00") == START
    assert parse_iso("2025-01-05T17:30:00Z") == START
    assert jst_date(datetime(2025, 1, 5, 15, 0, tzinfo=UTC)) == START.date()


SCRIPT = """
from datetime import datetime
from sandbox.clock import VirtualClock, next_midnight, parse_iso
clock = VirtualClock(parse_iso("2025-01-06T23:59:00"), frozen=True)
print(clock.now().isoformat(), next_midnight(clock.now()).isoformat())
"""


@pytest.mark.parametrize("tz", ["America/Los_Angeles", "UTC", "Asia/Kolkata"])
def test_host_timezone_does_not_matter(tz: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        check=True,
        env={"TZ": tz, "PATH": "/usr/bin:/bin"},
    )
    assert result.stdout.split() == ["2025-01-06T23:59:00+09:00", "2025-01-07T00:00:00+09:00"]
