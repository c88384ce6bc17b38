"""The sandbox against bare aiohttp, both measured from outside, in one run.

Usage: python bench/outside.py [--seconds 5] [--flows 300]

The sandbox runs as a user starts it (``python -m sandbox serve``, memory store, JSON access
log on, to a file); bench/bare.py serves the very bytes the sandbox answered, with a dict
token lookup and orjson. Load comes from other processes: ``wrk -t1 -c32`` for
``/accounts``, ``/transactions`` (50 lines) and ``/term_deposits``, and headless customers
for complete linkage flows (sequential and 8 at once) from a separate Python process. For
each: requests/s, p50/p99, the server process's CPU per request (user+system from /proc)
and its RSS; then start-up to the first 200 for both (median of 5), an open-loop latency
curve of the sandbox at 25/50/80% of its measured ``/transactions`` capacity (bench/openloop.py,
a lean generator in a process of its own), and the ratios to the targets
of issue 13. Only 127.0.0.1 is used; every run is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from api import LINES, REF  # noqa: E402
from stores import SCENARIO, _cpu_seconds, _rss_mb, _token, wrk_output  # noqa: E402

from sandbox.domain.refs import account_id  # noqa: E402

BANK = "2011"
_RUNNING = re.compile(r"Running on (http://127\.0\.0\.1:\d+)")


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_us: float


class Process:
    """A server in its own process, started like a user starts it; ``url`` once it runs."""

    def __init__(self, command: list[str], env: dict[str, str] | None = None) -> None:
        self.started = time.perf_counter()
        self.log = tempfile.NamedTemporaryFile(prefix="bench-", suffix=".log", delete=False)  # noqa: SIM115
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env={**os.environ, **(env or {})},
        )
        assert self.process.stdout is not None
        self.url = ""
        for line in self.process.stdout:
            match = _RUNNING.search(line)
            if match:
                self.url = match[1]
                break
        if not self.url:
            raise RuntimeError(f"{command} did not start; see {self.log.name}")

    def first_200(self) -> float:
        """Seconds from the start of the process to its first 200 on /_sandbox/health."""
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/_sandbox/health", timeout=2) as r:
                    if r.status == 200:
                        return time.perf_counter() - self.started
            except OSError:
                time.sleep(0.002)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)
        self.log.close()


def sandbox_process(scenario: Path) -> Process:
    return Process(
        [sys.executable, "-m", "sandbox", "serve", "--port", "0", "--scenario", str(scenario)],
        {"SANDBOX_ACCESS_LOG": "1"},
    )


def bare_process(pages: Path | None) -> Process:
    command = [sys.executable, str(ROOT / "bare.py"), "--port", "0"]
    return Process(command + (["--pages", str(pages)] if pages else []))


def wrk(url: str, token: str, seconds: int, pid: int) -> Load:
    before = _cpu_seconds([pid])
    done = subprocess.CompletedProcess([], 0, wrk_output(url, token, seconds))
    used = _cpu_seconds([pid]) - before
    if "Non-2xx" in done.stdout:
        raise RuntimeError(f"failed requests on {url}:\n{done.stdout}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)[1])  # type: ignore[index]

    def percentile(label: str) -> float:
        match = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)\b", done.stdout)
        assert match is not None, done.stdout
        return float(match[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match[2]]

    total = rps * seconds
    return Load(rps, percentile("50"), percentile("99"), used / total * 1e6 if total else 0.0)


def flows(url: str, count: int, concurrency: int) -> float:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "outside.py"),
            "--flow-client",
            url,
            "--flows",
            str(count),
            "--concurrency",
            str(concurrency),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return float(json.loads(done.stdout)["per_second"])


async def _flow_client(url: str, count: int, concurrency: int) -> None:
    from flows import linkable_customers, run_flows

    from sandbox.scenario.loader import load_scenario_text

    customers = linkable_customers(load_scenario_text(SCENARIO, source="<bench>"), count)
    stats = await run_flows(url, customers, count, concurrency)
    print(json.dumps({"per_second": stats.per_second, "failures": stats.failures}))


async def fetch_pages(url: str, token: str, paths: list[str]) -> dict[str, object]:
    pages: dict[str, object] = {}
    async with aiohttp.ClientSession() as session:
        for path in paths:
            async with session.get(url + path, headers={"Authorization": f"Bearer {token}"}) as r:
                assert r.status == 200, await r.text()
                pages[path] = {"token": token, "body": await r.json()}
    return pages


def open_loop(url: str, token: str, rate: float, seconds: float = 3.0) -> OpenLoop:
    """p50/p99 at a fixed offered rate, from bench/openloop.py in a process of its own."""
    done = subprocess.run(
        [
            *(sys.executable, str(ROOT / "openloop.py"), url, "--rate", str(rate)),
            *("--seconds", str(seconds), "--header", f"Authorization: Bearer {token}"),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=True,
    )
    found = json.loads(done.stdout)
    return OpenLoop(found["p50_ms"], found["p99_ms"], found["errors"])


@dataclass
class OpenLoop:
    p50_ms: float
    p99_ms: float
    errors: int


def startup(make: Callable[[], Process], runs: int = 5) -> float:
    times: list[float] = []
    for _ in range(runs):
        server = make()
        times.append(server.first_200())
        server.stop()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--flows", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--flow-client", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.flow_client:
        asyncio.run(_flow_client(args.flow_client, args.flows, args.concurrency))
        return
    work = Path(tempfile.mkdtemp(prefix="sandbox-outside-"))
    scenario = work / "bench.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    base = f"/parasol/v1/banks/{BANK}"
    query = f"date_from=2026-06-01&date_to=2026-11-25&limit={LINES}"
    tx_path = f"{base}/accounts/{account_id(BANK, REF)}/transactions?{query}"
    paths = {
        "/accounts": f"{base}/accounts",
        "/transactions (50)": tx_path,
        "/term_deposits": f"{base}/term_deposits",
    }
    print("... start-up", file=sys.stderr, flush=True)
    start_sandbox = startup(lambda: sandbox_process(scenario))
    start_bare = startup(lambda: bare_process(None))

    sandbox = sandbox_process(scenario)
    rows: dict[str, tuple[Load, Load]] = {}
    try:
        token = asyncio.run(_token(sandbox.url))
        pages = asyncio.run(fetch_pages(sandbox.url, token, list(paths.values())))
        pages_file = work / "pages.json"
        pages_file.write_text(json.dumps(pages, ensure_ascii=False), encoding="utf-8")
        bare = bare_process(pages_file)
        try:
            for label, path in paths.items():
                print(f"... {label}", file=sys.stderr, flush=True)
                wrk(sandbox.url + path, token, 1, sandbox.process.pid)  # warm-up
                wrk(bare.url + path, token, 1, bare.process.pid)
                rows[label] = (
                    wrk(sandbox.url + path, token, args.seconds, sandbox.process.pid),
                    wrk(bare.url + path, token, args.seconds, bare.process.pid),
                )
            rss_bare = _rss_mb([bare.process.pid])
        finally:
            bare.stop()
        print("... flows", file=sys.stderr, flush=True)
        sequential = flows(sandbox.url, max(50, args.flows // 3), 1)
        concurrent = flows(sandbox.url, args.flows, args.concurrency)
        cpu_before = _cpu_seconds([sandbox.process.pid])
        measured = flows(sandbox.url, args.flows, args.concurrency)
        flow_cpu_ms = (_cpu_seconds([sandbox.process.pid]) - cpu_before) / args.flows * 1000
        rss_sandbox = _rss_mb([sandbox.process.pid])
        print("... open-loop latency", file=sys.stderr, flush=True)
        capacity = rows["/transactions (50)"][0].rps
        curve = [
            (share, capacity * share, open_loop(sandbox.url + tx_path, token, capacity * share))
            for share in (0.25, 0.5, 0.8)
        ]
    finally:
        sandbox.stop()

    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  {os.cpu_count()} CPUs, "
        f"Python {sys.version.split()[0]}; wrk -t1 -c32 -d{args.seconds}s; "
        "sandbox: `sandbox serve`, memory store, access log on"
    )
    print(
        f"{'endpoint':<20} {'sandbox req/s':>13} {'bare req/s':>11} {'ratio':>6} "
        f"{'p50/p99 ms':>12} {'µs/req':>7} {'bare µs':>8} {'CPU x':>6}"
    )
    for label, (mine, bare_load) in rows.items():
        print(
            f"{label:<20} {mine.rps:>13,.0f} {bare_load.rps:>11,.0f} "
            f"{mine.rps / bare_load.rps:>5.2f}x {mine.p50_ms:>5.2f}/{mine.p99_ms:<6.2f} "
            f"{mine.cpu_us:>7.0f} {bare_load.cpu_us:>8.0f} {mine.cpu_us / bare_load.cpu_us:>5.2f}x"
        )
    print(
        f"{'flows/s, 8 at once':<20} {concurrent:>13.1f}   (CPU {flow_cpu_ms:.2f} ms per flow, "
        f"{measured:.1f}/s in that run)"
    )
    print(f"{'flows/s, sequential':<20} {sequential:>13.1f}")
    print(
        f"{'start-up (median 5)':<20} {start_sandbox:>12.3f}s {start_bare:>10.3f}s "
        f"{start_sandbox / start_bare:>5.2f}x"
    )
    print(f"{'RSS MB':<20} {rss_sandbox:>13.0f} {rss_bare:>11.0f}")
    for share, rate, stats in curve:
        print(
            f"open loop {share:.0%} of capacity ({rate:,.0f} req/s): "
            f"p50 {stats.p50_ms:.2f} ms, p99 {stats.p99_ms:.2f} ms, errors {stats.errors}"
        )


if __name__ == "__main__":
    main()
