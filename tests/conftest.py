"""Suite-wide fixtures: every app a test serves is checked against the OpenAPI spec."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

import sandbox.web.app
from sandbox.scenario.bundled import default_scenario
from sandbox.store.base import TenantStore
from sandbox.store.memory import MemoryStore
from tests.spec_check import SPEC_LOG, TOTAL, SpecLog, add_spec_check
from tests.stores import sqlite_copy, sqlite_template

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
async def aiohttp_client(aiohttp_client: MakeClient) -> AsyncIterator[MakeClient]:
    """pytest-aiohttp's client factory, plus the spec check on every application."""
    logs: list[SpecLog] = []

    async def make(app: Any, *args: Any, **kwargs: Any) -> TestClient[Any, Any]:
        if isinstance(app, web.Application) and SPEC_LOG not in app:
            logs.append(add_spec_check(app))
        return await aiohttp_client(app, *args, **kwargs)

    yield make
    violations = [v for log in logs for v in log.violations]
    assert not violations, "responses that break the OpenAPI spec:\n" + "\n".join(violations)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say how many responses were checked against the spec."""
    if TOTAL.checked:
        terminalreporter.write_line(
            f"spec check: {TOTAL.checked} responses validated against sandbox/web/openapi.yaml"
        )


@pytest.fixture
async def tenant_store() -> AsyncIterator[TenantStore]:
    """One bank's state in a fresh in-memory store (for tests of the tenant services)."""
    store = MemoryStore()
    await store.put_bank("2011", default_scenario(), "<test>")
    yield store.tenant("2011")
    await store.close()


@pytest.fixture(autouse=True)
def _web_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With SANDBOX_TEST_STORE=sqlite, every app a test builds keeps its state in SQLite.

    .ci/run runs the web tests once more that way, so the whole web suite passes on the
    memory store and on a SQL store.
    """
    if os.environ.get("SANDBOX_TEST_STORE") != "sqlite":
        return
    template = asyncio.run(sqlite_template())  # migrated once, then copied per app
    monkeypatch.setattr(
        sandbox.web.app, "open_store", lambda url, **caps: sqlite_copy(template, tmp_path)
    )
