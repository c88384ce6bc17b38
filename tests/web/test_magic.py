"""Magic customers of the default scenario: each produces its documented error, no setup."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from sandbox.domain.magic import TRIGGER_STEPS
from sandbox.driver import CustomerData, CustomerDriver, Page
from sandbox.errors import CATALOG
from sandbox.scenario.bundled import default_scenario
from sandbox.scenario.model import ClockModel
from sandbox.steps import Step
from tests.web.conftest import MakeClient, make_app

DEMO = {"client_id": "demo-app", "redirect_uri": "http://127.0.0.1:8765/callback", "state": "m"}
OPEN = "2026-11-25T10:00:00+09:00"  # a Wednesday morning: the bank is open


@pytest.fixture
async def client(aiohttp_client: MakeClient) -> TestClient[Any, Any]:
    scenario = default_scenario()
    frozen = scenario.model_copy(update={"clock": ClockModel(start=OPEN, frozen=True)})
    return await aiohttp_client(make_app(frozen))


async def _magic(client: TestClient[Any, Any]) -> dict[str, dict[str, Any]]:
    listed = await (await client.get("/_sandbox/customers?limit=50")).json()
    return {c["triggers"]: c for c in listed["customers"] if "triggers" in c}


def _typed(customer: dict[str, Any]) -> CustomerData:
    account = customer["accounts"][0]
    return CustomerData(
        branch_code=account["branch_code"],
        account_number=account["account_number"],
        pin=account["pin"],
        name_kana=customer["name_kana"],
        birth_date=customer["birth_date"],
        phone=customer["phone"],
        email=customer["email"],
    )


async def test_every_documented_error_has_a_magic_customer(client: TestClient[Any, Any]) -> None:
    magic = await _magic(client)
    assert set(magic) == set(TRIGGER_STEPS)
    documented = {code for code, entry in CATALOG.items() if entry.documented}
    assert documented <= set(magic)  # tables 3/4 and 4/4, every one
    assert {"phone_window_expired", "pin_locked_now"} <= set(magic)


@pytest.mark.parametrize(
    "code", [code for code, step in TRIGGER_STEPS.items() if step == Step.IDENTITY]
)
async def test_screen_two_answers_the_magic_error(client: TestClient[Any, Any], code: str) -> None:
    who = _typed((await _magic(client))[code])
    driver = CustomerDriver(client, "2011")
    await driver.authorize(**DEMO)
    await driver.enter_account(who)
    page = await driver.enter_identity(who)  # the right identity: the account is magic
    assert isinstance(page, Page)
    assert page.error_code == code
    assert page.error_message is not None
    assert CATALOG[code].message.split("。")[0] in page.error_message


async def test_the_phone_window_magic_expires_on_screen_four(client: TestClient[Any, Any]) -> None:
    who = _typed((await _magic(client))["phone_window_expired"])
    driver = CustomerDriver(client, "2011")
    await driver.authorize(**DEMO)
    await driver.enter_account(who)
    page = await driver.enter_identity(who)
    assert isinstance(page, Page)
    assert page.screen == "phone"
    await driver.go_to_confirm()
    page = await driver.press_call_button()  # the call comes, as if past the 120 s window
    assert isinstance(page, Page)
    assert page.error_code == "phone_window_expired"


async def test_the_pin_lock_magic_refuses_any_pin(client: TestClient[Any, Any]) -> None:
    who = _typed((await _magic(client))["pin_locked_now"])
    outcome = await CustomerDriver(client, "2011").link(
        who, client_id=DEMO["client_id"], redirect_uri=DEMO["redirect_uri"], state="m"
    )
    assert isinstance(outcome, Page)
    assert outcome.error_code == "pin_locked_now"


async def test_magic_errors_count_in_coverage(client: TestClient[Any, Any]) -> None:
    who = _typed((await _magic(client))["congestion"])
    driver = CustomerDriver(client, "2011")
    await driver.authorize(**DEMO)
    await driver.enter_account(who)
    await driver.enter_identity(who)
    report = await (await client.get("/_sandbox/coverage")).json()
    assert "congestion" in str(report)
