"""Batched writes: every byte arrives, in order, on both event loops `sandbox serve` runs."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import uvloop
from aiohttp import web

from sandbox.web.batched_writes import (
    WRITE_THROUGH,
    BatchedTransport,
    WriteBatcher,
    batching_loop,
)

CLOSE = "Connection: close\r\n\r\n"
LOOPS = {"uvloop": uvloop.Loop, "asyncio": asyncio.SelectorEventLoop}


@pytest.fixture(params=sorted(LOOPS))
def loop(request: pytest.FixtureRequest) -> Iterator[asyncio.AbstractEventLoop]:
    made = batching_loop(LOOPS[request.param])
    yield made
    made.close()


def _serve(
    loop: asyncio.AbstractEventLoop,
    app: web.Application,
    client: Callable[[int], Awaitable[object]],
) -> object:
    """Run ``app`` on ``loop`` as `sandbox serve` does (TCPSite), and ``client`` against it."""

    async def main() -> object:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            return await client(port)
        finally:
            await runner.cleanup()

    return loop.run_until_complete(main())


async def _exchange(port: int, raw: bytes) -> bytes:
    """Send ``raw`` on one connection; everything the server sends until it closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return data


def _app() -> web.Application:
    async def echo(request: web.Request) -> web.Response:
        return web.Response(text=f"n={request.match_info['n']}")

    async def big(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for n in range(64):  # 64 x 16 KiB, each chunk filled with its own number
            await response.write(bytes([n]) * 16384)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/echo/{n}", echo)
    app.router.add_get("/big", big)
    return app


def test_many_connections_answered_in_one_iteration_each_get_their_own_answer(
    loop: asyncio.AbstractEventLoop,
) -> None:
    async def client(port: int) -> list[bytes]:
        raws = [f"GET /echo/{n} HTTP/1.1\r\nHost: x\r\n{CLOSE}".encode() for n in range(40)]
        return await asyncio.gather(*(_exchange(port, raw) for raw in raws))

    answers = _serve(loop, _app(), client)
    assert isinstance(answers, list)
    for n, answer in enumerate(answers):
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
        assert answer.endswith(f"\r\n\r\nn={n}".encode())  # closed only after the body


def test_pipelined_requests_are_answered_in_order_on_their_connection(
    loop: asyncio.AbstractEventLoop,
) -> None:
    raw = b"".join(f"GET /echo/{n} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for n in range(9))
    raw += b"GET /echo/last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

    answer = _serve(loop, _app(), lambda port: _exchange(port, raw))
    assert isinstance(answer, bytes)
    bodies = [part.split(b"\r\n\r\n", 1)[1] for part in answer.split(b"HTTP/1.1 200 OK")[1:]]
    assert bodies == [f"n={n}".encode() for n in range(9)] + [b"n=last"]


def test_a_long_streamed_body_arrives_whole_and_in_order(
    loop: asyncio.AbstractEventLoop,
) -> None:
    raw = b"GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    answer = _serve(loop, _app(), lambda port: _exchange(port, raw))
    assert isinstance(answer, bytes)
    body = answer.split(b"\r\n\r\n", 1)[1]
    # Chunked: strip the chunk framing, then each 16 KiB block holds its own number.
    data, rest = b"", body
    while rest:
        size, rest = rest.split(b"\r\n", 1)
        length = int(size, 16)
        data, rest = data + rest[:length], rest[length + 2 :]
    assert data == b"".join(bytes([n]) * 16384 for n in range(64))


def test_a_static_file_follows_its_headers(loop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    """asyncio sends a file with sendfile(2) on the socket itself, uvloop through the
    transport: either way after the held headers."""
    content = bytes(range(256)) * 1000
    (tmp_path / "file.bin").write_bytes(content)
    app = web.Application()
    app.router.add_static("/static/", tmp_path)
    raw = b"GET /static/file.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

    answer = _serve(loop, app, lambda port: _exchange(port, raw))
    assert isinstance(answer, bytes)
    head, body = answer.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert f"Content-Length: {len(content)}" in head.decode()
    assert body == content


def test_a_client_that_stops_sending_still_gets_its_answer(
    loop: asyncio.AbstractEventLoop,
) -> None:
    """The client's end of sending (a half-close, as `nc -N` does) arrives while the answer
    is held: the transport then closes itself, and the held bytes go out first."""

    async def busy(request: web.Request) -> web.Response:
        time.sleep(0.03)  # noqa: ASYNC251 - holds the loop: the client's FIN arrives meanwhile
        return web.Response(text="hello")

    app = web.Application()
    app.router.add_get("/busy", busy)

    def half_close(port: int) -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(b"GET /busy HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.01)
            client.shutdown(socket.SHUT_WR)
            data = b""
            while chunk := client.recv(65536):
                data += chunk
            return data

    async def clients(port: int) -> list[bytes]:
        return [await asyncio.to_thread(half_close, port) for _ in range(5)]

    answers = _serve(loop, app, clients)
    assert isinstance(answers, list)
    assert all(answer.endswith(b"\r\n\r\nhello") for answer in answers), answers


# --- the batching itself, on a stand-in for the socket's transport ----------------------


class _Socket(asyncio.Transport):
    """A socket's transport that records what reaches it."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[bytes] = []
        self.closed = self.aborted = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.sent.append(bytes(data))

    def writelines(self, list_of_data: object) -> None:
        assert isinstance(list_of_data, list)
        self.sent.append(b"".join(list_of_data))

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_write_buffer_size(self) -> int:
        return 0


async def test_writes_of_one_iteration_reach_their_sockets_together_at_its_end() -> None:
    batcher = WriteBatcher(asyncio.get_running_loop())
    sockets = [_Socket() for _ in range(3)]
    transports = [BatchedTransport(s, batcher) for s in sockets]
    for n, transport in enumerate(transports):
        transport.writelines([b"head ", f"{n}".encode()])
        transport.write(bytearray(b"!"))  # copied: the caller may reuse its buffer
    assert [s.sent for s in sockets] == [[], [], []]  # held while the iteration runs
    assert transports[0].get_write_buffer_size() == len(b"head 0!")
    await asyncio.sleep(0)
    assert [s.sent for s in sockets] == [[b"head 0!"], [b"head 1!"], [b"head 2!"]]
    assert transports[0].get_write_buffer_size() == 0


async def test_close_writes_what_is_held_abort_drops_it() -> None:
    batcher = WriteBatcher(asyncio.get_running_loop())
    closed, aborted = _Socket(), _Socket()
    closing = BatchedTransport(closed, batcher)
    closing.write(b"bye")
    closing.close()
    assert closed.sent == [b"bye"]
    assert closed.closed
    gone = BatchedTransport(aborted, batcher)
    gone.write(b"never")
    gone.abort()
    await asyncio.sleep(0)
    assert aborted.sent == []
    assert aborted.aborted
    assert closed.sent == [b"bye"]


async def test_a_long_answer_is_not_held_whole() -> None:
    batcher = WriteBatcher(asyncio.get_running_loop())
    socket = _Socket()
    transport = BatchedTransport(socket, batcher)
    for _ in range(WRITE_THROUGH // 4096 * 3):
        transport.write(b"x" * 4096)
        assert transport.get_write_buffer_size() < WRITE_THROUGH
    assert sum(len(chunk) for chunk in socket.sent) >= 2 * WRITE_THROUGH  # before any turn


async def test_a_connection_lost_before_the_flush_costs_only_its_own_bytes() -> None:
    batcher = WriteBatcher(asyncio.get_running_loop())
    lost, kept = _Socket(), _Socket()
    BatchedTransport(lost, batcher).write(b"for nobody")
    BatchedTransport(kept, batcher).write(b"for you")
    lost.aborted = True  # the client went away while the bytes were held
    await asyncio.sleep(0)
    assert lost.sent == []
    assert kept.sent == [b"for you"]
