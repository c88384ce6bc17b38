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
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from outside import child_env, sandbox_process  # noqa: E402
from stores import SCENARIO, _cpu_seconds  # noqa: E402


def _flows(url: str, count: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "outside.py"), "--flow-client", url, "--flows", str(count)],
        capture_output=True,
        text=True,
        check=True,
        env=child_env(),
        timeout=900,
    )
    found: dict[str, float] = json.loads(done.stdout)
    if found["failures"]:
        raise RuntimeError(f"{found['failures']:.0f} linkages failed on {url}")
    return found


def _measure(tree: Path, scenario: Path, count: int) -> tuple[float, float]:
    """Linkages per second and ms of CPU per linkage of ``tree``'s server."""
    server = sandbox_process(scenario, cwd=tree)
    try:
        _flows(server.url, 100)  # warm-up: first customers, caches
        before = _cpu_seconds(server.pids())
        per_second = _flows(server.url, count)["per_second"]
        return per_second, (_cpu_seconds(server.pids()) - before) / count * 1000
    finally:
        server.stop()


@contextmanager
def checked_out(commit: str, where: Path) -> Iterator[Path]:
    """COMMIT's tree at ``where``, a temporary git worktree of this checkout (removed after)."""
    checkout = ROOT.parent
    subprocess.run(
        ["git", "-C", str(checkout), "worktree", "add", "--detach", "-q", str(where), commit],
        check=True,
    )
    try:
        yield where
    finally:
        subprocess.run(
            ["git", "-C", str(checkout), "worktree", "remove", "--force", str(where)], check=False
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("commit", help="the code to measure against (any git revision)")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--flows", type=int, default=300, help="timed linkages per round")
    args = parser.parse_args()
    checkout = ROOT.parent
    work = Path(tempfile.mkdtemp(prefix="sandbox-against-"))
    try:
        with checked_out(args.commit, work / "other") as other:
            _rounds(args.commit, other, checkout, work, args.rounds, args.flows)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _rounds(commit: str, other: Path, checkout: Path, work: Path, rounds: int, count: int) -> None:
    """Print each round of both trees in turn, then the medians and their ratio."""
    scenario = work / "bench.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    trees = [(commit, other), ("this checkout", checkout)]
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in trees}
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} · {os.cpu_count()} CPUs · "
        f"complete linkages, 8 at once, {rounds} rounds of {count} taken in turn"
    )
    for round_number in range(1, rounds + 1):
        order = trees if round_number % 2 else trees[::-1]  # neither always goes first
        for name, tree in order:
            per_second, cpu_ms = _measure(tree, scenario, count)
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
    mine, theirs = runs["this checkout"], runs[commit]
    ratio = statistics.median(m[1] / t[1] for m, t in zip(mine, theirs, strict=True))
    print(f"CPU per linkage, this checkout / {commit}: {ratio:.2f}x (median of rounds)")


if __name__ == "__main__":
    main()
