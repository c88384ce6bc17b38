"""A lean open-loop load generator, run as a process of its own: fixed-rate GETs.

Usage: python bench/openloop.py URL --rate 5000 --seconds 3 [--header "Name: value"]

Requests are due at fixed intervals whatever the server does (open loop); each latency is
measured from the request's *due* time to the end of its response body, so a request that
waits for a free connection counts that wait (no coordinated omission). Connections are
kept alive (HTTP/1.1, one request at a time each, as browsers and HTTP client libraries
send); the request bytes are built once and responses are parsed by Content-Length only,
so the generator spends a few microseconds per request and a Python generator on the next
core does not become the bottleneck it measures. Prints one JSON object: offered and
achieved rate, errors (non-2xx or broken connections), p50/p99/max in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import sys
from urllib.parse import urlsplit


class _Connection(asyncio.Protocol):
    """One keep-alive connection: send a request, read its one response, report."""

    def __init__(self, pool: _Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.due = 0.0
        self.busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def send(self, due: float) -> None:
        assert self.transport is not None
        self.due, self.busy = due, True
        self.transport.write(self.pool.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        start = head.find(b"content-length:")
        stop = head.find(b"\r\n", start) if start >= 0 else -1
        length = int(head[start + 15 : stop if stop >= 0 else len(head)]) if start >= 0 else 0
        if len(self.buffer) < end + 4 + length:
            return
        status = int(head[9:12])
        del self.buffer[: end + 4 + length]
        self.busy = False
        self.pool.done(self, status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.pool.lost(self)


class _Pool:
    def __init__(self, request: bytes, loop: asyncio.AbstractEventLoop) -> None:
        self.request = request
        self.loop = loop
        self.idle: list[_Connection] = []
        self.waiting: collections.deque[float] = collections.deque()
        self.latencies: list[float] = []
        self.errors = 0
        self.finished = 0
        self.all_done = loop.create_future()
        self.expected = 0

    def due(self, at: float) -> None:
        if self.idle:
            self.idle.pop().send(at)
        else:
            self.waiting.append(at)

    def done(self, connection: _Connection, status: int) -> None:
        self.latencies.append(self.loop.time() - connection.due)
        if not 200 <= status < 300:
            self.errors += 1
        self._next(connection)

    def lost(self, connection: _Connection) -> None:
        if connection.busy:
            self.errors += 1
            self.latencies.append(self.loop.time() - connection.due)
            self._count()
        if connection in self.idle:
            self.idle.remove(connection)

    def _next(self, connection: _Connection) -> None:
        self._count()
        if self.waiting:
            connection.send(self.waiting.popleft())
        else:
            self.idle.append(connection)

    def _count(self) -> None:
        self.finished += 1
        if self.finished >= self.expected and not self.all_done.done():
            self.all_done.set_result(None)


async def run(
    url: str, headers: list[str], rate: float, seconds: float, connections: int
) -> dict[str, float]:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}", *headers, "", ""]
    loop = asyncio.get_running_loop()
    pool = _Pool("\r\n".join(lines).encode(), loop)
    for _ in range(connections):
        _, protocol = await loop.create_connection(
            lambda: _Connection(pool), parts.hostname or "127.0.0.1", parts.port or 80
        )
        pool.idle.append(protocol)
    # Warm-up (connections, the server's caches), not measured.
    pool.expected = min(200, connections * 4)
    for _ in range(pool.expected):
        pool.due(loop.time())
    await asyncio.wait_for(pool.all_done, 30)
    pool.latencies.clear()
    pool.errors = pool.finished = 0
    pool.all_done = loop.create_future()
    total = pool.expected = int(rate * seconds)
    interval = 1.0 / rate
    start = loop.time() + 0.01
    sent = 0
    while sent < total:
        now = loop.time()
        while sent < total and start + sent * interval <= now:
            pool.due(start + sent * interval)
            sent += 1
        if sent < total:
            await asyncio.sleep(max(0.0, start + sent * interval - loop.time()))
    await asyncio.wait_for(pool.all_done, seconds + 60)
    elapsed = loop.time() - start
    latencies = sorted(pool.latencies)
    return {
        "rate": rate,
        "sent": total,
        "achieved_rps": total / elapsed,
        "errors": pool.errors,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "max_ms": latencies[-1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    stats = asyncio.run(run(args.url, args.header, args.rate, args.seconds, args.connections))
    json.dump(stats, sys.stdout)
    print()


if __name__ == "__main__":
    main()
