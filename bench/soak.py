"""Memory over a long run: many data-API requests, then many linkages under a frozen clock.

Usage: python bench/soak.py [--requests 200000] [--linkages 50000]

``sandbox serve`` (memory store, access log on, to a file) in its own process; wrk sends
``--requests`` GET /accounts (in 10-second rounds), then headless customers from a separate
process complete ``--linkages`` linkages (8 at once, each with its token exchange and first
data call) while the scenario's clock stands still, so nothing ever expires and only the
stores' caps keep memory bounded. The server's RSS is printed after each round.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from outside import flows, sandbox_process  # noqa: E402
from stores import SCENARIO, _rss_mb, _token, wrk_output  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--linkages", type=int, default=50_000)
    parser.add_argument("--round", type=int, default=5_000, help="linkages per round")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sandbox-soak-"))
    scenario = work / "bench.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    server = sandbox_process(scenario)
    pid = server.process.pid
    try:
        token = asyncio.run(_token(server.url))
        url = f"{server.url}/parasol/v1/banks/2011/accounts"
        start = _rss_mb([pid])
        print(f"start: RSS {start:.1f} MB", flush=True)
        sent = 0
        while sent < args.requests:
            out = wrk_output(url, token, 10)
            sent += int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
            print(f"{sent:>9,} requests: RSS {_rss_mb([pid]):.1f} MB", flush=True)
        after_requests = _rss_mb([pid])
        done = 0
        began = time.perf_counter()
        while done < args.linkages:
            count = min(args.round, args.linkages - done)
            rate = flows(server.url, count, 8)
            done += count
            print(f"{done:>9,} linkages ({rate:.0f}/s): RSS {_rss_mb([pid]):.1f} MB", flush=True)
        end = _rss_mb([pid])
        print(
            f"after {sent:,} requests {after_requests:.1f} MB; after {done:,} linkages "
            f"({time.perf_counter() - began:.0f} s) {end:.1f} MB: "
            f"{(end / after_requests - 1) * 100:+.1f}%"
        )
    finally:
        server.stop()
        subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
