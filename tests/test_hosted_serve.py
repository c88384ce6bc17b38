"""`sandbox serve --hosted` as real processes: what it needs to start, and a vendor's day."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sandbox.driver import CustomerDriver, Outcome
from tests.servers import SECRET, Server
from tests.web.conftest import APP, SCENARIO, TARO

ADMIN = "an-admin-key-for-the-hosted-tests"
BANK = "2011"


def _env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {
        "SANDBOX_PUBLIC_URL": "http://127.0.0.1",
        "SANDBOX_SECRET_KEY": SECRET,
        "SANDBOX_ADMIN_KEY": ADMIN,
        "SANDBOX_STORE": f"sqlite:///{tmp_path / 'hosted.db'}",
        "SANDBOX_ACCESS_LOG": "0",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v}


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "missing",
    ["SANDBOX_PUBLIC_URL", "SANDBOX_SECRET_KEY", "SANDBOX_ADMIN_KEY", "SANDBOX_STORE"],
)
def test_hosted_mode_names_what_it_misses(missing: str, tmp_path: Path) -> None:
    done = _run(["serve", "--hosted", "--port", "0"], _env(tmp_path, **{missing: ""}))
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("sandbox serve: --hosted needs ")
    assert missing in line
    assert "Traceback" not in done.stderr


def test_hosted_mode_refuses_the_memory_store(tmp_path: Path) -> None:
    done = _run(["serve", "--hosted", "--store", "memory"], _env(tmp_path))
    assert done.returncode == 2
    assert "SANDBOX_STORE" in done.stderr


def test_workspace_create_needs_the_secret_key(tmp_path: Path) -> None:
    done = _run(["workspace", "create", "acme"], _env(tmp_path, SANDBOX_SECRET_KEY=""))
    assert done.returncode == 2
    assert "SANDBOX_SECRET_KEY" in done.stderr


async def _link(url: str, client: dict[str, str]) -> dict[str, Any]:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(base_url=url, cookie_jar=jar) as session:
        outcome = await CustomerDriver(session, BANK).link(
            TARO, client_id=client["client_id"], redirect_uri=APP["redirect_uri"], state="s" * 24
        )
        assert isinstance(outcome, Outcome), outcome
        assert outcome.code, outcome
        response = await session.post(
            f"/parasol/v1/banks/{BANK}/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": outcome.code,
                "redirect_uri": APP["redirect_uri"],
                "client_id": client["client_id"],
                "client_secret": client["client_secret"],
            },
        )
        assert response.status == 200, await response.text()
        tokens: dict[str, Any] = await response.json()
        return tokens


async def test_a_cli_workspace_links_on_a_hosted_server_and_survives_a_restart(
    tmp_path: Path,
) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    env = _env(tmp_path, SANDBOX_SCENARIO=str(scenario))
    created = _run(["workspace", "create", "acme"], env)
    assert created.returncode == 0, created.stderr
    answer = json.loads(created.stdout)
    assert answer["workspace"] == "acme"
    assert answer["api_key"].startswith("sbx_acme_")
    client = answer["banks"][0]["clients"][0]
    assert client["client_id"] == "acme.app-1"
    again = _run(["workspace", "create", "acme"], env)
    assert again.returncode == 2
    assert "already exists" in again.stderr
    key = {"Authorization": f"Bearer {answer['api_key']}"}

    server = Server(["--hosted", "--port", "0"], env)
    try:
        tokens = await _link(server.url, client)
        async with aiohttp.ClientSession(base_url=server.url) as session:
            health = await (await session.get("/_sandbox/health")).json()
            assert "banks" not in health
            journal = await session.get("/_sandbox/journal", headers=key)
            assert journal.status == 200
            assert any(
                e["path"].endswith("/oauth/token") for e in (await journal.json())["entries"]
            )
            made = await session.post(
                "/_sandbox/workspaces",
                json={"name": "beta"},
                headers={"Authorization": f"Bearer {ADMIN}"},
            )
            assert made.status == 201
    finally:
        server.stop()

    restarted = Server(["--hosted", "--port", "0"], env)
    try:
        async with aiohttp.ClientSession(base_url=restarted.url) as session:
            accounts = await session.get(
                f"/parasol/v1/banks/{BANK}/accounts",
                headers={"Authorization": f"Bearer {tokens['access_token']}"},
            )
            assert accounts.status == 200, await accounts.text()
            clock = await session.get("/_sandbox/clock", headers=key)
            assert clock.status == 200
    finally:
        restarted.stop()


def test_a_bad_quota_is_one_line(tmp_path: Path) -> None:
    done = _run(["serve", "--hosted"], _env(tmp_path, SANDBOX_QUOTA_BANKS="-1"))
    assert done.returncode == 2
    assert done.stderr.strip() == ("sandbox serve: SANDBOX_QUOTA_BANKS must be above 0, got '-1'")


async def test_a_slow_loris_connection_is_closed(tmp_path: Path) -> None:
    env = _env(tmp_path, SANDBOX_KEEPALIVE_SECONDS="1")
    server = Server(["--hosted", "--port", "0"], env)
    try:
        host, port = server.url.removeprefix("http://").split(":")
        connections = []
        for _ in range(20):
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(b"GET /_sandbox/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            await writer.drain()
            connections.append((reader, writer))
        started = time.monotonic()
        for reader, writer in connections:  # each is closed by the server, unanswered
            assert await asyncio.wait_for(reader.read(), timeout=10) == b""
            writer.close()
        assert time.monotonic() - started < 5
        async with aiohttp.ClientSession(base_url=server.url) as session:
            assert (await session.get("/_sandbox/health")).status == 200
    finally:
        server.stop()
