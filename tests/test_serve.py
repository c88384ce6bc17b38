"""`sandbox serve` on a SQL store, as real processes: restarts lose nothing, workers share."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from sandbox.driver import CustomerData, CustomerDriver, Outcome, Page
from tests.servers import SECRET, Server, postgres_url, serving
from tests.web.conftest import APP, HANAKO, SCENARIO, TARO
from tests.web.flows import to_consent

BANK = "2011"
SECRET_ONE = "secret-one-123"


def _scenario(tmp_path: Path) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


def _session(url: str, jar: aiohttp.CookieJar) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(base_url=url, cookie_jar=jar)


async def _token(session: aiohttp.ClientSession, form: dict[str, str]) -> tuple[int, Any]:
    response = await session.post(f"/parasol/v1/banks/{BANK}/oauth/token", data=form)
    return response.status, await response.json()


async def _redeem(session: aiohttp.ClientSession, code: str) -> dict[str, Any]:
    status, body = await _token(
        session,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": APP["redirect_uri"],
            "client_id": APP["client_id"],
            "client_secret": SECRET_ONE,
        },
    )
    assert status == 200, body
    return dict(body)


async def _accounts(session: aiohttp.ClientSession, access: str) -> int:
    response = await session.get(
        f"/parasol/v1/banks/{BANK}/accounts", headers={"Authorization": f"Bearer {access}"}
    )
    return response.status


async def _json(session: aiohttp.ClientSession, path: str) -> Any:
    response = await session.get(path)
    assert response.status == 200, await response.text()
    return await response.json()


def _wrong(who: CustomerData) -> CustomerData:
    return who.but(birth_date="1999-09-09")


async def _lock(session: aiohttp.ClientSession, who: CustomerData) -> None:
    """Three wrong identities: the third locks the account until 00:00 JST."""
    codes = []
    for _ in range(3):
        driver = CustomerDriver(session, BANK)
        await driver.authorize(**APP)
        await driver.enter_account(who)
        page = await driver.enter_identity(_wrong(who))
        assert isinstance(page, Page)
        codes.append(page.error_code)
    assert codes == ["wrong_identity", "wrong_identity", "locked_now"]


async def _identity_answer(session: aiohttp.ClientSession, who: CustomerData) -> str | None:
    driver = CustomerDriver(session, BANK)
    await driver.authorize(**APP)
    await driver.enter_account(who)
    page = await driver.enter_identity(who)
    assert isinstance(page, Page)
    return page.error_code if page.error_code else page.screen


async def test_kill_9_and_restart_on_the_same_sqlite_file_loses_nothing(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'sandbox.db'}"
    scenario = _scenario(tmp_path)
    jar = aiohttp.CookieJar(unsafe=True)  # 127.0.0.1 cookies, shared by both servers
    first = Server(
        ["--port", "0", "--store", store, "--scenario", str(scenario)],
        {"SANDBOX_SECRET_KEY": SECRET, "SANDBOX_ACCESS_LOG": "0"},
    )
    try:
        async with _session(first.url, jar) as session:
            outcome = await CustomerDriver(session, BANK).link(TARO, **APP)
            assert isinstance(outcome, Outcome)
            assert outcome.code is not None
            tokens = await _redeem(session, outcome.code)
            await _lock(session, HANAKO)
            uploaded = await session.put(
                "/_sandbox/scenario",
                data=SCENARIO.replace('code: "2011"', 'code: "2012"'),
                headers={"Content-Type": "application/yaml"},
            )
            assert uploaded.status == 200
            armed = await session.post(
                "/_sandbox/rules",
                json={"on": "token", "when": {"client": "pkce-app"}, "error": "congestion"},
            )
            assert armed.status == 201
            moved = await session.post("/_sandbox/clock", json={"advance_seconds": 30})
            clock = (await moved.json())["now"]
            # A second customer stops on screen ④, inside the 120 s window.
            waiting = CustomerDriver(session, BANK)
            await waiting.authorize(**APP)
            await waiting.enter_account(TARO)
            await waiting.enter_identity(TARO)
            page = await waiting.go_to_confirm()
            assert isinstance(page, Page)
            assert page.screen == "confirm"
            journal = len((await _json(session, "/_sandbox/journal"))["entries"])
            mails = len((await _json(session, "/_sandbox/outbox"))["mails"])
            served = (await _json(session, "/_sandbox/coverage"))["served"]
    finally:
        first.kill9()

    with serving(store, scenario) as second:
        async with _session(second.url, jar) as session:
            # The linkage continues on the same screen with the same cookie.
            waiting.client = session
            page = await waiting.press_call_button()
            assert isinstance(page, Page)
            assert page.screen == "confirm", page.text()[:300]
            page = await waiting.confirm()
            assert isinstance(page, Page)
            assert page.screen == "pin", page.text()[:300]
            # The tokens work, the refresh token rotates, the rotated one is refused.
            assert await _accounts(session, tokens["access_token"]) == 200
            refresh = {
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
                "client_id": APP["client_id"],
                "client_secret": SECRET_ONE,
            }
            status, rotated = await _token(session, refresh)
            assert status == 200, rotated
            assert rotated["refresh_token"] != tokens["refresh_token"]
            assert (await _token(session, refresh))[1]["error"] == "invalid_grant"
            # The lock still holds until 00:00 JST.
            assert await _identity_answer(session, HANAKO) == "locked"
            # Clock, journal, outbox, coverage, the uploaded bank and the rule are intact.
            assert (await _json(session, "/_sandbox/clock"))["now"] == clock
            assert len((await _json(session, "/_sandbox/journal"))["entries"]) > journal
            assert len((await _json(session, "/_sandbox/outbox"))["mails"]) == mails
            coverage = (await _json(session, "/_sandbox/coverage"))["served"]
            for code in served:
                assert coverage[code]["total"] >= served[code]["total"]
            loaded = (await _json(session, "/_sandbox/scenarios"))["loaded"]
            assert {bank["bank"] for bank in loaded} == {"2011", "2012"}
            rules = (await _json(session, "/_sandbox/rules"))["rules"]
            assert [r["rule"]["error"] for r in rules if r["runtime"]] == ["congestion"]


def _serve_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
    return subprocess.run(
        [sys.executable, "-m", "sandbox", "serve", "--port", "0", *args],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_workers_need_a_sql_store() -> None:
    done = _serve_cli("--workers", "2")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "sandbox serve: --workers 2 needs a SQL store (--store sqlite:///FILE or "
        "postgresql://...): with the memory store each worker would hold its own state"
    ]


def test_a_sql_store_needs_a_secret_key(tmp_path: Path) -> None:
    done = _serve_cli("--store", f"sqlite:///{tmp_path / 'x.db'}")
    assert done.returncode == 2
    assert "SANDBOX_SECRET_KEY" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_an_unknown_store_is_one_clear_line() -> None:
    done = _serve_cli("--store", "redis://localhost", env={"SANDBOX_SECRET_KEY": SECRET})
    assert done.returncode == 2
    assert done.stderr.strip().startswith("sandbox serve: unknown store")
    assert "Traceback" not in done.stderr


def test_an_unknown_event_loop_is_one_clear_line() -> None:
    done = _serve_cli(env={"SANDBOX_EVENT_LOOP": "trio"})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "sandbox serve: SANDBOX_EVENT_LOOP must be one of auto, uvloop, asyncio, not 'trio'"
    ]


@pytest.mark.parametrize(
    ("env", "runs_on"),
    [
        ({}, "uvloop (writes: batched)"),
        ({"SANDBOX_EVENT_LOOP": "asyncio"}, "asyncio (writes: batched)"),
        ({"SANDBOX_BATCH_WRITES": "0"}, "uvloop (writes: each at once)"),
    ],
)
async def test_serve_runs_on_uvloop_and_batches_writes_unless_told_otherwise(
    tmp_path: Path, env: dict[str, str], runs_on: str
) -> None:
    server = Server(["--port", "0", "--scenario", str(_scenario(tmp_path))], env)
    try:
        async with aiohttp.ClientSession() as s:
            response = await s.get(f"{server.url}/parasol/v1/banks/{BANK}/accounts")
            assert response.status == 401  # it serves
        for _ in range(50):  # the log writer thread writes within one of its 20 ms ticks
            if any('"event loop: ' in line for line in server.output):
                break
            await asyncio.sleep(0.05)
        (line,) = [line for line in server.output if '"event loop: ' in line]
        assert f'"event loop: {runs_on}"' in line
    finally:
        server.stop()


# PostgreSQL, two processes ------------------------------------------------------------


@pytest.fixture
async def database() -> AsyncIterator[str]:
    """A fresh database on the test PostgreSQL server, migrated, dropped afterwards."""
    admin = postgres_url()
    name = f"sandbox_{secrets.token_hex(6)}"
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    url = admin.rsplit("/", 1)[0] + f"/{name}"
    upgrade = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox",
        "db",
        "upgrade",
        "--store",
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(upgrade.communicate(), 60)
    assert upgrade.returncode == 0, stderr.decode()
    yield url
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def test_postgresql_refuses_to_start_on_an_old_schema() -> None:
    admin = postgres_url()
    done = _serve_cli(
        "--store", admin.rsplit("/", 1)[0] + "/postgres", env={"SANDBOX_SECRET_KEY": SECRET}
    )
    assert done.returncode == 2
    assert "sandbox db upgrade" in done.stderr
    assert "Traceback" not in done.stderr


async def test_two_processes_on_one_postgresql_are_one_sandbox(
    database: str, tmp_path: Path
) -> None:
    scenario = _scenario(tmp_path)
    jar = aiohttp.CookieJar(unsafe=True)
    with serving(database, scenario) as one, serving(database, scenario) as two:
        async with _session(one.url, jar) as a, _session(two.url, jar) as b:
            sessions = [a, b]
            # A whole linkage with every request on the other process than the last.
            driver = CustomerDriver(a, BANK)
            steps: list[Callable[[], Awaitable[Page | Outcome]]] = [
                lambda: driver.authorize(**APP),
                lambda: driver.enter_account(TARO),
                lambda: driver.enter_identity(TARO),
                lambda: driver.go_to_confirm(),
                lambda: driver.press_call_button(),
                lambda: driver.confirm(),
                lambda: driver.enter_pin(TARO.pin),
                lambda: driver.approve(),
            ]
            for i, step in enumerate(steps):
                driver.client = sessions[i % 2]
                result = await step()
            assert isinstance(result, Outcome), result
            assert result.code is not None
            tokens = await _redeem(b, result.code)
            assert await _accounts(a, tokens["access_token"]) == 200
            # A lock counted on both processes.
            for i in range(3):
                browser = CustomerDriver(sessions[i % 2], BANK)
                await browser.authorize(**APP)
                await browser.enter_account(HANAKO)
                page = await browser.enter_identity(_wrong(HANAKO))
                assert isinstance(page, Page)
                assert page.error_code == ("locked_now" if i == 2 else "wrong_identity")
            assert await _identity_answer(b, HANAKO) == "locked"
            # A clock move on one is seen by the other, to the millisecond (frozen here).
            moved = await (await a.post("/_sandbox/clock", json={"advance_seconds": 5})).json()
            assert (await _json(b, "/_sandbox/clock"))["now"] == moved["now"]
            running = await (await b.post("/_sandbox/clock", json={"frozen": False})).json()
            assert running["frozen"] is False
            assert (await _json(a, "/_sandbox/clock"))["frozen"] is False
            await a.post("/_sandbox/clock", json={"frozen": True})
            # A rule armed on one fires on the other; a reset on one clears it on both.
            await a.post("/_sandbox/rules", json={"on": "api", "error": "congestion"})
            assert await _accounts(b, tokens["access_token"]) == 503
            assert (await a.post("/_sandbox/reset")).status == 200
            assert (await _json(b, "/_sandbox/rules"))["rules"] == []
            assert await _accounts(b, tokens["access_token"]) == 401


async def test_fifty_redemptions_split_over_two_processes_give_one_token(
    database: str, tmp_path: Path
) -> None:
    scenario = _scenario(tmp_path)
    jar = aiohttp.CookieJar(unsafe=True)
    with serving(database, scenario) as one, serving(database, scenario) as two:
        async with _session(one.url, jar) as a, _session(two.url, jar) as b:
            outcome = await CustomerDriver(a, BANK).link(TARO, **APP)
            assert isinstance(outcome, Outcome)
            assert outcome.code is not None
            form = {
                "grant_type": "authorization_code",
                "code": outcome.code,
                "redirect_uri": APP["redirect_uri"],
                "client_id": APP["client_id"],
                "client_secret": SECRET_ONE,
            }
            results = await asyncio.gather(*(_token((a, b)[i % 2], form) for i in range(50)))
            statuses = Counter(status for status, _ in results)
            assert statuses == {200: 1, 400: 49}
            # The replays revoked the grant the winner got.
            (winner,) = [body for status, body in results if status == 200]
            assert await _accounts(b, winner["access_token"]) == 401


async def test_parallel_wrong_pins_over_two_processes_stop_at_the_limit(
    database: str, tmp_path: Path
) -> None:
    scenario = _scenario(tmp_path)
    jar_count = 24
    with serving(database, scenario) as one, serving(database, scenario) as two:
        urls = [one.url, two.url]
        sessions = [_session(urls[i % 2], aiohttp.CookieJar(unsafe=True)) for i in range(jar_count)]
        try:

            async def at_pin(session: aiohttp.ClientSession) -> CustomerDriver:
                driver = CustomerDriver(session, BANK)
                await driver.authorize(**APP)
                await driver.enter_account(TARO)
                await driver.enter_identity(TARO)
                await driver.go_to_confirm()
                await driver.press_call_button()
                page = await driver.confirm()
                assert isinstance(page, Page)
                assert page.screen == "pin", page.text()[:300]
                return driver

            drivers = list(await asyncio.gather(*(at_pin(s) for s in sessions)))
            late = drivers.pop()
            pages = await asyncio.gather(*(d.enter_pin("9999") for d in drivers))
            codes = Counter(p.error_code for p in pages if isinstance(p, Page))
            assert codes == {"wrong_pin": 2, "pin_locked_now": 1, "pin_locked": jar_count - 4}
            page = await late.enter_pin(TARO.pin)
            assert isinstance(page, Page)
            assert page.error_code == "pin_locked"
        finally:
            for session in sessions:
                await session.close()


def _reserved_port() -> socket.socket:
    """A port held with SO_REUSEPORT (not listening), for workers that join it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


async def test_two_workers_share_one_port_and_one_state(database: str, tmp_path: Path) -> None:
    scenario = _scenario(tmp_path)
    reserved = _reserved_port()
    port = reserved.getsockname()[1]
    server = Server(
        ["--port", str(port), "--workers", "2", "--store", database, "--scenario", str(scenario)],
        {"SANDBOX_SECRET_KEY": SECRET, "SANDBOX_ACCESS_LOG": "0"},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        # Both workers print that they run; give the second a moment to bind.
        for _ in range(100):
            if sum("Running on" in line for line in server.output) >= 2:
                break
            await asyncio.sleep(0.05)
        assert sum("Running on" in line for line in server.output) == 2, server.output
        # Fresh connections spread over both workers; every one sees one state.
        jar = aiohttp.CookieJar(unsafe=True)
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(base_url=url, cookie_jar=jar, connector=connector) as s:
            outcome = await CustomerDriver(s, BANK).link(TARO, **APP)
            assert isinstance(outcome, Outcome), outcome
            assert outcome.code is not None
            tokens = await _redeem(s, outcome.code)
            statuses = {await _accounts(s, tokens["access_token"]) for _ in range(20)}
            assert statuses == {200}
    finally:
        server.stop()
        reserved.close()


async def test_uploads_transfers_and_approvals_are_one_state_across_processes(
    database: str, tmp_path: Path
) -> None:
    scenario = _scenario(tmp_path)
    jar = aiohttp.CookieJar(unsafe=True)
    with serving(database, scenario) as one, serving(database, scenario) as two:
        async with _session(one.url, jar) as a, _session(two.url, jar) as b:
            # A scenario uploaded through one process is served by the other.
            uploaded = await a.put(
                "/_sandbox/scenario",
                data=SCENARIO.replace('code: "2011"', 'code: "2012"'),
                headers={"Content-Type": "application/yaml"},
            )
            assert uploaded.status == 200
            loaded = (await _json(b, "/_sandbox/scenarios"))["loaded"]
            assert {bank["bank"] for bank in loaded} == {"2011", "2012"}
            health = await (
                await b.get("/.well-known/oauth-authorization-server/parasol/v1/banks/2012")
            ).json()
            assert health["issuer"].endswith("/parasol/v1/banks/2012")
            # 20 approvals at once, split over both processes: one code.
            driver = CustomerDriver(a, BANK)
            await to_consent(driver)
            drivers = []
            for i in range(20):
                copy = CustomerDriver((a, b)[i % 2], BANK)
                copy.page = driver.page
                drivers.append(copy)
            results = await asyncio.gather(*(d.approve() for d in drivers))
            codes = [r.code for r in results if isinstance(r, Outcome) and r.code]
            assert len(codes) == 1
            tokens = await _redeem(a, codes[0])
            # 移管 through one process: the other answers with the new account at once.
            accounts = await (
                await b.get(
                    f"/parasol/v1/banks/{BANK}/accounts",
                    headers={"Authorization": f"Bearer {tokens['access_token']}"},
                )
            ).json()
            account_id = accounts["accounts"][0]["account_id"]
            moved = await a.post(f"/_sandbox/accounts/{account_id}/transfer", json={})
            assert moved.status == 200, await moved.text()
            new = (await moved.json())["new"]
            # The other process knows at once: the old token hears account_transferred.
            assert await _accounts(b, tokens["access_token"]) == 403
            relinked = await CustomerDriver(b, BANK).link(
                TARO.but(branch_code=new["branch_code"], account_number=new["account_number"]),
                **APP,
            )
            assert isinstance(relinked, Outcome), relinked
            assert relinked.code is not None


async def test_the_shipped_access_log_holds_no_secret(tmp_path: Path) -> None:
    """`sandbox serve` as shipped (access log on, JSON to stderr): no PIN, code or token."""
    server = Server(
        ["--port", "0", "--scenario", str(_scenario(tmp_path))], {"SANDBOX_ACCESS_LOG": "1"}
    )
    secrets_seen: list[str] = [SECRET_ONE]  # (the PIN goes in a form body, never logged)
    try:
        async with _session(server.url, aiohttp.CookieJar(unsafe=True)) as s:
            driver = CustomerDriver(s, BANK)
            outcome = await driver.link(TARO, **APP)
            assert isinstance(outcome, Outcome)
            assert outcome.code is not None
            tokens = await _redeem(s, outcome.code)
            secrets_seen += [outcome.code, tokens["access_token"], tokens["refresh_token"]]
            # Secrets where they do not belong: in the query string, under odd names too.
            await s.get(f"/parasol/v1/banks/{BANK}/accounts?access_token={tokens['access_token']}")
            await s.get(f"/parasol/v1/banks/{BANK}/accounts?code={outcome.code}")
            assert await _accounts(s, tokens["access_token"]) == 200
    finally:
        server.stop()
    log = "".join(server.output)
    assert '"logger":"sandbox.access"' in log  # the access log was on
    for secret in secrets_seen:
        assert secret not in log, f"a secret reached the log: {secret[:4]}..."


async def test_serve_prints_the_urls_to_open_and_they_work(tmp_path: Path) -> None:
    server = Server(["--port", "0", "--scenario", str(_scenario(tmp_path))], {})
    try:
        for _ in range(50):
            if any("link a customer:" in line for line in server.output):
                break
            await asyncio.sleep(0.05)
        text = "".join(server.output)
        assert f"API docs:    {server.url}/docs" in text
        assert f"console:     {server.url}/_sandbox/console" in text
        (link,) = [
            line.split(": ", 1)[1].strip() for line in server.output if "link a customer" in line
        ]
        assert link.startswith(f"{server.url}/parasol/v1/banks/{BANK}/oauth/auth?")
        async with aiohttp.ClientSession() as s:
            response = await s.get(link, allow_redirects=False)
            assert response.status == 303
            assert "/linkage/" in response.headers["Location"]
            console = await s.get(f"{server.url}/_sandbox/console")
            assert console.status == 200
    finally:
        server.stop()
