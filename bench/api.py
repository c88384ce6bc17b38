"""Benchmark: the /transactions endpoint against a bare aiohttp JSON handler, plus encoders.

Run: ``/work/venv/bin/python bench/api.py [--requests 10000] [--concurrency 32] [--seconds 20]``.
Both servers run in this process on 127.0.0.1 (random ports) and are driven by the same
aiohttp client loop, so the ratio shows what the sandbox adds (middlewares, session, token
check, ledger, view building) over aiohttp itself. Target: ratio >= 0.5.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import timeit
from typing import Any

import orjson
from aiohttp import ClientSession, TCPConnector, web

from sandbox.domain.refs import account_id
from sandbox.scenario.loader import load_scenario_text
from sandbox.settings import Settings
from sandbox.tenant.tenant import Tenant
from sandbox.web.app import REGISTRY, create_app

SCENARIO = """
name: bench
bank:
  code: "2011"
  policy: {statement_months: 6, max_statement_days: 200}
clock: {start: "2026-11-25T10:00:00+09:00", frozen: true}
clients:
  - {client_id: bench, client_secret: bench-secret, redirect_uris: ["http://127.0.0.1/cb"]}
customers:
  - id: bench
    name_kanji: 計測 太郎
    name_kana: ｹｲｿｸ ﾀﾛｳ
    birth_date: "1980-01-01"
    phone: "090-1111-2222"
    email: bench@example.jp
    accounts: [{branch: "001", number: "1234567", pin: "1234", balance: 800000}]
"""
REF = "001-ordinary-1234567"
LINES = 50


async def issue_token(sandbox: Tenant) -> str:
    """An access token for the bench customer, without the screens."""
    now = await sandbox.clock.now()
    request = sandbox.oauth.validate_authorize(
        {"response_type": "code", "client_id": "bench", "redirect_uri": "http://127.0.0.1/cb"}
    )
    code = await sandbox.oauth.issue_code(request, "bench", (REF,), now)
    client = sandbox.oauth.client("bench")
    assert client is not None
    tokens = await sandbox.oauth.exchange_code(client, code, "http://127.0.0.1/cb", None, now)
    return str(tokens["access_token"])


def bench_app() -> web.Application:
    """The sandbox app on the bench scenario (in-memory store), no access log."""
    scenario = load_scenario_text(SCENARIO, source="<bench>")
    return create_app(
        Settings(secret_key=b"b" * 32, access_log=False), scenarios=[(scenario, "<bench>")]
    )


async def bench_tenant(app: web.Application) -> Tenant:
    """The bench bank of a started ``app``."""
    tenant = await app[REGISTRY].get("2011")
    assert tenant is not None
    return tenant


async def start(app: web.Application) -> tuple[web.AppRunner, int]:
    """Serve ``app`` on 127.0.0.1 at a free port."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, int(runner.addresses[0][1])


async def drive(
    url: str, headers: dict[str, str], requests: int, concurrency: int, seconds: float
) -> dict[str, float]:
    """Send up to ``requests`` GETs (``concurrency`` at a time, at most ``seconds``)."""
    latencies: list[float] = []
    errors = 0
    issued = 0
    deadline = time.perf_counter() + seconds
    connector = TCPConnector(limit=concurrency)
    async with ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal errors, issued
            while issued < requests and time.perf_counter() < deadline:
                issued += 1
                began = time.perf_counter()
                async with session.get(url, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - began)

        for _ in range(concurrency):  # warm-up: connections, caches
            async with session.get(url, headers=headers) as response:
                await response.read()
        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


async def main(args: argparse.Namespace) -> None:
    """Start both servers, check the page, drive both, print the comparison."""
    app = bench_app()
    runner, port = await start(app)
    headers = {"Authorization": f"Bearer {await issue_token(await bench_tenant(app))}"}
    query = f"date_from=2026-06-01&date_to=2026-11-25&limit={LINES}"
    url = f"http://127.0.0.1:{port}/parasol/v1/banks/2011/accounts/{account_id('2011', REF)}"
    url += f"/transactions?{query}"
    async with ClientSession() as session, session.get(url, headers=headers) as response:
        assert response.status == 200, await response.text()
        page: dict[str, Any] = await response.json()
    assert page["count"] == LINES, page["count"]

    async def static(request: web.Request) -> web.Response:
        return web.json_response(page)

    baseline = web.Application()
    baseline.router.add_get("/static", static)
    static_runner, static_port = await start(baseline)
    try:
        print(f"page: {LINES} lines, {len(orjson.dumps(page))} bytes (orjson)")
        results = {}
        for name, target, hdrs in [
            ("sandbox /transactions", url, headers),
            ("static aiohttp JSON", f"http://127.0.0.1:{static_port}/static", {}),
        ]:
            stats = await drive(target, hdrs, args.requests, args.concurrency, args.seconds)
            results[name] = stats
            print(
                f"{name:24} {stats['requests']:6.0f} req  {stats['rps']:8.0f} req/s  "
                f"p50 {stats['p50_ms']:6.2f} ms  p99 {stats['p99_ms']:6.2f} ms  "
                f"errors {stats['errors']:.0f}"
            )
        ratio = results["sandbox /transactions"]["rps"] / results["static aiohttp JSON"]["rps"]
        verdict = "OK" if ratio >= 0.5 else "BELOW TARGET"
        print(f"ratio sandbox/static: {ratio:.2f}x (target >= 0.5x) {verdict}")
    finally:
        await runner.cleanup()
        await static_runner.cleanup()

    rounds = 2000
    std = timeit.timeit(lambda: json.dumps(page, ensure_ascii=False).encode(), number=rounds)
    fast = timeit.timeit(lambda: orjson.dumps(page), number=rounds)
    print(
        f"encode one page: json.dumps {std / rounds * 1e6:.1f} us, "
        f"orjson {fast / rounds * 1e6:.1f} us ({std / fast:.1f}x faster)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0)
    asyncio.run(main(parser.parse_args()))
