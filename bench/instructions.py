"""Instructions per request, counted by valgrind: a yardstick the machine's noise cannot move.

Usage: python bench/instructions.py [--requests 2000] [--connections 32] [--flows 40]
       python bench/instructions.py --against COMMIT [--flows 200] [--pairs 2]

Timings on a shared machine drift by 10-15% within minutes; the number of instructions a
server executes per request does not (two runs agree within about 0.5%). Each server runs
under ``valgrind --tool=cachegrind --cache-sim=no``, started as outside.py starts it: the
sandbox as ``python -m sandbox serve`` (memory store, JSON access log on, to a file), and
bench/bare.py serving the very bytes the sandbox answered, on asyncio and on uvloop. Load
comes from another process: ``--connections`` keep-alive connections sending
``--requests`` requests in all (under valgrind the server is the bottleneck, so every loop
iteration has work, as under wrk). Each server is run twice, with 300 requests and with
300 + ``--requests``; the difference divided by ``--requests`` is the figure, so start-up
and the linkage that made the token cancel out. Complete linkages (outside.py's headless
customers, 8 at once) are counted the same way: 8 and 8 + ``--flows`` of them. Start-up
is counted whole: a server started as outside.py times it, until its first 200 from
/_sandbox/health, then stopped (the sandbox with the bench scenario, bare with no pages).

With ``--against COMMIT`` it counts only complete linkages, of this checkout and of
COMMIT's tree (a temporary git worktree; each tree's server started once first, to write
its bytecode), both under valgrind at the same time, ``--pairs`` times, and prints each
pair and the medians' ratio: counts taken minutes apart drift by up to 2%, counts taken
together drift alike.

What it counts is user-space instructions only: the kernel's share (the socket writes,
waking the client) and the cost of cache misses are not in it, so a ratio of
instructions is smaller than the ratio of CPU time outside.py measures. It shows whether a
change did less work, where a timing cannot. Needs valgrind (``apt install valgrind``).
Only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from against import checked_out  # noqa: E402
from outside import BANK, child_env, fetch_pages, flows, sandbox_process  # noqa: E402
from stores import SCENARIO, _token  # noqa: E402

from sandbox.domain.refs import account_id  # noqa: E402

FIRST = 300  # requests of the shorter run
FLOWS_FIRST = 8  # linkages of the shorter run
_VALGRIND = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def _paths() -> dict[str, str]:
    from api import LINES, REF

    base = f"/parasol/v1/banks/{BANK}"
    query = f"date_from=2026-06-01&date_to=2026-11-25&limit={LINES}"
    return {
        "/accounts": f"{base}/accounts",
        "/transactions (50)": f"{base}/accounts/{account_id(BANK, REF)}/transactions?{query}",
    }


def _health(url: str) -> None:
    for _ in range(900):  # valgrind starts a server 20-50 times slower
        try:
            with urllib.request.urlopen(f"{url}/_sandbox/health", timeout=10):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not start under valgrind")


def _instructions(
    command: list[str],
    port: int,
    path: str,
    token: str | None,
    n: int,
    connections: int,
    work: Path,
    cwd: Path | None = None,
) -> int:
    """Instructions the server ran: start-up, (a linkage for a token,) ``n`` requests, or
    with ``path`` "flows", ``n`` complete linkages, 8 at once; with ``path`` "start-up",
    only its start-up, the first 200 from /_sandbox/health and its stop."""
    log = work / f"valgrind-{port}.log"
    env = child_env({"PYTHONHASHSEED": "0", "SANDBOX_ACCESS_LOG": "1"})
    with log.open("w") as err:
        server = subprocess.Popen(
            [*_VALGRIND, *command, "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=cwd,  # another tree's checkout: its ``sandbox`` is the one imported
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _health(url)
            if path == "start-up":
                pass
            elif path == "flows":
                flows(url, n, 8)
            else:
                bearer = token or asyncio.run(_token(url))
                load = [sys.executable, __file__, "--client", f"{port} {path} {bearer} {n}"]
                subprocess.run([*load, "--connections", str(connections)], check=True)
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=300)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=30)
    found = _REFS.search(log.read_text(encoding="utf-8", errors="replace"))
    if found is None:
        raise RuntimeError(f"valgrind printed no instruction count; see {log}")
    return int(found[1].replace(",", ""))


def per_request(
    command: list[str],
    port: int,
    path: str,
    token: str | None,
    requests: int,
    connections: int,
    work: Path,
    first: int = FIRST,
    cwd: Path | None = None,
) -> float:
    short = _instructions(command, port, path, token, first, connections, work, cwd)
    long = _instructions(command, port + 1, path, token, first + requests, connections, work, cwd)
    return (long - short) / requests


async def _client(port: int, path: str, token: str, n: int, connections: int) -> None:
    """``n`` GETs over ``connections`` keep-alive connections; every answer must be 200."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\r\n"
    ).encode()
    left = [n]

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while left[0] > 0:
            left[0] -= 1
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"not 200: {head[:60]!r}")
            length = re.search(rb"(?i)content-length:\s*(\d+)", head)
            await reader.readexactly(int(length[1]) if length else 0)
        writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--flows", type=int, default=40, help="complete linkages, 8 at once")
    parser.add_argument(
        "--against",
        metavar="COMMIT",
        help="count complete linkages of this checkout and of COMMIT side by side, both at once",
    )
    parser.add_argument("--pairs", type=int, default=2, help="side-by-side counts (--against)")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        port, path, token, n = args.client.split(" ")
        asyncio.run(_client(int(port), path, token, int(n), args.connections))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("bench/instructions.py needs valgrind (apt install valgrind)")
    work = Path(tempfile.mkdtemp(prefix="sandbox-instructions-"))
    try:
        if args.against:
            side_by_side(args.against, args.flows, args.pairs, work)
        else:
            measure(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def side_by_side(commit: str, count: int, pairs: int, work: Path) -> None:
    """Instructions per complete linkage of this checkout and of ``commit`` (checked out
    into a temporary git worktree), both trees counted at once, ``pairs`` times.

    Counts taken minutes apart move by up to 2% with the machine's speed (the log writer
    wakes up to 50 times a second of real time); two trees counted at the same time move
    alike, so a change of a per cent or two shows.
    """
    with checked_out(commit, work / "other") as other:
        scenario = work / "bench.yaml"
        scenario.write_text(SCENARIO, encoding="utf-8")
        trees = {"this checkout": ROOT.parent, commit: other}
        for tree in trees.values():  # a first start writes each tree's bytecode
            warm = sandbox_process(scenario, cwd=tree)
            try:
                flows(warm.url, 4, 4)
            finally:
                warm.stop()
        command = [sys.executable, "-m", "sandbox", "serve", "--scenario", str(scenario)]
        print(
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} · instructions per complete "
            f"linkage (valgrind, 8 at once, {FLOWS_FIRST} and {FLOWS_FIRST + count} linkages), "
            f"both trees at once, {pairs} pairs"
        )
        found: dict[str, list[float]] = {name: [] for name in trees}
        for pair in range(1, pairs + 1):
            with ThreadPoolExecutor(max_workers=2) as pool:
                running = {
                    name: pool.submit(
                        per_request,
                        command,
                        18900 + 10 * i,
                        "flows",
                        None,
                        count,
                        8,
                        work,
                        FLOWS_FIRST,
                        tree,
                    )
                    for i, (name, tree) in enumerate(trees.items())
                }
                counted = {name: job.result() for name, job in running.items()}
            for name, value in counted.items():
                found[name].append(value)
            mine, theirs = counted["this checkout"], counted[commit]
            print(
                f"pair {pair}: this checkout {mine:,.0f}, {commit} {theirs:,.0f} "
                f"({mine / theirs - 1:+.1%})",
                flush=True,
            )
        mine, theirs = statistics.median(found["this checkout"]), statistics.median(found[commit])
        print(
            f"medians: this checkout {mine:,.0f}, {commit} {theirs:,.0f}: "
            f"{mine / theirs:.3f}x ({mine / theirs - 1:+.1%})"
        )


def measure(args: argparse.Namespace, work: Path) -> None:
    """Print the table: each server, each path, then complete linkages on the sandbox."""
    scenario = work / "bench.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    paths = _paths()
    served = sandbox_process(scenario)  # not under valgrind: the bytes bare must answer
    try:
        token = asyncio.run(_token(served.url))
        pages = asyncio.run(fetch_pages(served.url, token, list(paths.values())))
    finally:
        served.stop()
    pages_file = work / "pages.json"
    pages_file.write_text(json.dumps(pages, ensure_ascii=False), encoding="utf-8")
    python = [sys.executable]
    servers: dict[str, tuple[list[str], str | None]] = {
        "sandbox": ([*python, "-m", "sandbox", "serve", "--scenario", str(scenario)], None),
        "bare asyncio": ([*python, str(ROOT / "bare.py"), "--pages", str(pages_file)], token),
        "bare uvloop": (
            [*python, str(ROOT / "bare.py"), "--pages", str(pages_file), "--loop", "uvloop"],
            token,
        ),
    }
    print(
        f"instructions per request (valgrind, {args.connections} connections, "
        f"{args.requests:,} requests after {FIRST})"
    )
    port = 18950
    for label, path in paths.items():
        counts: dict[str, float] = {}
        for name, (command, known) in servers.items():
            print(f"... {label} on {name}", file=sys.stderr, flush=True)
            counts[name] = per_request(
                command, port, path, known, args.requests, args.connections, work
            )
            port += 2
        sandbox = counts["sandbox"]
        cells = ", ".join(
            f"{name} {count:,.0f} (the sandbox: {sandbox / count:.2f}x)"
            for name, count in counts.items()
            if name != "sandbox"
        )
        print(f"{label:<20} sandbox {sandbox:,.0f}; {cells}")
    print("... complete linkages on sandbox", file=sys.stderr, flush=True)
    sandbox_command = servers["sandbox"][0]
    per_flow = per_request(
        sandbox_command, port, "flows", None, args.flows, 8, work, first=FLOWS_FIRST
    )
    print(f"{'complete linkage':<20} sandbox {per_flow:,.0f} (16 requests, 8 at once)")
    print("... start-up of sandbox and bare asyncio", file=sys.stderr, flush=True)
    # Each server's start to its first 200, as outside.py times it, plus its stop (after
    # a start that wrote the bytecode caches, as the rest of this run did).
    started = {
        name: _instructions(command, port + 2 + i, "start-up", None, 0, 1, work)
        for i, (name, command) in enumerate(
            (("sandbox", sandbox_command), ("bare", [*python, str(ROOT / "bare.py")]))
        )
    }
    print(
        f"{'start-up':<20} sandbox {started['sandbox']:,}; bare asyncio {started['bare']:,} "
        f"(the sandbox: {started['sandbox'] / started['bare']:.2f}x; to the first 200 and stop)"
    )


if __name__ == "__main__":
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    main()
