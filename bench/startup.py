"""Start-up benchmark: time to the first healthy answer, and the cost of 100,000 customers.

Usage: python bench/startup.py [--runs 7] [--count 100000] [--lookups 1000]

1. Starts ``python -m sandbox serve`` (default scenario) ``--runs`` times and reports the
   median time from process start to the first 200 from /_sandbox/health (polled every 5 ms).
2. Starts it with a scenario of ``generate: {count: 100000, seed: 1}`` and reports the
   start time and the server's RSS (VmRSS) after start-up and after ``--lookups`` random
   generated accounts went through screens ① and ② (the account lookup).
3. Times setting up ``GeneratedPopulation(--count, ...)`` in this process, median of
   ``--runs``: customers are computed on demand, so this must not grow with the count.
Targets: start <= 0.4 s; 100k customers loaded <= 1 s and <= 150 MB RSS; set-up <= 500 ms.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sandbox.scenario.build import build_population  # noqa: E402
from sandbox.scenario.generate import GeneratedPopulation  # noqa: E402
from sandbox.scenario.loader import load_scenario  # noqa: E402

POLL_SECONDS = 0.005
START_TIMEOUT = 30.0
BANK = "2011"
CLIENT_ID = "bench-app"
REDIRECT_URI = "http://127.0.0.1:9/callback"
CSRF = re.compile(r'name="csrf_token"\s+value="([^"]+)"')
SCENARIO = f"""\
name: bench-100k
description: 100,000 generated customers for the start-up benchmark.
service_hours:
  seed_calendar: false
  daily_midnight_seconds: 0
  daily_4am_seconds: 0
clients:
  - client_id: {CLIENT_ID}
    client_secret: bench-secret-123
    redirect_uris: ["{REDIRECT_URI}"]
generate:
  count: {{count}}
  seed: 1
"""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(scenario: Path | None) -> tuple[subprocess.Popen[bytes], int, float]:
    """Start the server; return it, its port and the seconds until /_sandbox/health said 200."""
    port = free_port()
    command = [sys.executable, "-m", "sandbox", "serve", "--port", str(port)]
    if scenario is not None:
        command += ["--scenario", str(scenario)]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}/_sandbox/health"
    while time.perf_counter() - started < START_TIMEOUT:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {' '.join(command)}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return process, port, time.perf_counter() - started
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(POLL_SECONDS)
    stop(process)
    raise RuntimeError("server did not become healthy in time")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate the server we started."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def rss_mb(pid: int) -> float | None:
    """Resident memory of ``pid`` in MB (Linux /proc only)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _csrf(html: str) -> str:
    match = CSRF.search(html)
    if match is None:
        raise RuntimeError("no csrf_token on the page")
    return match.group(1)


def look_up(port: int, branch: str, kind: str, number: str, identity: dict[str, str]) -> bool:
    """Go through screens ① and ② for one account; True if screen ③ (phone) was reached."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    base = f"http://127.0.0.1:{port}/parasol/v1/banks/{BANK}"
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "state": "bench",
            "scope": "accounts",
        }
    )
    with opener.open(f"{base}/oauth/auth?{query}", timeout=10) as page:
        account_url, html = page.geturl(), page.read().decode()
    form = {"branch_code": branch, "account_type": kind, "account_number": number}
    form["csrf_token"] = _csrf(html)
    with opener.open(account_url, urllib.parse.urlencode(form).encode(), timeout=10) as page:
        identity_url, html = page.geturl(), page.read().decode()
    form = {**identity, "csrf_token": _csrf(html)}
    with opener.open(identity_url, urllib.parse.urlencode(form).encode(), timeout=10) as page:
        final: str = page.geturl()
    return final.endswith("/phone")


def identity_form(customer: object) -> dict[str, str]:
    """Screen ② values for a generated customer."""
    from sandbox.domain.bank import Customer

    assert isinstance(customer, Customer)
    return {
        "name_kana": customer.name_kana,
        "birth_year": str(customer.birth_date.year),
        "birth_month": f"{customer.birth_date.month:02d}",
        "birth_day": f"{customer.birth_date.day:02d}",
        "phone": customer.phone,
        "email": customer.email,
        "email_confirm": customer.email,
    }


def bench_default(runs: int) -> list[float]:
    """Start-up times of the default scenario."""
    times = []
    for _ in range(runs):
        process, _, seconds = start_server(None)
        stop(process)
        times.append(seconds)
    return times


def bench_population(count: int, lookups: int) -> dict[str, float | int | None]:
    """Start with ``count`` generated customers, then look up ``lookups`` random accounts."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.yaml"
        path.write_text(SCENARIO.format(count=count), encoding="utf-8")
        population = build_population(load_scenario(path))
        assert population is not None
        process, port, seconds = start_server(path)
        try:
            rss_start = rss_mb(process.pid)
            picks = random.Random(42).sample(range(count), min(lookups, count))
            reached = 0
            lookup_started = time.perf_counter()
            for index in picks:
                customer = population.customer(index)
                branch, kind, number = customer.accounts[0].key
                reached += look_up(port, branch, kind.value, number, identity_form(customer))
            lookup_seconds = time.perf_counter() - lookup_started
            rss_after = rss_mb(process.pid)
        finally:
            stop(process)
    return {
        "start": seconds,
        "rss_start": rss_start,
        "rss_after": rss_after,
        "lookups": len(picks),
        "found": reached,
        "lookup_seconds": lookup_seconds,
    }


def bench_generate(count: int, runs: int) -> list[float]:
    """Seconds to set up ``count`` generated customers in-process (none is built yet)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        population = GeneratedPopulation(count, 1, ["001", "002", "003"])
        times.append(time.perf_counter() - started)
        assert len(population) == count
    return times


def _row(name: str, value: str, target: str, ok: bool | None) -> str:
    verdict = "" if ok is None else ("ok" if ok else "SLOW" if "s" in target else "OVER")
    return f"{name:<34} {value:>12} {target:>10}  {verdict}"


def _mb(value: float | int | None) -> str:
    return "n/a" if value is None else f"{value:.1f} MB"


def main(argv: list[str] | None = None) -> int:
    """Run both benchmarks and print a compact table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=1_000)
    args = parser.parse_args(argv)

    times = bench_default(args.runs)
    median = statistics.median(times)
    big = bench_population(args.count, args.lookups)
    setup = statistics.median(bench_generate(args.count, args.runs))
    start, rss_start, rss_after = big["start"], big["rss_start"], big["rss_after"]
    assert isinstance(start, float)
    print(f"{'metric':<34} {'value':>12} {'target':>10}")
    print(
        _row(
            f"start, default (median of {args.runs})", f"{median:.3f} s", "<= 0.4 s", median <= 0.4
        )
    )
    print(_row("  min / max", f"{min(times):.3f}/{max(times):.3f}", "", None))
    print(_row(f"start, {args.count:,} customers", f"{start:.3f} s", "<= 1 s", start <= 1.0))
    print(_row("  RSS after start", _mb(rss_start), "<= 150 MB", _ok_mb(rss_start)))
    print(
        _row(
            f"  RSS after {big['lookups']:,} lookups",
            _mb(rss_after),
            "<= 150 MB",
            _ok_mb(rss_after),
        )
    )
    print(
        _row(
            "  lookups reaching screen 3 (phone)",
            f"{big['found']}/{big['lookups']}",
            "all",
            big["found"] == big["lookups"],
        )
    )
    lookup_seconds = big["lookup_seconds"]
    assert isinstance(lookup_seconds, float)
    per_lookup_ms = 1000 * lookup_seconds / max(int(big["lookups"] or 1), 1)
    print(_row("  time per lookup (5 requests)", f"{per_lookup_ms:.1f} ms", "", None))
    print(
        _row(
            f"set up {args.count:,} generated, in-process",
            f"{setup * 1000:.3f} ms",
            "<= 500 ms",
            setup <= 0.5,
        )
    )
    return 0


def _ok_mb(value: float | int | None) -> bool | None:
    return None if value is None else value <= 150


if __name__ == "__main__":
    sys.exit(main())
