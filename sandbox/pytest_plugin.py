"""Pytest fixtures for vendors' test suites: a sandbox server and a headless customer.

Enabled automatically when the package is installed (entry point ``pytest11``). Pick the
scenario with the ``sandbox_scenario`` fixture (override it) or ``--sandbox-scenario``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from sandbox.clock import real_now
from sandbox.driver import CustomerData, CustomerDriver
from sandbox.scenario.bundled import bundled_scenario_text, default_scenario
from sandbox.scenario.loader import load_scenario, load_scenario_text
from sandbox.scenario.model import ClockModel, Scenario
from sandbox.settings import Settings
from sandbox.tenant.tenant import Tenant
from sandbox.web.app import REGISTRY, create_app


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("creditunion-sandbox")
    group.addoption(
        "--sandbox-scenario",
        default=None,
        help="scenario file (or bundled scenario name) for the sandbox fixtures",
    )


@dataclass
class RunningSandbox:
    """A sandbox server listening on 127.0.0.1."""

    url: str
    bank: str
    state: Tenant

    def driver(self, session: aiohttp.ClientSession) -> CustomerDriver:
        """A headless customer using ``session`` (which must have base_url=self.url)."""
        return CustomerDriver(session, self.bank)

    def customer(self, customer_id: str, account_index: int = 0) -> CustomerData:
        """What a scenario customer types into the screens, e.g. ``customer("taro")``."""
        found = self.state.directory.get_customer(customer_id)
        if found is None:
            raise KeyError(f"no customer {customer_id!r} in scenario {self.state.scenario.name}")
        return CustomerData.of(found, account_index)


@pytest.fixture
def sandbox_scenario(request: pytest.FixtureRequest) -> Scenario:
    """``--sandbox-scenario`` (file or bundled name), else the embedded one frozen at noon JST.

    Override this fixture to run your own scenario.
    """
    choice = request.config.getoption("--sandbox-scenario")
    if not choice:
        # The embedded scenario follows real time, which may be off-hours (00:00, 04:00...)
        # when CI runs: tests get it frozen at noon, Japan time, today.
        noon = real_now().replace(hour=12, minute=0, second=0, microsecond=0)
        return default_scenario().model_copy(update={"clock": ClockModel(start=noon, frozen=True)})
    path = Path(choice)
    if path.exists():
        return load_scenario(path)
    return load_scenario_text(bundled_scenario_text(choice), source=choice)


@pytest.fixture
async def sandbox_server(sandbox_scenario: Scenario) -> AsyncIterator[RunningSandbox]:
    """A sandbox server on a free port of 127.0.0.1, stopped after the test."""
    app = create_app(Settings(), scenarios=[(sandbox_scenario, "<pytest>")])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)  # the kernel picks a free port
    await site.start()
    port = runner.addresses[0][1]
    state = await app[REGISTRY].get(sandbox_scenario.bank.code)
    assert state is not None
    try:
        yield RunningSandbox(f"http://127.0.0.1:{port}", state.bank_code, state)
    finally:
        await runner.cleanup()


@pytest.fixture
async def sandbox_customer(sandbox_server: RunningSandbox) -> AsyncIterator[CustomerDriver]:
    """A headless customer with its own cookie jar, talking to ``sandbox_server``."""
    # unsafe=True: aiohttp's default jar drops cookies set by an IP address like 127.0.0.1.
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(base_url=sandbox_server.url, cookie_jar=jar) as session:
        yield sandbox_server.driver(session)
