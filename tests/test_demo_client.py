"""The tutorial's example app links an account through the real sandbox, end to end."""

from __future__ import annotations

import importlib.util
import re
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import ModuleType

import aiohttp
import pytest
from aiohttp import web

from sandbox.domain.bank import Customer
from sandbox.driver import CustomerData, CustomerDriver, Outcome, Page
from sandbox.scenario.build import build_directory
from sandbox.scenario.bundled import bundled_scenario_text, default_scenario
from sandbox.scenario.loader import load_scenario_text
from sandbox.settings import Settings
from sandbox.web.app import REGISTRY, create_app


def _demo_module() -> ModuleType:
    path = Path(__file__).resolve().parent.parent / "examples" / "demo_client.py"
    spec = importlib.util.spec_from_file_location("demo_client", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def _taro() -> Customer:
    customer = build_directory(default_scenario()).get_customer("taro")
    assert customer is not None
    return customer


def _listening_socket() -> socket.socket:
    """A socket on a port of 127.0.0.1 the kernel picked (no free-port guess)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


async def _serve(app: web.Application, sock: socket.socket) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return runner


@pytest.fixture
async def servers() -> AsyncIterator[tuple[str, str]]:
    """The sandbox (default scenario, noon) and the demo app, both on 127.0.0.1."""
    sandbox_sock, demo_sock = _listening_socket(), _listening_socket()
    sandbox_port, demo_port = sandbox_sock.getsockname()[1], demo_sock.getsockname()[1]
    # The default scenario, with demo-app's redirect URI on the port the demo app got.
    text = bundled_scenario_text("default").replace(
        "http://127.0.0.1:8765/callback", f"http://127.0.0.1:{demo_port}/callback"
    )
    sandbox_app = create_app(Settings(), scenarios=[(load_scenario_text(text), "<test>")])
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    runners = [
        await _serve(sandbox_app, sandbox_sock),
        await _serve(_demo_module().create_demo_app(sandbox_url, "2011", demo_port), demo_sock),
    ]
    state = await sandbox_app[REGISTRY].get("2011")
    assert state is not None
    await state.clock.set((await state.clock.now()).replace(hour=12))
    try:
        yield sandbox_url, f"http://127.0.0.1:{demo_port}"
    finally:
        for runner in runners:
            await runner.cleanup()


async def test_demo_app_links_and_shows_the_balance(servers: tuple[str, str]) -> None:
    sandbox_url, demo_url = servers
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        # The app sends the customer to the bank ...
        async with browser.get(f"{demo_url}/start", allow_redirects=False) as response:
            authorize = response.headers["Location"]
        assert authorize.startswith(f"{sandbox_url}/parasol/v1/banks/2011/oauth/auth?")
        assert "code_challenge_method=S256" in authorize
        # ... the customer walks the six screens ...
        taro = CustomerData.of(_taro())
        async with aiohttp.ClientSession(base_url=sandbox_url, cookie_jar=jar) as bank:
            driver = CustomerDriver(bank, "2011")
            page = await driver.open(authorize)
            assert not isinstance(page, Outcome)
            result = await driver.enter_account(taro)
            steps: tuple[Callable[[], Awaitable[Page | Outcome]], ...] = (
                lambda: driver.enter_identity(taro),
                driver.go_to_confirm,
                driver.press_call_button,
                driver.confirm,
                lambda: driver.enter_pin(taro.pin),
                driver.approve,
            )
            for step in steps:
                assert not isinstance(result, Outcome), result
                result = await step()
        assert isinstance(result, Outcome)
        assert result.redirect.startswith(f"{demo_url}/callback?")
        # ... and comes back to the app, which redeems the code and reads the account.
        async with browser.get(result.redirect) as response:
            text = await response.text()
            assert response.status == 200, text
    assert "連携しました" in text
    assert re.search(r"本店営業部 普通 1234567: <span class='balance'>[\d,]+円", text)
    assert "最近の入出金" in text


async def test_demo_app_refuses_a_forged_callback(servers: tuple[str, str]) -> None:
    _, demo_url = servers
    async with (
        aiohttp.ClientSession() as browser,
        browser.get(f"{demo_url}/callback?code=x&state=forged") as response,
    ):
        assert response.status == 400
        assert "state" in await response.text()
