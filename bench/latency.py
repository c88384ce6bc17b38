"""Data API latency at a fixed offered load (open loop): p50/p99 at 1,000 requests/s.

Usage: python bench/latency.py [--rate 1000] [--seconds 5]

The sandbox runs as ``python -m sandbox serve`` in its own process (JSON access log on, to
/dev/null), so the load generator does not share its event loop. A headless customer links
over HTTP for a token; then ``GET .../transactions`` (50 lines, as in bench/api.py) is sent
at fixed intervals whatever the server does (open loop: a slow answer does not delay the
next request), and each latency is measured from the request's *scheduled* time to the end
of its body, so queueing in the generator counts too (no coordinated omission).
Target: p99 <= 20 ms at 1,000 requests/s.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

import startup as startup_bench  # noqa: E402
from api import LINES, REF  # noqa: E402
from api import SCENARIO as API_SCENARIO  # noqa: E402

from sandbox.domain.refs import account_id  # noqa: E402
from sandbox.driver import CustomerData, CustomerDriver, Outcome  # noqa: E402
from sandbox.scenario.build import build_directory  # noqa: E402
from sandbox.scenario.loader import load_scenario_text  # noqa: E402

BANK = "2011"
CALLBACK = "http://127.0.0.1/cb"
# What bench/api.py's customer types into the screens, read from that scenario.
_BENCH = build_directory(load_scenario_text(API_SCENARIO)).get_customer("bench")
assert _BENCH is not None
BENCH_CUSTOMER = CustomerData.of(_BENCH)
BASIC = {"Authorization": "Basic " + base64.b64encode(b"bench:bench-secret").decode()}


@dataclass(frozen=True)
class LatencyStats:
    """Latencies of one open-loop run."""

    rate: float
    sent: int
    errors: int
    achieved_rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float


async def link_for_token(url: str) -> str:
    """Walk the screens as the bench customer and exchange the code: an access token."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(base_url=url, cookie_jar=jar) as session:
        outcome = await CustomerDriver(session, BANK).link(
            BENCH_CUSTOMER, client_id="bench", redirect_uri=CALLBACK, state="lat"
        )
        if not isinstance(outcome, Outcome) or outcome.code is None:
            raise RuntimeError(f"linkage failed: {outcome}")
        form = {"grant_type": "authorization_code", "code": outcome.code, "redirect_uri": CALLBACK}
        async with session.post(
            f"/parasol/v1/banks/{BANK}/oauth/token", data=form, headers=BASIC
        ) as response:
            if response.status != 200:
                raise RuntimeError(await response.text())
            return str((await response.json())["access_token"])


def transactions_path() -> str:
    query = f"date_from=2026-06-01&date_to=2026-11-25&limit={LINES}"
    return f"/parasol/v1/banks/{BANK}/accounts/{account_id(BANK, REF)}/transactions?{query}"


async def open_loop(url: str, headers: dict[str, str], rate: float, seconds: float) -> LatencyStats:
    """Send ``rate`` requests/s for ``seconds``; latency from each scheduled send time."""
    total = int(rate * seconds)
    interval = 1.0 / rate
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(base_url=url, connector=connector) as session:
        loop = asyncio.get_running_loop()

        async def one(scheduled: float) -> None:
            nonlocal errors
            try:
                async with session.get(transactions_path(), headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
            except aiohttp.ClientError:
                errors += 1
            latencies.append(loop.time() - scheduled)

        for _ in range(200):  # warm-up: connections, caches
            async with session.get(transactions_path(), headers=headers) as response:
                await response.read()
        tasks: list[asyncio.Task[None]] = []
        start = loop.time() + 0.01
        sent = 0
        while sent < total:
            now = loop.time()
            while sent < total and start + sent * interval <= now:
                tasks.append(asyncio.create_task(one(start + sent * interval)))
                sent += 1
            if sent < total:
                await asyncio.sleep(max(0.0, start + sent * interval - loop.time()))
        await asyncio.gather(*tasks)
        elapsed = loop.time() - start
    latencies.sort()
    return LatencyStats(
        rate=rate,
        sent=total,
        errors=errors,
        achieved_rps=total / elapsed,
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        max_ms=latencies[-1] * 1000,
    )


def measure(rate: float = 1000.0, seconds: float = 5.0) -> LatencyStats:
    """Start a sandbox process with the bench scenario, link, then run the open loop."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "latency.yaml"
        path.write_text(API_SCENARIO, encoding="utf-8")
        process, port, _ = startup_bench.start_server(path)
        try:
            url = f"http://127.0.0.1:{port}"

            async def run() -> LatencyStats:
                token = await link_for_token(url)
                return await open_loop(url, {"Authorization": f"Bearer {token}"}, rate, seconds)

            return asyncio.run(run())
        finally:
            startup_bench.stop(process)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    stats = measure(args.rate, args.seconds)
    print(
        f"offered {stats.rate:.0f} req/s for {args.seconds:g} s: sent {stats.sent}, "
        f"achieved {stats.achieved_rps:.0f} req/s, errors {stats.errors}, "
        f"p50 {stats.p50_ms:.2f} ms, p99 {stats.p99_ms:.2f} ms, max {stats.max_ms:.2f} ms"
    )
    return 0 if stats.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
