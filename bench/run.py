"""Every performance figure of the README in one command: ``python bench/run.py``.

1. start-up: median time to the first 200 from /_sandbox/health (bench/startup.py);
2. data API requests/s on ``/transactions`` (50 lines) and its ratio to a static aiohttp JSON
   handler, both in this process (bench/api.py);
3. complete linkage flows per second in-process, sequential and 8 at once (bench/flows.py);
4. data API p50/p99 latency at a fixed offered load of 1,000 requests/s for 5 s, open loop,
   server in its own process (bench/latency.py);
5. start-up time and RSS with 100,000 generated customers (bench/startup.py).

Only 127.0.0.1 is used; every part is bounded in requests and seconds (about a minute in
all on 2 cores). Prints a table with the targets and ``ok`` / ``SLOW`` (``OVER`` for memory).
Exit status 0 when every target is met.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

import api as api_bench  # noqa: E402
import flows as flows_bench  # noqa: E402
import latency as latency_bench  # noqa: E402
import startup as startup_bench  # noqa: E402
from aiohttp import web  # noqa: E402

from sandbox.domain.refs import account_id  # noqa: E402


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    metric: str
    figure: str
    target: str
    ok: bool | None
    over: str = "SLOW"

    def render(self) -> str:
        verdict = "" if self.ok is None else ("ok" if self.ok else self.over)
        return f"{self.metric:<52} {self.figure:>16} {self.target:>12}  {verdict}"


async def api_throughput(requests: int, concurrency: int, seconds: float) -> dict[str, float]:
    """Requests/s of the sandbox's /transactions and of a static aiohttp JSON handler."""
    app = api_bench.bench_app()
    runner, port = await api_bench.start(app)
    token = await api_bench.issue_token(await api_bench.bench_tenant(app))
    headers = {"Authorization": f"Bearer {token}"}
    path = f"/parasol/v1/banks/2011/accounts/{account_id('2011', api_bench.REF)}/transactions"
    url = f"http://127.0.0.1:{port}{path}?date_from=2026-06-01&date_to=2026-11-25&limit=50"
    page: dict[str, Any] = {}
    static_runner: web.AppRunner | None = None
    try:
        import aiohttp

        async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as r:
            assert r.status == 200, await r.text()
            page = await r.json()
        assert page["count"] == api_bench.LINES

        async def static(request: web.Request) -> web.Response:
            return web.json_response(page)

        baseline = web.Application()
        baseline.router.add_get("/static", static)
        static_runner, static_port = await api_bench.start(baseline)
        ours = await api_bench.drive(url, headers, requests, concurrency, seconds)
        bare = await api_bench.drive(
            f"http://127.0.0.1:{static_port}/static", {}, requests, concurrency, seconds
        )
    finally:
        await runner.cleanup()
        if static_runner is not None:
            await static_runner.cleanup()
    return {
        "rps": ours["rps"],
        "static_rps": bare["rps"],
        "errors": ours["errors"],
        "ratio": ours["rps"] / bare["rps"],
    }


def timed(label: str, fn: Callable[[], Any]) -> Any:
    """Run one part, saying on stderr what runs and how long it took."""
    print(f"... {label}", file=sys.stderr, flush=True)
    began = time.perf_counter()
    result = fn()
    print(f"    {time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7, help="start-up runs (median)")
    parser.add_argument("--count", type=int, default=100_000, help="generated customers")
    parser.add_argument("--lookups", type=int, default=200, help="accounts looked up at 100k")
    parser.add_argument("--requests", type=int, default=10000, help="data API requests per side")
    parser.add_argument("--flows", type=int, default=150, help="sequential flows (x2 at once)")
    parser.add_argument("--rate", type=float, default=1000.0, help="offered load, requests/s")
    parser.add_argument("--seconds", type=float, default=5.0, help="open-loop duration")
    args = parser.parse_args(argv)
    began = time.perf_counter()

    starts = timed("start-up", lambda: startup_bench.bench_default(args.runs))
    api = timed("data API throughput", lambda: asyncio.run(api_throughput(args.requests, 32, 10)))
    sequential, concurrent = timed(
        "linkage flows", lambda: asyncio.run(flows_bench.measure(args.flows, 8))
    )
    latency = timed("open-loop latency", lambda: latency_bench.measure(args.rate, args.seconds))
    big = timed(
        f"{args.count:,} customers",
        lambda: startup_bench.bench_population(args.count, args.lookups),
    )

    median = statistics.median(starts)
    rss_start, rss_after = big["rss_start"], big["rss_after"]
    rss = max(v for v in (rss_start, rss_after) if v is not None) if rss_after else None
    rows = [
        Row(
            f"start to first 200 (median of {args.runs})",
            f"{median:.3f} s",
            "<= 0.4 s",
            median <= 0.4,
        ),
        Row(
            "/transactions (50 lines) requests/s, 32 at once",
            f"{api['rps']:,.0f} req/s",
            "",
            api["errors"] == 0,
            over="ERRORS",
        ),
        Row(
            "  ratio to a static aiohttp JSON handler",
            f"{api['ratio']:.2f}x",
            ">= 0.5x",
            api["ratio"] >= 0.5,
        ),
        Row(
            "linkage flows/s in-process, 8 at once (1 core)",
            f"{concurrent.per_second:.1f} /s",
            ">= 100 /s",
            concurrent.per_second >= 100 and concurrent.failures == 0,
        ),
        Row("  sequential (one customer at a time)", f"{sequential.per_second:.1f} /s", "", None),
        Row(
            f"data API p50 at {args.rate:,.0f} req/s offered, open loop",
            f"{latency.p50_ms:.2f} ms",
            "",
            None,
        ),
        Row(
            f"data API p99 at {args.rate:,.0f} req/s offered ({latency.sent:,} req)",
            f"{latency.p99_ms:.2f} ms",
            "<= 20 ms",
            latency.p99_ms <= 20 and latency.errors == 0,
        ),
        Row(
            f"start with {args.count:,} generated customers",
            f"{big['start']:.3f} s",
            "<= 1 s",
            big["start"] <= 1.0,
        ),
        Row(
            f"RSS with {args.count:,} customers ({big['lookups']} lookups)",
            "n/a" if rss is None else f"{rss:.1f} MB",
            "<= 150 MB",
            None if rss is None else rss <= 150,
            over="OVER",
        ),
    ]
    cpus = os.cpu_count()
    print(
        f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}  {platform.machine()}, {cpus} CPUs, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )
    print(f"{'metric':<52} {'figure':>16} {'target':>12}")
    for row in rows:
        print(row.render())
    print(f"total {time.perf_counter() - began:.0f} s")
    return 0 if all(row.ok is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
