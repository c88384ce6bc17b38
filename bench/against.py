"""Complete linkages of this checkout against another commit's code, in turn, in one run.

Usage: python bench/against.py COMMIT [--rounds 6] [--flows 300]

A linkage's CPU time moves with the machine's hour (by up to three times here), so a
figure of this run cannot be set against one of another run. This runs both codes in the
same minutes: COMMIT's tree is checked out into a temporary git worktree, and each round
starts ``python -m sandbox serve`` of one tree and then of the other, which goes first taking
turns (each in its own
process, as a user starts it, memory store, JSON access log on, to a file), warms it with
100 linkages, then times ``--flows`` linkages, 8 at once, from outside.py's headless
customers in another process. CPU per linkage is the server process's user+system time
from /proc. The ratio printed is the median of each round's ratio (this checkout's CPU over
COMMIT's), so drift between rounds hits both alike; every round is printed. Run it with
COMMIT=HEAD to see the spread of identical code in the hour. Only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from stores import SCENARIO, _cpu_seconds  # noqa: E402

_RUNNING = re.compile(r"Running on (http://127\.0\.0\.1:\d+)")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "SANDBOX_ACCESS_LOG": "1"}


def _flows(url: str, count: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "outside.py"), "--flow-client", url, "--flows", str(count)],
        capture_output=True,
        text=True,
        check=True,
        env=_env(),
        timeout=900,
    )
    found: dict[str, float] = json.loads(done.stdout)
    if found["failures"]:
        raise RuntimeError(f"{found['failures']:.0f} linkages failed on {url}")
    return found


def _measure(tree: Path, scenario: Path, count: int, log_path: Path) -> tuple[float, float]:
    """Linkages per second and ms of CPU per linkage of ``tree``'s server."""
    with log_path.open("a") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "serve", "--port", "0", "--scenario", str(scenario)],
            cwd=tree,  # ``-m sandbox`` imports the package of the working directory first
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        # A server that never says where it runs is stopped (its stdout then ends).
        deadline = threading.Timer(_START_SECONDS, server.kill)
        deadline.start()
        try:
            assert server.stdout is not None
            url = next((m[1] for line in server.stdout if (m := _RUNNING.search(line))), "")
            deadline.cancel()
            if not url:
                raise RuntimeError(f"{tree} did not start; see {log.name}")
            _flows(url, 100)  # warm-up: first customers, caches
            before = _cpu_seconds([server.pid])
            per_second = _flows(url, count)["per_second"]
            return per_second, (_cpu_seconds([server.pid]) - before) / count * 1000
        finally:
            deadline.cancel()
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


_START_SECONDS = 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("commit", help="the code to measure against (any git revision)")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--flows", type=int, default=300, help="timed linkages per round")
    args = parser.parse_args()
    checkout = ROOT.parent
    work = Path(tempfile.mkdtemp(prefix="sandbox-against-"))
    other = work / "other"
    subprocess.run(
        ["git", "-C", str(checkout), "worktree", "add", "--detach", "-q", str(other), args.commit],
        check=True,
    )
    finished = False
    try:
        scenario = work / "bench.yaml"
        scenario.write_text(SCENARIO, encoding="utf-8")
        trees = [(args.commit, other), ("this checkout", checkout)]
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in trees}
        print(
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} · {os.cpu_count()} CPUs · "
            f"complete linkages, 8 at once, {args.rounds} rounds of {args.flows} taken in turn"
        )
        for round_number in range(1, args.rounds + 1):
            order = trees if round_number % 2 else trees[::-1]  # neither always goes first
            for number, (name, tree) in enumerate(order):
                log = work / f"server-{number}-{round_number}.log"
                per_second, cpu_ms = _measure(tree, scenario, args.flows, log)
                runs[name].append((per_second, cpu_ms))
                print(
                    f"round {round_number}, {name}: {per_second:.1f} linkages/s, "
                    f"{cpu_ms:.2f} ms CPU each",
                    flush=True,
                )
        for name, found in runs.items():
            print(
                f"{name:<16} {statistics.median(r[0] for r in found):7.1f} linkages/s, "
                f"{statistics.median(r[1] for r in found):.2f} ms CPU each (medians)"
            )
        mine, theirs = runs["this checkout"], runs[args.commit]
        ratio = statistics.median(m[1] / t[1] for m, t in zip(mine, theirs, strict=True))
        print(f"CPU per linkage, this checkout / {args.commit}: {ratio:.2f}x (median of rounds)")
        finished = True
    finally:
        subprocess.run(
            ["git", "-C", str(checkout), "worktree", "remove", "--force", str(other)], check=False
        )
        if finished:
            shutil.rmtree(work, ignore_errors=True)
        else:  # the servers' logs say why
            print(f"the servers' logs are kept in {work}", file=sys.stderr)


if __name__ == "__main__":
    main()
