"""The service calendar: the seed's off-hours windows, exact to the second, in Japan time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sandbox.clock import JST
from sandbox.domain.calendar import ServiceCalendar
from sandbox.scenario.model import MaintenanceWindow, ServiceHours


def jst(text: str) -> datetime:
    """A Japan-time moment from 'YYYY-MM-DD HH:MM:SS'."""
    return datetime.fromisoformat(text).replace(tzinfo=JST)


@pytest.fixture
def cal() -> ServiceCalendar:
    return ServiceCalendar(ServiceHours(), [])


# (moment in Japan time, open?, reason when closed). Calendars checked:
# November 2026: Mondays 2, 9, 16, 23, 30; Sundays 1, 8, 15, 22, 29.
# January 2027: Fri 1, Sat 2, Sun 3, Mon 4 (1st Monday), Sun 10 (2nd Sunday).
# February 2027: Mon 1 (1st Monday), Sun 7 (1st), Sun 14 (2nd).
EDGES = [
    # (1) the midnight minute, every day.
    ("2026-11-04 23:59:59", True, None),
    ("2026-11-05 00:00:00", False, "daily_midnight"),
    ("2026-11-05 00:00:59", False, "daily_midnight"),
    ("2026-11-05 00:01:00", True, None),
    # (2) 04:00 for five minutes, every day.
    ("2026-11-05 03:59:59", True, None),
    ("2026-11-05 04:00:00", False, "daily_4am"),
    ("2026-11-05 04:04:59", False, "daily_4am"),
    ("2026-11-05 04:05:00", True, None),
    # (3) 1st and 3rd Monday 02:00-06:00; not the 2nd, 4th or 5th.
    ("2026-11-02 01:59:59", True, None),
    ("2026-11-02 02:00:00", False, "monday_maintenance"),
    ("2026-11-02 05:59:59", False, "monday_maintenance"),
    ("2026-11-02 06:00:00", True, None),
    ("2026-11-16 02:00:00", False, "monday_maintenance"),
    ("2026-11-16 06:00:00", True, None),
    ("2026-11-09 03:00:00", True, None),
    ("2026-11-23 03:00:00", True, None),
    ("2026-11-30 03:00:00", True, None),
    ("2027-02-01 02:00:00", False, "monday_maintenance"),
    # (4) Saturday 23:50 until 07:00 on the 2nd and 4th Sunday; not the 1st, 3rd or 5th.
    ("2026-11-07 23:49:59", True, None),
    ("2026-11-07 23:50:00", False, "sunday_maintenance"),
    ("2026-11-08 00:00:30", False, "sunday_maintenance"),
    ("2026-11-08 06:59:59", False, "sunday_maintenance"),
    ("2026-11-08 07:00:00", True, None),
    ("2026-11-21 23:50:00", False, "sunday_maintenance"),
    ("2026-11-22 07:00:00", True, None),
    ("2026-10-31 23:55:00", True, None),
    ("2026-11-14 23:55:00", True, None),
    ("2026-11-28 23:55:00", True, None),
    ("2027-02-06 23:55:00", True, None),
    ("2027-02-13 23:50:00", False, "sunday_maintenance"),
    # (5) January 1-3, 00:00-08:00 and 19:00-24:00.
    ("2026-12-31 23:59:59", True, None),
    ("2027-01-01 00:00:00", False, "new_year"),
    ("2027-01-01 07:59:59", False, "new_year"),
    ("2027-01-01 08:00:00", True, None),
    ("2027-01-02 18:59:59", True, None),
    ("2027-01-02 19:00:00", False, "new_year"),
    ("2027-01-03 23:59:59", False, "new_year"),
    ("2027-01-04 00:00:30", False, "daily_midnight"),
    ("2027-01-04 00:01:00", True, None),
    ("2027-01-04 12:00:00", True, None),
]


@pytest.mark.parametrize(("moment", "is_open", "reason"), EDGES)
def test_seed_calendar_edges(
    cal: ServiceCalendar, moment: str, is_open: bool, reason: str | None
) -> None:
    now = jst(moment)
    window = cal.closed_window(now)
    assert cal.is_open(now) is is_open
    assert (window.reason if window else None) == reason
    assert (cal.retry_after_seconds(now) == 0) is is_open


def test_retry_after_counts_down_to_the_end_of_the_window(cal: ServiceCalendar) -> None:
    assert cal.retry_after_seconds(jst("2026-11-05 00:00:00")) == 60
    assert cal.retry_after_seconds(jst("2026-11-05 00:00:59")) == 1
    assert cal.retry_after_seconds(jst("2026-11-05 04:00:00")) == 300
    assert cal.retry_after_seconds(jst("2026-11-02 05:59:59")) == 1


def test_retry_after_rounds_a_fraction_up_to_one_second(cal: ServiceCalendar) -> None:
    assert cal.retry_after_seconds(jst("2026-11-05 00:00:59.999")) == 1
    assert cal.retry_after_seconds(jst("2026-11-05 00:00:58.5")) == 2


def test_sunday_window_swallows_the_midnight_minute_and_4am(cal: ServiceCalendar) -> None:
    window = cal.closed_window(jst("2026-11-08 00:00:10"))
    assert window is not None
    assert (window.start, window.end) == (jst("2026-11-07 23:50:00"), jst("2026-11-08 07:00:00"))
    assert cal.retry_after_seconds(jst("2026-11-07 23:55:00")) == 7 * 3600 + 5 * 60
    assert cal.retry_after_seconds(jst("2026-11-08 04:02:00")) == 3 * 3600 - 2 * 60


def test_new_year_evening_runs_into_the_next_midnight_minute(cal: ServiceCalendar) -> None:
    window = cal.closed_window(jst("2027-01-03 23:59:59"))
    assert window is not None
    assert window.reason == "new_year"
    assert window.start == jst("2027-01-03 19:00:00")
    assert window.end == jst("2027-01-04 00:01:00")
    assert cal.retry_after_seconds(jst("2027-01-03 23:59:59")) == 61


def test_new_year_evening_and_morning_merge_overnight(cal: ServiceCalendar) -> None:
    window = cal.closed_window(jst("2027-01-01 21:00:00"))
    assert window is not None
    assert (window.start, window.end) == (jst("2027-01-01 19:00:00"), jst("2027-01-02 08:00:00"))


def test_monday_window_contains_the_4am_window(cal: ServiceCalendar) -> None:
    window = cal.closed_window(jst("2026-11-02 04:01:00"))
    assert window is not None
    assert window.reason == "monday_maintenance"
    assert window.end == jst("2026-11-02 06:00:00")


def test_maintenance_window_is_half_open_and_merges_with_midnight() -> None:
    maintenance = [
        MaintenanceWindow(start=jst("2026-11-10 22:00:00"), end=jst("2026-11-11 00:00:00")),
        MaintenanceWindow(
            start=datetime.fromisoformat("2026-11-12T13:00:00"),  # naive: Japan time
            end=datetime.fromisoformat("2026-11-12T14:00:00"),
            reason="system_upgrade",
        ),
    ]
    cal = ServiceCalendar(ServiceHours(), maintenance)
    assert cal.is_open(jst("2026-11-10 21:59:59"))
    window = cal.closed_window(jst("2026-11-10 22:00:00"))
    assert window is not None
    assert window.reason == "maintenance"
    assert window.end == jst("2026-11-11 00:01:00")
    assert not cal.is_open(jst("2026-11-12 13:59:59"))
    assert cal.is_open(jst("2026-11-12 14:00:00"))
    upgrade = cal.closed_window(jst("2026-11-12 13:00:00"))
    assert upgrade is not None
    assert upgrade.reason == "system_upgrade"


def test_without_the_seed_calendar_only_maintenance_closes() -> None:
    hours = ServiceHours(seed_calendar=False)
    window = MaintenanceWindow(start=jst("2026-11-05 00:00:00"), end=jst("2026-11-05 01:00:00"))
    cal = ServiceCalendar(hours, [window])
    assert cal.is_open(jst("2026-11-02 03:00:00"))
    assert cal.is_open(jst("2027-01-01 00:00:00"))
    assert cal.retry_after_seconds(jst("2026-11-05 00:30:00")) == 1800


def test_window_lengths_follow_the_scenario() -> None:
    cal = ServiceCalendar(ServiceHours(daily_midnight_seconds=120, daily_4am_seconds=0), [])
    assert not cal.is_open(jst("2026-11-05 00:01:59"))
    assert cal.is_open(jst("2026-11-05 00:02:00"))
    assert cal.is_open(jst("2026-11-05 04:00:00"))


def test_windows_on_lists_a_days_windows(cal: ServiceCalendar) -> None:
    reasons = [w.reason for w in cal.windows_on(date(2026, 11, 7))]
    assert reasons == ["daily_midnight", "daily_4am", "sunday_maintenance"]


def test_moments_in_other_zones_are_the_same_instant(cal: ServiceCalendar) -> None:
    closed = jst("2026-11-07 23:50:00")
    in_utc = closed.astimezone(UTC)  # 14:50 UTC on Saturday
    in_la = closed.astimezone(ZoneInfo("America/Los_Angeles"))  # 06:50 on Saturday
    for moment in (in_utc, in_la):
        assert not cal.is_open(moment)
        assert cal.retry_after_seconds(moment) == cal.retry_after_seconds(closed)
    assert cal.is_open(in_utc - timedelta(seconds=1))


_SCRIPT = """
import json, sys
from datetime import datetime, timedelta
from sandbox.clock import JST
from sandbox.domain.calendar import ServiceCalendar
from sandbox.scenario.model import ServiceHours
cal = ServiceCalendar(ServiceHours(), [])
start = datetime(2026, 11, 1, tzinfo=JST)
out = []
for step in range(0, 40 * 24 * 60, 7):
    now = start + timedelta(minutes=step)
    out.append([cal.is_open(now), cal.retry_after_seconds(now)])
json.dump(out, sys.stdout)
"""


def test_host_time_zone_changes_nothing() -> None:
    results = []
    for zone in ("UTC", "America/Los_Angeles", "Asia/Tokyo"):
        env = {**os.environ, "TZ": zone}
        done = subprocess.run(
            [sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, check=True
        )
        results.append(json.loads(done.stdout))
    assert results[0] == results[1] == results[2]
    assert any(not is_open for is_open, _ in results[0])
