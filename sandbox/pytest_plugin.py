"""Pytest fixtures for vendors' test suites: a sandbox server and a headless customer.

Enabled automatically when the package is installed (entry point ``pytest11``). Pick the
scenario with the ``sandbox_scenario`` fixture (override it) or ``--sandbox-scenario``.

Two kinds of fixture:

- ``sandbox_url`` (plain, synchronous pytest, any HTTP client): a real ``sandbox serve``
  process per scenario, started once per session and reset before each test. Nothing but
  pytest is needed, and the suite's warning filters never reach the server.
- ``sandbox_server`` / ``sandbox_customer`` (async suites): a server in the test's own event
  loop, with its state (``.state``) at hand. These need an asyncio plugin in auto mode
  (pytest-aiohttp or pytest-asyncio, ``asyncio_mode = "auto"``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from sandbox.clock import real_now
from sandbox.driver import CustomerData, CustomerDriver
from sandbox.scenario.bundled import default_scenario
from sandbox.scenario.model import ClockModel, Scenario
from sandbox.scenario.sources import load_source
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


_RUNNING = re.compile(r"Running on (http://127\.0\.0\.1:\d+)")


class ServeProcess:
    """``python -m sandbox serve ARGS`` in a process of its own; ``url`` once it listens
    (give ``--port 0`` and the kernel picks a free port of 127.0.0.1)."""

    def __init__(self, args: list[str], env: dict[str, str], timeout: float = 30) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "serve", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []
        self.url = ""
        found = threading.Event()
        stream = self.process.stdout
        assert stream is not None

        def read() -> None:
            for line in stream:
                self.output.append(line)
                match = _RUNNING.search(line)
                if match and not found.is_set():
                    self.url = match[1]
                    found.set()

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while not found.wait(0.02):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("sandbox serve did not start:\n" + "".join(self.output)[-3000:])

    def stop(self) -> None:
        """SIGTERM (SIGKILL if it does not end within 10 s), then its output is closed."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._close()

    def _close(self) -> None:
        self._reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()


@dataclass
class SandboxProcess:
    """``sandbox serve`` on one scenario, in a process of its own (memory store)."""

    scenario: Scenario
    server: ServeProcess | None = field(default=None, repr=False)

    @property
    def bank(self) -> str:
        return self.scenario.bank.code

    @property
    def url(self) -> str:
        return self.server.url if self.server is not None else ""

    def start(self, timeout: float = 30) -> SandboxProcess:
        folder = Path(tempfile.mkdtemp(prefix="sandbox-pytest-"))
        path = folder / "scenario.yaml"  # JSON is YAML: digit strings stay quoted strings
        path.write_text(json.dumps(self.scenario.model_dump(mode="json")), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
        self.server = ServeProcess(
            ["--port", "0", "--scenario", str(path)],
            {**env, "SANDBOX_ACCESS_LOG": "0", "PYTHONWARNINGS": "default"},
            timeout,
        )
        return self

    def reset(self) -> None:
        """Back to the scenario's start (POST /_sandbox/reset)."""
        request = urllib.request.Request(f"{self.url}/_sandbox/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


class _Processes:
    """One sandbox process per scenario for the whole session."""

    def __init__(self) -> None:
        self._running: dict[str, SandboxProcess] = {}

    def get(self, scenario: Scenario) -> SandboxProcess:
        key = scenario.model_dump_json()
        running = self._running.get(key)
        if running is None:
            running = self._running[key] = SandboxProcess(scenario).start()
        return running

    def stop(self) -> None:
        for running in self._running.values():
            running.stop()


@pytest.fixture(scope="session")
def _sandbox_processes() -> Iterator[_Processes]:
    processes = _Processes()
    yield processes
    processes.stop()


@pytest.fixture
def sandbox_process(_sandbox_processes: _Processes, sandbox_scenario: Scenario) -> SandboxProcess:
    """A ``sandbox serve`` process on the test's scenario, reset for this test (plain pytest)."""
    running = _sandbox_processes.get(sandbox_scenario)
    running.reset()
    return running


@pytest.fixture
def sandbox_url(sandbox_process: SandboxProcess) -> str:
    """The base URL of a sandbox on the test's scenario, fresh for this test (plain pytest)."""
    return sandbox_process.url


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
    scenario, _ = load_source(Path(choice))
    return scenario


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
