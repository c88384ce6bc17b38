"""Data API and linkage flows on each store, 1 and 2 workers, measured from outside.

Usage: python bench/stores.py [--seconds 5] [--flows 200] [--postgres URL]

For each configuration the sandbox runs as ``python -m sandbox serve`` in its own process
(access log on, as shipped), on the memory store, a SQLite file and PostgreSQL (the URL from
--postgres or SANDBOX_TEST_POSTGRES; skipped without one), with 1 worker and (SQL stores)
2 workers sharing the port. Load comes from other processes: ``wrk -t1 -c32`` on
``GET /accounts`` and ``GET .../transactions`` (50 lines), and complete linkage flows, 8 at
once, from a separate Python process. CPU per request is the server processes' user+system
time from /proc over the wrk run. Only 127.0.0.1 is used; every run is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from api import LINES, REF  # noqa: E402
from api import SCENARIO as API_SCENARIO  # noqa: E402
from flows import CLIENT_ID, REDIRECT_URI, linkable_customers, run_flows  # noqa: E402
from flows import SECRET as FLOW_SECRET  # noqa: E402
from latency import BASIC, BENCH_CUSTOMER, CALLBACK  # noqa: E402

from sandbox.domain.refs import account_id  # noqa: E402
from sandbox.driver import CustomerDriver, Outcome  # noqa: E402
from sandbox.scenario.loader import load_scenario_text  # noqa: E402

BANK = "2011"
SECRET = "bench-secret-key-bench-secret-key"
_RUNNING = re.compile(r"Running on (http://127\.0\.0\.1:\d+)")
_CLK = os.sysconf("SC_CLK_TCK")
# bench/api.py's customer (for the data API) plus generated customers (for the flows).
SCENARIO = (
    API_SCENARIO.replace(
        "clients:\n",
        f"clients:\n  - {{client_id: {CLIENT_ID}, client_secret: {FLOW_SECRET}, "
        f'redirect_uris: ["{REDIRECT_URI}"]}}\n',
    )
    + "generate: {count: 2000, seed: 1}\n"
)


@dataclass
class Figures:
    store: str
    workers: int
    accounts_rps: float
    accounts_cpu_us: float
    transactions_rps: float
    transactions_cpu_us: float
    p99_ms: float
    flows_per_s: float
    rss_mb: float


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _CLK


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            continue
    return total / 1024


def _tree(pid: int) -> list[int]:
    """``pid`` and its children (the workers)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(p) for p in children.read_text().split()] if children.exists() else []
    return [pid, *kids]


class Served:
    """``sandbox serve`` in its own process."""

    def __init__(self, store: str, workers: int, scenario: Path, port: int) -> None:
        env = {**os.environ, "SANDBOX_SECRET_KEY": SECRET, "SANDBOX_SCENARIO": str(scenario)}
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sandbox",
                "serve",
                "--port",
                str(port),
                "--store",
                store,
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        assert self.process.stdout is not None
        seen = 0
        self.url = ""
        deadline = time.monotonic() + 60
        while seen < workers and time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            match = _RUNNING.search(line)
            if match:
                seen += 1
                self.url = match[1]
        if seen < workers:
            self.log.seek(0)
            sys.stderr.write(self.log.read().decode(errors="replace")[-2000:])
            self.stop()
            raise RuntimeError(f"sandbox serve ({store}, {workers} workers) did not start")

    def pids(self) -> list[int]:
        return _tree(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


async def _token(url: str) -> str:
    async with aiohttp.ClientSession(base_url=url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        outcome = await CustomerDriver(s, BANK).link(
            BENCH_CUSTOMER, client_id="bench", redirect_uri=CALLBACK, state="s"
        )
        assert isinstance(outcome, Outcome), outcome
        assert outcome.code is not None, outcome
        form = {"grant_type": "authorization_code", "code": outcome.code, "redirect_uri": CALLBACK}
        async with s.post(f"/parasol/v1/banks/{BANK}/oauth/token", data=form, headers=BASIC) as r:
            body = await r.json()
            return str(body["access_token"])


def wrk_output(url: str, token: str, seconds: int) -> str:
    """What ``wrk -t1 -c32 --latency`` prints for ``seconds`` of GETs on ``url``."""
    header = f"Authorization: Bearer {token}"
    done = subprocess.run(
        ["wrk", "-t1", "-c32", f"-d{seconds}s", "--latency", "-H", header, url],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    )
    return done.stdout


@dataclass(frozen=True)
class WrkFigures:
    rps: float
    requests: int
    p50_ms: float
    p99_ms: float


def wrk_figures(out: str, url: str) -> WrkFigures:
    """What ``wrk --latency`` printed; RuntimeError if any request failed."""
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"failed requests on {url}:\n{out}")

    def percentile(label: str) -> float:
        match = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)\b", out)
        assert match is not None, out
        return float(match[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match[2]]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    total = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    return WrkFigures(rps, total, percentile("50"), percentile("99"))


def _wrk(url: str, token: str, seconds: int) -> tuple[float, float]:
    """Requests/s and p99 (ms) of ``wrk -t1 -c32`` on ``url``."""
    figures = wrk_figures(wrk_output(url, token, seconds), url)
    return figures.rps, figures.p99_ms


def _load(server: Served, url: str, token: str, seconds: int) -> tuple[float, float, float]:
    before = _cpu_seconds(server.pids())
    rps, p99 = _wrk(url, token, seconds)
    used = _cpu_seconds(server.pids()) - before
    return rps, used / (rps * seconds) * 1e6, p99


def _flows(url: str, flows: int) -> float:
    """Flows/s at 8 at once, driven from another Python process."""
    done = subprocess.run(
        [sys.executable, __file__, "--flow-client", url, "--flows", str(flows)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return float(json.loads(done.stdout)["per_second"])


async def _flow_client(url: str, flows: int) -> None:
    customers = linkable_customers(load_scenario_text(SCENARIO, source="<bench>"), flows)
    stats = await run_flows(url, customers, flows, 8)
    print(json.dumps({"per_second": stats.per_second, "failures": stats.failures}))


def _port() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def measure(
    store: str, label: str, workers: int, scenario: Path, args: argparse.Namespace
) -> Figures:
    # Workers join a port held with SO_REUSEPORT; one server takes a port the kernel picks.
    reserved = _port() if workers > 1 else None
    port = reserved.getsockname()[1] if reserved is not None else 0
    server = Served(store, workers, scenario, port)
    try:
        token = asyncio.run(_token(server.url))
        base = f"{server.url}/parasol/v1/banks/{BANK}"
        _wrk(f"{base}/accounts", token, 1)  # warm-up
        acc_rps, acc_cpu, _ = _load(server, f"{base}/accounts", token, args.seconds)
        query = f"date_from=2026-06-01&date_to=2026-11-25&limit={LINES}"
        tx_url = f"{base}/accounts/{account_id(BANK, REF)}/transactions?{query}"
        tx_rps, tx_cpu, p99 = _load(server, tx_url, token, args.seconds)
        flows = _flows(server.url, args.flows)
        rss = _rss_mb(server.pids())
    finally:
        server.stop()
        if reserved is not None:
            reserved.close()
    return Figures(label, workers, acc_rps, acc_cpu, tx_rps, tx_cpu, p99, flows, rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--flows", type=int, default=200)
    parser.add_argument("--postgres", default=os.environ.get("SANDBOX_TEST_POSTGRES"))
    parser.add_argument("--flow-client", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.flow_client:
        asyncio.run(_flow_client(args.flow_client, args.flows))
        return
    if shutil.which("wrk") is None:
        raise SystemExit("bench/stores.py needs wrk (apt-get install wrk)")
    work = Path(tempfile.mkdtemp(prefix="sandbox-bench-"))
    scenario = work / "bench.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    configs: list[tuple[str, str, int]] = [("memory", "memory", 1)]
    for workers in (1, 2):
        configs.append((f"sqlite:///{work}/store-{workers}.db", "SQLite", workers))
    if args.postgres:
        for workers in (1, 2):
            name = f"bench_{secrets.token_hex(4)}"
            url = _create_database(args.postgres, name)
            configs.append((url, "PostgreSQL", workers))
    rows = []
    for store, label, workers in configs:
        print(f"... {label}, {workers} worker(s)", file=sys.stderr, flush=True)
        rows.append(measure(store, label, workers, scenario, args))
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  {os.cpu_count()} CPUs, "
        f"Python {sys.version.split()[0]}; wrk -t1 -c32 -d{args.seconds}s, flows 8 at once"
    )
    print(
        f"{'store':<11} {'workers':>7} {'/accounts':>10} {'µs/req':>7} {'/transactions':>14} "
        f"{'µs/req':>7} {'p99 ms':>7} {'flows/s':>8} {'RSS MB':>7}"
    )
    for f in rows:
        print(
            f"{f.store:<11} {f.workers:>7} {f.accounts_rps:>10,.0f} {f.accounts_cpu_us:>7.0f} "
            f"{f.transactions_rps:>14,.0f} {f.transactions_cpu_us:>7.0f} {f.p99_ms:>7.1f} "
            f"{f.flows_per_s:>8.1f} {f.rss_mb:>7.0f}"
        )


def new_database(admin: str) -> str:
    """A new, empty PostgreSQL database on the server of ``admin`` (its URL)."""
    return _create_database(admin, f"bench_{secrets.token_hex(4)}")


def _create_database(admin: str, name: str) -> str:
    import asyncpg

    async def create() -> None:
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(create())
    url = admin.rsplit("/", 1)[0] + f"/{name}"
    subprocess.run(
        [sys.executable, "-m", "sandbox", "db", "upgrade", "--store", url],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return url


if __name__ == "__main__":
    main()
