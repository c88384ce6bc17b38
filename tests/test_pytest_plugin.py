"""The pytest plugin vendors use: fixtures against the bundled scenarios, and the example."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TypedDict

import aiohttp
import pytest

from sandbox.driver import CustomerDriver, Outcome, Page
from sandbox.pytest_plugin import RunningSandbox
from sandbox.scenario.bundled import bundled_scenario_text
from sandbox.scenario.loader import load_scenario_text
from sandbox.scenario.model import Scenario

ROOT = Path(__file__).resolve().parent.parent


class AuthorizeParams(TypedDict):
    """What the demo app puts in its authorize URL (``sandbox_customer.link(c, **DEMO)``)."""

    client_id: str
    redirect_uri: str
    state: str


DEMO: AuthorizeParams = {
    "client_id": "demo-app",
    "redirect_uri": "http://127.0.0.1:8765/callback",
    "state": "p",
}


async def test_server_answers_health(sandbox_server: RunningSandbox) -> None:
    async with aiohttp.ClientSession() as http:
        response = await http.get(f"{sandbox_server.url}/_sandbox/health")
        assert response.status == 200
        assert (await response.json())["banks"][0]["bank"] == sandbox_server.bank


async def test_customer_links_on_default_scenario(
    sandbox_server: RunningSandbox, sandbox_customer: CustomerDriver
) -> None:
    outcome = await sandbox_customer.link(sandbox_server.customer("taro"), **DEMO)
    assert isinstance(outcome, Outcome)
    assert outcome.code
    assert outcome.state == "p"


async def test_customer_denies(
    sandbox_server: RunningSandbox, sandbox_customer: CustomerDriver
) -> None:
    outcome = await sandbox_customer.link(sandbox_server.customer("taro"), approve=False, **DEMO)
    assert isinstance(outcome, Outcome)
    assert outcome.error == "access_denied"
    assert outcome.code is None


class TestWithABundledScenario:
    """Overriding ``sandbox_scenario`` picks what the server runs."""

    @pytest.fixture
    def sandbox_scenario(self) -> Scenario:
        return load_scenario_text(bundled_scenario_text("off_hours"), source="off_hours")

    async def test_off_hours_scenario_redirects_temporarily_unavailable(
        self, sandbox_customer: CustomerDriver, sandbox_scenario: Scenario
    ) -> None:
        client = sandbox_scenario.clients[0]
        result = await sandbox_customer.authorize(
            client_id=client.client_id, redirect_uri=client.redirect_uris[0], state="night"
        )
        assert isinstance(result, Outcome)
        assert result.error == "temporarily_unavailable"
        assert result.state == "night"


def test_page_type_is_exported() -> None:
    assert Page.__name__ == "Page"


def test_vendor_example_passes() -> None:
    """examples/ is a real vendor test file: it must pass against the installed plugin."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(ROOT / "examples"),
            str(ROOT / "examples"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout


def test_customer_data_comes_from_the_scenario(sandbox_server: RunningSandbox) -> None:
    taro = sandbox_server.customer("taro")
    assert (taro.branch_code, taro.account_number, taro.pin) == ("001", "1234567", "1234")
    assert taro.birth_date == "1980-01-01"
    assert taro.but(pin="0000").pin == "0000"
    with pytest.raises(KeyError, match="nobody"):
        sandbox_server.customer("nobody")


async def test_default_scenario_is_frozen_at_noon_for_tests(
    sandbox_server: RunningSandbox,
) -> None:
    now = await sandbox_server.state.clock.now()
    assert (await sandbox_server.state.clock.state()).frozen
    assert (now.hour, now.minute, now.second) == (12, 0, 0)
    assert now.utcoffset() is not None
    assert sandbox_server.state.calendar.closed_window(now) is None
