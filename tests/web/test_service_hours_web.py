"""Service hours over HTTP: the documented off-hours windows, in any server time zone.

Every test runs three times, with the process's TZ set to Asia/Tokyo, UTC and
America/Los_Angeles: the answers must not change, because the calendar is Japan time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from sandbox.driver import CustomerDriver, Outcome
from tests.web.bundled import (
    BANK,
    CALLBACK,
    OFF_HOURS,
    VENDOR,
    Client,
    MakeClient,
    bundled,
    page_of,
    post_screen,
    read,
    scenario_client,
    set_clock,
)


@pytest.fixture(autouse=True, params=["Asia/Tokyo", "UTC", "America/Los_Angeles"])
def process_tz(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The server process's local time zone (restored afterwards)."""
    zone: str = request.param
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    yield zone
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
async def client(aiohttp_client: MakeClient) -> Client:
    # off_hours.yaml: the seed calendar plus maintenance 2026-11-25 13:00-14:00 JST.
    return await scenario_client(aiohttp_client, bundled("off_hours"))


@dataclass(frozen=True)
class Answer:
    """What a screen POST got: status, Retry-After and the message shown."""

    status: int
    retry_after: str | None
    message: str | None


async def authorize_at(client: Client, moment: str) -> str | None:
    """The error the app gets back from the authorize URL at ``moment`` (None: screen ①)."""
    await set_clock(client, moment)
    result = await CustomerDriver(client, BANK).authorize(**VENDOR)
    if isinstance(result, Outcome):
        assert result.redirect.startswith(CALLBACK + "?")
        assert result.state == "st-42"
        assert result.code is None
        return result.error
    assert page_of(result).screen == "account"
    return None


async def screen_post_at(client: Client, moment: str, started: str) -> Answer:
    """Open screen ① at ``started``, then post it at ``moment``."""
    await set_clock(client, started)
    driver = CustomerDriver(client, BANK)
    page_of(await driver.authorize(**VENDOR))
    await set_clock(client, moment)
    response = await post_screen(
        client, driver, branch_code="001", account_type="ordinary", account_number="1234567"
    )
    retry_after = response.headers.get("Retry-After")
    if response.status == 303:
        return Answer(303, retry_after, None)
    page = await read(response)
    return Answer(page.status, retry_after, page.error_message)


def closed(seconds_left: int) -> Answer:
    return Answer(503, str(seconds_left), OFF_HOURS)


OPEN = Answer(303, None, None)  # screen ① accepted: on to screen ②


# The eve of the 2nd Sunday (Sat 2026-11-07 23:50 - Sun 2026-11-08 07:00) -------------------


async def test_authorize_closes_at_2350_on_the_eve_of_the_second_sunday(client: Client) -> None:
    assert await authorize_at(client, "2026-11-07T23:49:59+09:00") is None
    assert await authorize_at(client, "2026-11-07T23:50:00+09:00") == "temporarily_unavailable"
    assert await authorize_at(client, "2026-11-08T06:59:59+09:00") == "temporarily_unavailable"
    assert await authorize_at(client, "2026-11-08T07:00:00+09:00") is None
    # The same instants written in UTC.
    assert await authorize_at(client, "2026-11-07T14:49:59+00:00") is None
    assert await authorize_at(client, "2026-11-07T14:50:00Z") == "temporarily_unavailable"


async def test_screen_post_in_the_window_says_off_hours_with_retry_after(client: Client) -> None:
    answer = await screen_post_at(
        client, "2026-11-07T23:50:00+09:00", started="2026-11-07T23:49:59+09:00"
    )
    assert answer == closed(7 * 3600 + 10 * 60)  # until Sunday 07:00
    # A linkage lives 30 minutes, so a customer can still be on screen ① at 00:15.
    answer = await screen_post_at(
        client, "2026-11-08T00:15:00+09:00", started="2026-11-07T23:49:00+09:00"
    )
    assert answer == closed(6 * 3600 + 45 * 60)


async def test_first_sunday_eve_is_open(client: Client) -> None:
    # 2026-11-01 is the 1st Sunday: no window the evening before.
    assert await authorize_at(client, "2026-10-31T23:55:00+09:00") is None
    # 2026-11-22 is the 4th Sunday: closed.
    assert await authorize_at(client, "2026-11-21T23:55:00+09:00") == "temporarily_unavailable"


# The daily windows ----------------------------------------------------------------------


async def test_the_0400_window(client: Client) -> None:
    started = "2026-11-25T03:59:00+09:00"
    assert await screen_post_at(client, "2026-11-25T03:59:59+09:00", started) == OPEN
    assert await screen_post_at(client, "2026-11-25T04:00:00+09:00", started) == closed(300)
    assert await screen_post_at(client, "2026-11-25T04:04:59+09:00", started) == closed(1)
    assert await screen_post_at(client, "2026-11-25T04:05:00+09:00", started) == OPEN
    assert await authorize_at(client, "2026-11-25T04:02:00+09:00") == "temporarily_unavailable"


async def test_the_midnight_minute(client: Client) -> None:
    started = "2026-11-24T23:59:00+09:00"
    assert await screen_post_at(client, "2026-11-24T23:59:59+09:00", started) == OPEN
    assert await screen_post_at(client, "2026-11-25T00:00:00+09:00", started) == closed(60)
    assert await screen_post_at(client, "2026-11-25T00:00:45+09:00", started) == closed(15)
    assert await screen_post_at(client, "2026-11-25T00:01:00+09:00", started) == OPEN
    # Midnight in Japan is 15:00 UTC, whatever the server's own zone.
    assert await authorize_at(client, "2026-11-24T15:00:30Z") == "temporarily_unavailable"


async def test_first_and_third_monday_maintenance(client: Client) -> None:
    # 2026-12-07 is the 1st Monday of December: 02:00-06:00 closed.
    assert await authorize_at(client, "2026-12-07T01:59:59+09:00") is None
    assert await authorize_at(client, "2026-12-07T02:00:00+09:00") == "temporarily_unavailable"
    answer = await screen_post_at(
        client, "2026-12-07T02:20:00+09:00", started="2026-12-07T01:59:00+09:00"
    )
    assert answer == closed(3 * 3600 + 40 * 60)
    assert await authorize_at(client, "2026-12-07T05:59:59+09:00") == "temporarily_unavailable"
    assert await authorize_at(client, "2026-12-07T06:00:00+09:00") is None
    # The 2nd Monday is open.
    assert await authorize_at(client, "2026-12-14T03:00:00+09:00") is None


async def test_new_year_evening_runs_into_the_next_morning(client: Client) -> None:
    # Jan 1 19:00-24:00 and Jan 2 00:00-08:00 join: one window until 08:00.
    answer = await screen_post_at(
        client, "2027-01-01T19:20:00+09:00", started="2027-01-01T18:59:00+09:00"
    )
    assert answer == closed(12 * 3600 + 40 * 60)
    assert await authorize_at(client, "2027-01-02T07:59:59+09:00") == "temporarily_unavailable"
    assert await authorize_at(client, "2027-01-02T08:00:00+09:00") is None


# Announced maintenance from the scenario -----------------------------------------------


async def test_scenario_maintenance_window(client: Client) -> None:
    started = "2026-11-25T12:59:00+09:00"
    assert await screen_post_at(client, "2026-11-25T12:59:59+09:00", started) == OPEN
    assert await screen_post_at(client, "2026-11-25T13:20:00+09:00", started) == closed(2400)
    assert await authorize_at(client, "2026-11-25T13:59:59+09:00") == "temporarily_unavailable"
    assert await screen_post_at(client, "2026-11-25T14:00:00+09:00", "2026-11-25T14:00:00") == OPEN
    await set_clock(client, "2026-11-25T13:30:00+09:00")
    state = await (await client.get("/_sandbox/clock")).json()
    assert state["service_open"] is False
    assert state["timezone"] == "Asia/Tokyo"
    assert state["closed_window"] == {
        "start": "2026-11-25T13:00:00+09:00",
        "end": "2026-11-25T14:00:00+09:00",
        "reason": "announced_maintenance",
    }


# Token endpoint and data API are closed too --------------------------------------------


async def test_token_endpoint_and_data_api_answer_off_hours(client: Client) -> None:
    await set_clock(client, "2026-11-07T23:55:00+09:00")
    response = await client.post(
        f"/parasol/v1/banks/{BANK}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": "whatever",
            "redirect_uri": CALLBACK,
            "client_id": "vendor-app",
            "client_secret": "vendor-secret-123",
        },
    )
    assert response.status == 503
    assert response.headers["Retry-After"] == str(7 * 3600 + 5 * 60)
    assert (await response.json())["error"] == "temporarily_unavailable"
    response = await client.get(
        f"/parasol/v1/banks/{BANK}/accounts", headers={"Authorization": "Bearer abc"}
    )
    assert response.status == 503
    assert response.headers["Retry-After"] == str(7 * 3600 + 5 * 60)
    assert await response.json() == {"error_code": "off_hours", "error_message": OFF_HOURS} | {
        "detail": "outside service hours"
    }
