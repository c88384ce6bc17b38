"""Complete linkage flows per second, in-process: six screens, token exchange, first data call.

Usage: python bench/flows.py [--flows 150] [--concurrency 8]

The sandbox serves on 127.0.0.1 (random port) in this process's event loop and headless
customers (``sandbox.driver.CustomerDriver``, each with its own cookie jar) walk the screens
for generated customers: authorize, ① account, ② identity, ③ phone, ④ simulated call and
確定する, ⑤ PIN, ⑥ 許可する, then the app exchanges the code (HTTP Basic) and calls
``GET /accounts``: 16 HTTP requests per flow. Client and server share one core, so the
figure is a floor. Target: >= 100 flows/s.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sandbox.driver import CustomerData, CustomerDriver, Outcome  # noqa: E402
from sandbox.scenario.build import build_population  # noqa: E402
from sandbox.scenario.loader import load_scenario_text  # noqa: E402
from sandbox.scenario.model import Scenario  # noqa: E402
from sandbox.settings import Settings  # noqa: E402
from sandbox.web.app import create_app  # noqa: E402

BANK = "2011"
CLIENT_ID = "bench-app"
SECRET = "bench-secret-123"
REDIRECT_URI = "http://127.0.0.1:9/callback"
CUSTOMERS = 2000
SCENARIO = f"""\
name: bench-flows
description: Generated customers for the linkage-flow benchmark, frozen at 10:00 JST.
clock: {{start: "2026-11-25T10:00:00+09:00", frozen: true}}
clients:
  - client_id: {CLIENT_ID}
    client_secret: {SECRET}
    redirect_uris: ["{REDIRECT_URI}"]
generate: {{count: {CUSTOMERS}, seed: 1}}
"""
BASIC = {"Authorization": "Basic " + base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()}


@dataclass(frozen=True)
class FlowStats:
    """How one batch of flows went."""

    flows: int
    seconds: float
    failures: int

    @property
    def per_second(self) -> float:
        return self.flows / self.seconds if self.seconds else 0.0


def linkable_customers(scenario: Scenario, wanted: int) -> list[CustomerData]:
    """What ``wanted`` generated customers type into the screens (first eligible account)."""
    population = build_population(scenario)
    assert population is not None
    out: list[CustomerData] = []
    for index in range(CUSTOMERS):
        customer = population.customer(index)
        index_of = next((i for i, a in enumerate(customer.accounts) if a.eligible), None)
        if index_of is None:
            continue
        out.append(CustomerData.of(customer, index_of))
        if len(out) == wanted:
            break
    return out


async def serve(scenario: Scenario) -> tuple[web.AppRunner, str]:
    """The sandbox app on 127.0.0.1 at a free port, no access log (as in bench/api.py)."""
    app = create_app(
        Settings(secret_key=b"b" * 32, access_log=False), scenarios=[(scenario, "<bench-flows>")]
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def one_flow(url: str, connector: aiohttp.BaseConnector, customer: CustomerData) -> bool:
    """One customer links and the app reads the accounts; True if everything answered 200."""
    jar = aiohttp.CookieJar(unsafe=True)  # one browser per customer
    async with aiohttp.ClientSession(
        base_url=url, cookie_jar=jar, connector=connector, connector_owner=False
    ) as session:
        outcome = await CustomerDriver(session, BANK).link(
            customer, client_id=CLIENT_ID, redirect_uri=REDIRECT_URI, state="bench"
        )
        if not isinstance(outcome, Outcome) or outcome.code is None:
            return False
        form = {
            "grant_type": "authorization_code",
            "code": outcome.code,
            "redirect_uri": REDIRECT_URI,
        }
        base = f"/parasol/v1/banks/{BANK}"
        async with session.post(f"{base}/oauth/token", data=form, headers=BASIC) as response:
            if response.status != 200:
                return False
            token = (await response.json())["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        async with session.get(f"{base}/accounts", headers=headers) as response:
            await response.read()
            return response.status == 200


async def run_flows(
    url: str, customers: list[CustomerData], flows: int, concurrency: int
) -> FlowStats:
    """``flows`` complete flows, ``concurrency`` at a time, cycling through ``customers``."""
    connector = aiohttp.TCPConnector(limit=max(concurrency, 1) * 2)
    queue = iter(range(flows))
    failures = 0

    async def worker() -> None:
        nonlocal failures
        for n in queue:
            if not await one_flow(url, connector, customers[n % len(customers)]):
                failures += 1

    try:
        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - began
    finally:
        await connector.close()
    return FlowStats(flows, seconds, failures)


async def measure(flows: int, concurrency: int) -> tuple[FlowStats, FlowStats]:
    """Sequential and concurrent flows against a fresh in-process sandbox."""
    scenario = load_scenario_text(SCENARIO, source="<bench-flows>")
    customers = linkable_customers(scenario, 2 * flows)
    runner, url = await serve(scenario)
    try:
        await run_flows(url, customers[:5], 5, 1)  # warm-up: templates, imports, caches
        sequential = await run_flows(url, customers, flows, 1)
        concurrent = await run_flows(url, customers[flows:] + customers, flows * 2, concurrency)
    finally:
        await runner.cleanup()
    return sequential, concurrent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--flows", type=int, default=150)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    sequential, concurrent = asyncio.run(measure(args.flows, args.concurrency))
    for name, stats in (("sequential", sequential), (f"{args.concurrency} at once", concurrent)):
        print(
            f"{name:14} {stats.flows:5d} flows in {stats.seconds:6.2f} s = "
            f"{stats.per_second:6.1f} flows/s, failures {stats.failures}"
        )
    return 0 if sequential.failures == concurrent.failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
