"""The sandbox clock: virtual time as a value, always Asia/Tokyo."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from sandbox.clock import (
    JST,
    ClockState,
    jst_date,
    next_midnight,
    parse_iso,
    real_now,
    to_jst,
    wall_seconds,
)

START = datetime(2025, 1, 6, 2, 30, tzinfo=JST)
WALL = 1_000.0  # the wall-clock second the state was made at


def test_frozen_clock_stands_still() -> None:
    clock = ClockState.starting(START, frozen=True, wall=WALL)
    assert clock.frozen
    assert clock.now(WALL) == START
    assert clock.now(WALL + 3600) == START
    assert clock.now(WALL).tzinfo is JST


def test_advance_and_set() -> None:
    clock = ClockState.starting(START, frozen=True, wall=WALL)
    clock = clock.advance(90, WALL + 1)
    assert clock.now(WALL + 2) == START + timedelta(seconds=90)
    clock = clock.advance(-30, WALL + 3)
    assert clock.now(WALL + 3) == START + timedelta(seconds=60)
    moment = datetime(2025, 2, 1, 12, 0, tzinfo=UTC)
    clock = clock.set(moment, WALL + 4)
    assert clock.now(WALL + 4) == moment
    assert clock.now(WALL + 4).utcoffset() == timedelta(hours=9)
    assert clock.now(WALL + 4).hour == 21
    assert clock.frozen  # set and advance keep the mode
    assert clock.origin == START  # the start the bank's statements derive from stays


def test_running_clock_follows_real_time() -> None:
    clock = ClockState.starting(START, frozen=False, wall=WALL)
    assert clock.now(WALL) == START
    assert clock.now(WALL + 5) == START + timedelta(seconds=5)
    moved = clock.set(START + timedelta(days=1), WALL + 5)
    assert moved.now(WALL + 6.5) == START + timedelta(days=1, seconds=1.5)


def test_clock_without_start_is_real_time_in_japan() -> None:
    moment = datetime(2025, 3, 3, 15, 30, tzinfo=UTC)
    clock = ClockState.starting(None, frozen=False, wall=moment.timestamp())
    assert clock.now(moment.timestamp()) == datetime(2025, 3, 4, 0, 30, tzinfo=JST)
    assert clock.now(moment.timestamp()).tzinfo is JST
    assert clock.origin == datetime(2025, 3, 4, 0, 30, tzinfo=JST)
    with time_machine.travel(moment, tick=False):
        assert real_now() == datetime(2025, 3, 4, 0, 30, tzinfo=JST)
        assert real_now().tzinfo is JST
        assert wall_seconds() == moment.timestamp()


def test_freeze_keeps_the_current_time() -> None:
    clock = ClockState.starting(START, frozen=False, wall=WALL)
    clock = clock.freeze(True, WALL + 10)
    frozen_at = clock.now(WALL + 10)
    assert clock.now(WALL + 20) == frozen_at == START + timedelta(seconds=10)
    clock = clock.freeze(False, WALL + 20)
    assert not clock.frozen
    assert clock.now(WALL + 21) == START + timedelta(seconds=11)


def test_two_readers_of_the_same_state_agree_to_the_millisecond() -> None:
    state = ClockState.starting(START, frozen=False, wall=WALL).advance(42.5, WALL + 7)
    # Another worker holds its own copy of the stored state (e.g. loaded from a database).
    other = ClockState(state.base, state.anchor, state.frozen, state.origin)
    assert other == state
    for wall in (WALL + 7, WALL + 7.0005, WALL + 86_400.123):
        mine, theirs = state.now(wall), other.now(wall)
        assert mine == theirs
    # Readers a fraction of a millisecond apart in wall time are within that of each other.
    assert abs(state.now(WALL + 8) - other.now(WALL + 8.0004)) < timedelta(milliseconds=1)


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
    assert ClockState.starting(naive, frozen=True, wall=WALL).now(WALL) == START


SCRIPT = """
from sandbox.clock import ClockState, next_midnight, parse_iso
clock = ClockState.starting(parse_iso("2025-01-06T23:59:00"), frozen=True, wall=0.0)
print(clock.now(0.0).isoformat(), next_midnight(clock.now(0.0)).isoformat())
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
