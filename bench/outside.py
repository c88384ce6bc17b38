"""The sandbox against bare aiohttp and its peers, all measured from outside, in one run.

Usage: python bench/outside.py [--seconds 3] [--rounds 3] [--flows 300] [--quick]
                               [--postgres URL] [--requests 200000] [--linkages 50000]

Every server runs in a process of its own, started as a user starts it: the sandbox as
``python -m sandbox serve`` (memory store, JSON access log on, to a file, on the event loop
it ships with), bench/bare.py serving the very bytes the sandbox answered (a dict token
lookup, orjson) once on asyncio and once on uvloop, and, when bench/peers finds them,
WireMock and Prism serving the same bytes; and the sandbox a second time with
SANDBOX_BATCH_WRITES=0 (each response written at once), so that the rounds show what
batching the writes changes on this machine. Children write bytecode caches as a user's
Python does (PYTHONDONTWRITEBYTECODE is dropped for them) and each kind is started once,
unmeasured, before start-up is timed.

Load comes from other processes: ``wrk -t1 -c32`` on ``/accounts``, ``/transactions``
(50 lines) and ``/term_deposits``, in ``--rounds`` rounds that take the servers in turn, so
a drift of the machine's speed hits all alike (medians are printed, and the ratio is the
median of each round's ratio); refresh-token rotations for the token endpoint (8 chains);
headless customers for complete linkage flows (one at a time, and 8 at once); the
open-loop generator bench/openloop.py at 25/50/80% of the measured ``/transactions``
capacity (``--rounds`` runs of 5 s each; the median run's p99 is the figure, every run's is
printed), and on bare asyncio at the sandbox's 80% rate (what the generator and the machine
add at that rate). CPU per request is the server process's user+system
time from /proc. Then start-up to the first 200 (pairs taken in turn, median of 7), the SQL
stores (SQLite, and PostgreSQL with --postgres or SANDBOX_TEST_POSTGRES), and the long
run: ``--requests`` data-API requests, then ``--linkages`` linkages under a frozen clock,
with RSS after each part. ``--quick`` leaves out the peers, the SQL stores and the long
run. The last lines hold the targets of issue 13 against what was measured. Only 127.0.0.1
is used.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "peers"))

import peers  # noqa: E402
import stores  # noqa: E402
from api import LINES, REF  # noqa: E402
from stores import SCENARIO, _cpu_seconds, _rss_mb, _token, wrk_figures, wrk_output  # noqa: E402

from sandbox.domain.refs import account_id  # noqa: E402

BANK = "2011"
_OWN_HEADERS = {"Date", "Server", "Content-Length", "Connection", "Keep-Alive"}
_RUNNING = re.compile(r"Running on (http://127\.0\.0\.1:\d+)")
_BENCH_CLIENT = ("bench", "bench-secret")
START_SECONDS = 120  # from the start to "Running on" at most


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment as a user's shell has it: bytecode caches written."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **(extra or {})}


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_us: float


class Process:
    """A server in its own process, started like a user starts it; ``url`` once it runs
    (in ``cwd``, whose ``sandbox`` package ``-m sandbox`` then imports first)."""

    def __init__(
        self, command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> None:
        self.started = time.perf_counter()
        self.log = tempfile.NamedTemporaryFile(prefix="bench-", suffix=".log", delete=False)  # noqa: SIM115
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=self.log, text=True, env=child_env(env), cwd=cwd
        )
        assert self.process.stdout is not None
        # A server that never says where it runs is stopped (its stdout then ends).
        deadline = threading.Timer(START_SECONDS, self.process.kill)
        deadline.start()
        self.url = ""
        try:
            for line in self.process.stdout:
                match = _RUNNING.search(line)
                if match:
                    self.url = match[1]
                    break
        finally:
            deadline.cancel()
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

    def pids(self) -> list[int]:
        return [self.process.pid]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def sandbox_process(
    scenario: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> Process:
    return Process(
        [sys.executable, "-m", "sandbox", "serve", "--port", "0", "--scenario", str(scenario)],
        {"SANDBOX_ACCESS_LOG": "1", **(env or {})},
        cwd,
    )


def bare_process(pages: Path | None, loop: str = "asyncio") -> Process:
    command = [sys.executable, str(ROOT / "bare.py"), "--port", "0", "--loop", loop]
    return Process(command + (["--pages", str(pages)] if pages else []))


def wrk(url: str, token: str, seconds: int, pids: Sequence[int]) -> Load:
    before = _cpu_seconds(list(pids))
    out = wrk_output(url, token, seconds)
    used = _cpu_seconds(list(pids)) - before
    got = wrk_figures(out, url)
    cpu = used / got.requests * 1e6 if got.requests else 0.0
    return Load(got.rps, got.p50_ms, got.p99_ms, cpu)


@dataclass
class Row:
    """One endpoint: each server's median load and the sandbox's paired ratios."""

    loads: dict[str, Load]
    ratio: dict[str, float]  # server -> median over rounds of sandbox rps / its rps
    cpu_ratio: dict[str, float]  # server -> median over rounds of sandbox CPU / its CPU


UNBATCHED = "sandbox, writes each at once"


def rounds(
    servers: Mapping[str, tuple[str, Sequence[int]]],
    path: str,
    token: str,
    seconds: int,
    count: int,
    others: Mapping[str, tuple[str, str, Sequence[int]]] | None = None,
) -> Row:
    """``count`` rounds of ``seconds`` of wrk on each server in turn (after a warm-up);
    ``others`` (name -> full URL, token, pids) are servers with a token of their own."""
    targets = {name: (url + path, token, pids) for name, (url, pids) in servers.items()}
    targets.update(others or {})
    for url, key, pids in targets.values():
        wrk(url, key, 1, pids)
    runs: dict[str, list[Load]] = {name: [] for name in targets}
    for _ in range(count):
        for name, (url, key, pids) in targets.items():
            runs[name].append(wrk(url, key, seconds, pids))

    median = statistics.median
    loads = {
        name: Load(
            median([r.rps for r in got]),
            median([r.p50_ms for r in got]),
            median([r.p99_ms for r in got]),
            median([r.cpu_us for r in got]),
        )
        for name, got in runs.items()
    }
    mine = runs["sandbox"]
    ratio = {
        name: median([a.rps / b.rps for a, b in zip(mine, got, strict=True)])
        for name, got in runs.items()
        if name != "sandbox"
    }
    cpu_ratio = {
        name: median([a.cpu_us / b.cpu_us for a, b in zip(mine, got, strict=True)])
        for name, got in runs.items()
        if name != "sandbox"
    }
    return Row(loads, ratio, cpu_ratio)


# --- helpers run in a process of their own ---------------------------------------------


def _client(mode: str, url: str, *args: str, timeout: float = 900) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "outside.py"), mode, url, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
        env=child_env(),
    )
    return dict(json.loads(done.stdout))


def flows(url: str, count: int, concurrency: int) -> float:
    found = _client("--flow-client", url, "--flows", str(count), "--concurrency", str(concurrency))
    if found["failures"]:
        raise RuntimeError(f"{found['failures']} flows failed")
    return found["per_second"]


async def _flow_client(url: str, count: int, concurrency: int) -> None:
    from flows import linkable_customers, run_flows

    from sandbox.scenario.loader import load_scenario_text

    customers = linkable_customers(load_scenario_text(SCENARIO, source="<bench>"), count)
    stats = await run_flows(url, customers, count, concurrency)
    print(json.dumps({"per_second": stats.per_second, "failures": stats.failures}))


async def _token_client(url: str, seconds: float, chains: int) -> None:
    """Refresh-token rotation, ``chains`` at once: each chain redeems its newest refresh
    token again and again (a linkage made with POST /_sandbox/links gives the first)."""
    basic = base64.b64encode(":".join(_BENCH_CLIENT).encode()).decode()
    headers = {"Authorization": f"Basic {basic}"}
    endpoint = f"/parasol/v1/banks/{BANK}/oauth/token"
    latencies: list[float] = []
    failures = 0
    async with aiohttp.ClientSession(base_url=url) as session:

        async def chain() -> None:
            nonlocal failures
            body = {"client_id": _BENCH_CLIENT[0], "customer": "bench", "tokens": True}
            async with session.post("/_sandbox/links", json=body) as response:
                refresh = (await response.json())["refresh_token"]
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                form = {"grant_type": "refresh_token", "refresh_token": refresh}
                async with session.post(endpoint, data=form, headers=headers) as response:
                    answer = await response.json()
                if response.status != 200:
                    failures += 1
                    return
                refresh = answer["refresh_token"]
                latencies.append(time.perf_counter() - began)

        began = time.perf_counter()
        await asyncio.gather(*(chain() for _ in range(chains)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    print(
        json.dumps(
            {
                "requests": len(latencies),
                "per_second": len(latencies) / elapsed,
                "p50_ms": latencies[len(latencies) // 2] * 1000,
                "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
                "failures": failures,
            }
        )
    )


def token_endpoint(server: Process, seconds: int) -> Load:
    before = _cpu_seconds(server.pids())
    found = _client("--token-client", server.url, "--seconds", str(seconds))
    used = _cpu_seconds(server.pids()) - before
    if found["failures"]:
        raise RuntimeError("a refresh failed")
    cpu = used / found["requests"] * 1e6
    return Load(found["per_second"], found["p50_ms"], found["p99_ms"], cpu)


@dataclass
class OpenLoop:
    p50_ms: float
    p99_ms: float
    errors: int


def open_loop(url: str, token: str, rate: float, seconds: float = 5.0) -> OpenLoop:
    """p50/p99 at a fixed offered rate, from bench/openloop.py in a process of its own."""
    done = subprocess.run(
        [
            *(sys.executable, str(ROOT / "openloop.py"), url, "--rate", str(rate)),
            *("--seconds", str(seconds), "--header", f"Authorization: Bearer {token}"),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 120,
    )
    if done.returncode:
        raise RuntimeError(f"bench/openloop.py at {rate:,.0f} req/s failed: {done.stderr[-2000:]}")
    found = json.loads(done.stdout)
    return OpenLoop(found["p50_ms"], found["p99_ms"], found["errors"])


async def fetch_pages(url: str, token: str, paths: list[str]) -> dict[str, object]:
    pages: dict[str, object] = {}
    async with aiohttp.ClientSession() as session:
        for path in paths:
            async with session.get(url + path, headers={"Authorization": f"Bearer {token}"}) as r:
                assert r.status == 200, await r.text()
                # The sandbox's own headers too (security headers, caching), so a baseline
                # sends the same bytes; its server adds Date, Server and Content-Length.
                headers = {k: v for k, v in r.headers.items() if k not in _OWN_HEADERS}
                pages[path] = {"token": token, "body": await r.json(), "headers": headers}
    return pages


def startup(makers: dict[str, Callable[[], Process]], pairs: int = 7) -> dict[str, float]:
    """Median seconds to the first 200 of each kind, started in turn; each kind is started
    once first, unmeasured (bytecode caches, the page cache)."""
    for make in makers.values():
        make().stop()
    times: dict[str, list[float]] = {name: [] for name in makers}
    for n in range(pairs):
        kinds = list(makers.items())
        for name, make in kinds if n % 2 == 0 else reversed(kinds):  # neither always first
            server = make()
            times[name].append(server.first_200())
            server.stop()
    medians = {name: statistics.median(got) for name, got in times.items()}
    first, second = list(times)
    medians["ratio"] = statistics.median(
        a / b for a, b in zip(times[first], times[second], strict=True)
    )
    return medians


def long_run(
    scenario: Path, requests: int, linkages: int, step: int | None = None
) -> list[tuple[str, float]]:
    """RSS (MB) at the start, after ``requests`` GET /accounts (10-second wrk rounds), then
    after every ``step`` (default: a fifth) of ``linkages`` complete linkages (8 at once)
    under the scenario's frozen clock."""
    server = sandbox_process(scenario)
    pid = server.process.pid
    marks: list[tuple[str, float]] = []
    try:
        token = asyncio.run(_token(server.url))
        url = f"{server.url}/parasol/v1/banks/{BANK}/accounts"
        marks.append(("start", _rss_mb([pid])))
        sent = 0
        while sent < requests:
            out = wrk_output(url, token, 10)
            sent += int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
        marks.append((f"after {sent:,} requests", _rss_mb([pid])))
        step = step or max(1, linkages // 5)
        done = 0
        while done < linkages:
            count = min(step, linkages - done)
            flows(server.url, count, 8)
            done += count
            marks.append((f"after {done:,} linkages", _rss_mb([pid])))
    finally:
        server.stop()
    return marks


def note(text: str) -> None:
    print(f"... {text}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=3, help="of each wrk round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--flows", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="no peers, SQL stores, long run")
    parser.add_argument("--postgres", default=os.environ.get("SANDBOX_TEST_POSTGRES"))
    parser.add_argument("--requests", type=int, default=200_000, help="long run")
    parser.add_argument("--linkages", type=int, default=50_000, help="long run")
    parser.add_argument("--peer-warmup", type=int, default=30, help="seconds (JIT)")
    parser.add_argument("--flow-client", help=argparse.SUPPRESS)
    parser.add_argument("--token-client", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.flow_client:
        asyncio.run(_flow_client(args.flow_client, args.flows, args.concurrency))
        return
    if args.token_client:
        asyncio.run(_token_client(args.token_client, args.seconds, 8))
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
    note("start-up")
    started = startup(
        {"sandbox": lambda: sandbox_process(scenario), "bare": lambda: bare_process(None)}
    )

    sandbox = sandbox_process(scenario)
    rows: dict[str, Row] = {}
    peer_rows: dict[str, dict[str, Load]] = {}
    missing: list[str] = []
    try:
        token = asyncio.run(_token(sandbox.url))
        pages = asyncio.run(fetch_pages(sandbox.url, token, list(paths.values())))
        pages_file = work / "pages.json"
        pages_file.write_text(json.dumps(pages, ensure_ascii=False), encoding="utf-8")
        bares = {loop: bare_process(pages_file, loop) for loop in ("asyncio", "uvloop")}
        servers = {
            "sandbox": (sandbox.url, sandbox.pids()),
            **{f"bare {loop}": (b.url, b.pids()) for loop, b in bares.items()},
        }
        unbatched: Process | None = None
        try:
            # The sandbox once more, each response written at once: what batching the writes
            # of one loop iteration (sandbox.web.batched_writes) changes, measured in turn.
            unbatched = sandbox_process(scenario, {"SANDBOX_BATCH_WRITES": "0"})
            unbatched_token = asyncio.run(_token(unbatched.url))
            for label, path in paths.items():
                note(label)
                rows[label] = rounds(
                    servers,
                    path,
                    token,
                    args.seconds,
                    args.rounds,
                    {UNBATCHED: (unbatched.url + path, unbatched_token, unbatched.pids())},
                )
            rss_bare = _rss_mb(bares["asyncio"].pids())
            # The same generator on bare aiohttp at the sandbox's 80% rate: what the
            # generator and the machine add at that rate. (At 80% of bare's own capacity,
            # 18,000-25,000 req/s, a Python generator on the other core is what saturates.)
            note("open-loop latency, bare asyncio")
            bare_rate = rows["/transactions (50)"].loads["sandbox"].rps * 0.8
            bare_url = bares["asyncio"].url + tx_path
            try:
                bare_curve = [open_loop(bare_url, token, bare_rate) for _ in range(args.rounds)]
            except RuntimeError as exc:  # a reference: its failure does not end the run
                print(exc, file=sys.stderr)
                bare_curve = []
        finally:
            for b in bares.values():
                b.stop()
            if unbatched is not None:
                unbatched.stop()
        note("token endpoint")
        token_load = token_endpoint(sandbox, args.seconds * args.rounds)
        note("flows")
        sequential = flows(sandbox.url, max(50, args.flows // 3), 1)
        concurrent, flow_cpu = [], []
        for _ in range(args.rounds):
            cpu_before = _cpu_seconds(sandbox.pids())
            concurrent.append(flows(sandbox.url, args.flows, args.concurrency))
            flow_cpu.append((_cpu_seconds(sandbox.pids()) - cpu_before) / args.flows * 1000)
        rss_sandbox = _rss_mb(sandbox.pids())
        note("open-loop latency")
        capacity = rows["/transactions (50)"].loads["sandbox"].rps
        # Each point ``--rounds`` times: a stall of the machine lands in one run's p99.
        curve = [
            (
                share,
                capacity * share,
                [
                    open_loop(sandbox.url + tx_path, token, capacity * share)
                    for _ in range(args.rounds)
                ],
            )
            for share in (0.25, 0.5, 0.8)
        ]
    finally:
        sandbox.stop()

    if not args.quick:
        for make in (peers.wiremock, peers.prism):
            name = make.__name__
            peer = make(pages, work)  # type: ignore[arg-type]
            if peer is None:
                missing.append(name)
                continue
            note(f"{peer.name} (warm-up {args.peer_warmup} s)")
            try:
                wrk(peer.url + paths["/accounts"], token, args.peer_warmup, peer.pids())
                peer_rows[peer.name] = {
                    label: wrk(peer.url + path, token, args.seconds * 2, peer.pids())
                    for label, path in list(paths.items())[:2]
                }
            finally:
                peer.stop()
    sql: list[stores.Figures] = []
    if not args.quick:
        configs = [(f"sqlite:///{work}/bench.db", "SQLite")]
        if args.postgres:
            configs.append((stores.new_database(args.postgres), "PostgreSQL"))
        for store, label in configs:
            note(f"{label} store")
            sql.append(stores.measure(store, label, 1, scenario, args))
    marks: list[tuple[str, float]] = []
    if not args.quick:
        note(f"long run: {args.requests:,} requests, then {args.linkages:,} linkages")
        marks = long_run(scenario, args.requests, args.linkages)

    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} · {os.cpu_count()} CPUs · "
        f"Python {sys.version.split()[0]} · wrk -t1 -c32, {args.rounds} rounds of "
        f"{args.seconds} s taken in turn (medians) · sandbox: `sandbox serve` (uvloop, memory "
        "store, JSON access log on)"
    )
    print(
        f"{'':<19} {'sandbox':>8} {'µs/req':>7} {'p50/p99 ms':>12} │ {'bare asyncio':>12} "
        f"{'µs/req':>6} {'ratio':>6} {'CPU×':>5} │ {'bare uvloop':>11} {'µs/req':>6} "
        f"{'ratio':>6} {'CPU×':>5}"
    )
    for label, row in rows.items():
        mine, ba, bu = (row.loads[k] for k in ("sandbox", "bare asyncio", "bare uvloop"))
        print(
            f"{label:<19} {mine.rps:>8,.0f} {mine.cpu_us:>7.0f} "
            f"{mine.p50_ms:>5.2f}/{mine.p99_ms:<6.2f} │ {ba.rps:>12,.0f} {ba.cpu_us:>6.0f} "
            f"{row.ratio['bare asyncio']:>5.2f}x {row.cpu_ratio['bare asyncio']:>4.2f}x │ "
            f"{bu.rps:>11,.0f} {bu.cpu_us:>6.0f} {row.ratio['bare uvloop']:>5.2f}x "
            f"{row.cpu_ratio['bare uvloop']:>4.2f}x"
        )
    for label, row in rows.items():
        other = row.loads[UNBATCHED]
        print(
            f"{label:<19} writes each at once (SANDBOX_BATCH_WRITES=0): {other.rps:,.0f} req/s, "
            f"{other.cpu_us:.0f} µs; batched: {row.ratio[UNBATCHED]:.2f}x its req/s, "
            f"{row.cpu_ratio[UNBATCHED]:.2f}x its CPU"
        )
    print(
        f"{'token (refresh)':<19} {token_load.rps:>8,.0f} {token_load.cpu_us:>7.0f} "
        f"{token_load.p50_ms:>5.2f}/{token_load.p99_ms:<6.2f} │ 8 refresh-token chains, "
        "each redeeming its newest token"
    )
    for name, loads in peer_rows.items():
        for label, load in loads.items():
            ratio = rows[label].loads["sandbox"].rps / load.rps
            print(
                f"{name + ' ' + label.split(' ')[0]:<19} {load.rps:>8,.0f} {load.cpu_us:>7.0f} "
                f"{load.p50_ms:>5.2f}/{load.p99_ms:<6.2f} │ sandbox/{name}: {ratio:.2f}x "
                f"req/s, {rows[label].loads['sandbox'].cpu_us / load.cpu_us:.2f}x CPU"
            )
    for name in missing:
        print(f"{name}: not found (npm ci --prefix bench/peers), not measured")
    print(
        f"flows, 8 at once: {statistics.median(concurrent):.1f}/s, "
        f"{statistics.median(flow_cpu):.2f} ms CPU per flow (16 requests); "
        f"one at a time: {sequential:.1f}/s"
    )
    print(
        f"start-up to the first 200 (median of 7, in turn): sandbox {started['sandbox']:.3f} s, "
        f"bare {started['bare']:.3f} s: {started['ratio']:.2f}x"
    )
    print(f"RSS after the load: sandbox {rss_sandbox:.0f} MB, bare {rss_bare:.0f} MB")
    for share, rate, runs in curve:
        print(
            f"open loop at {share:.0%} of capacity ({rate:,.0f} req/s on /transactions), "
            + _summary(runs)
        )
    if not bare_curve:
        print("bare asyncio, open loop at the sandbox's 80% rate: failed (its error is above)")
    else:
        print(
            f"bare asyncio, open loop at the sandbox's 80% rate ({bare_rate:,.0f} req/s), "
            + _summary(bare_curve)
        )
    for f in sql:
        print(
            f"{f.store} store, 1 worker: /accounts {f.accounts_rps:,.0f} req/s "
            f"({f.accounts_cpu_us:.0f} µs), /transactions {f.transactions_rps:,.0f} req/s "
            f"({f.transactions_cpu_us:.0f} µs), flows {f.flows_per_s:.0f}/s, RSS {f.rss_mb:.0f} MB"
        )
    if marks:
        print("long run, RSS: " + "; ".join(f"{label} {mb:.1f} MB" for label, mb in marks))
    _targets(
        rows,
        statistics.median(concurrent),
        statistics.median(flow_cpu),
        started,
        curve,
        bare_curve,
    )
    _targets_memory(marks)


def _summary(runs: Sequence[OpenLoop]) -> str:
    """The open-loop runs of one rate: their median p50, median p99, each p99, errors."""
    p99s = sorted(run.p99_ms for run in runs)
    return (
        f"{len(runs)} runs of 5 s: p50 {statistics.median(r.p50_ms for r in runs):.2f} ms, "
        f"p99 median {statistics.median(p99s):.2f} ms (runs: "
        f"{', '.join(f'{p:.1f}' for p in p99s)}), errors {sum(r.errors for r in runs)}"
    )


def _targets(
    rows: dict[str, Row],
    flows_per_s: float,
    flow_cpu_ms: float,
    started: dict[str, float],
    curve: list[tuple[float, float, list[OpenLoop]]],
    bare_curve: list[OpenLoop],
) -> None:
    def line(ok: bool, text: str) -> None:
        print(f"  {'met ' if ok else 'MISS'}  {text}")

    print("targets (issue 13), against bare aiohttp on asyncio:")
    for label in ("/accounts", "/transactions (50)"):
        row = rows[label]
        ratio, cpu = row.ratio["bare asyncio"], row.cpu_ratio["bare asyncio"]
        line(ratio >= 0.5, f"{label}: {ratio:.2f}x of its req/s (>= 0.5x)")
        line(cpu <= 2.0, f"{label}: {cpu:.2f}x its CPU per request (<= 2x)")
    line(flows_per_s >= 300, f"flows, 8 at once: {flows_per_s:.0f}/s (>= 300)")
    line(flow_cpu_ms <= 2.6, f"CPU per flow: {flow_cpu_ms:.2f} ms (<= 2.6, half of 5.2)")
    line(started["ratio"] <= 1.5, f"start-up: {started['ratio']:.2f}x bare's (<= 1.5x)")
    p99 = statistics.median(run.p99_ms for run in curve[-1][2])
    bare = statistics.median([run.p99_ms for run in bare_curve] or [float("nan")])
    line(
        p99 <= 10,
        f"p99 at 80% of capacity: {p99:.1f} ms, the median run (<= 10; bare asyncio at that "
        f"rate: {bare:.1f} ms)",
    )


def _targets_memory(marks: list[tuple[str, float]]) -> None:
    linked = [(label, mb) for label, mb in marks if "linkages" in label]
    if len(linked) < 2:
        return
    (mid_label, mid), (end_label, end) = linked[len(linked) // 2 - 1], linked[-1]
    growth = (end / mid - 1) * 100
    print(
        f"  {'met ' if growth <= 10 else 'MISS'}  RSS {mid_label.removeprefix('after ')} → "
        f"{end_label.removeprefix('after ')}: {growth:+.1f}% (within 10%); from the start "
        f"{marks[0][1]:.0f} MB to {end:.0f} MB"
    )


if __name__ == "__main__":
    main()
