"""Responses finished in one event-loop iteration leave for their sockets together.

Every socket write that finds its reader asleep makes the kernel wake it. On a virtual
machine that wake-up (an interrupt sent to the other CPU) costs more than the write: with 32
connections from one load generator, writing each response the moment it was finished put
about a fifth of the sandbox's CPU per request in the kernel, half of it waking the client
inside ``write()``. Here a response's bytes wait in its connection's
:class:`BatchedTransport` until the end of the iteration; then one callback writes every
waiting connection's bytes, back to back. When one client owns the connections (a load
generator, a test runner's pool), only the first write has a sleeper to wake; connections
of separate clients still wake one each, and gain nothing.

A response waits for the requests handled in the same iteration, no longer: one request at
a time, it leaves one loop turn later. Bytes keep their order on their connection; closing
writes them first, and so does the end of the client's sending (after which the transport
closes itself); ``abort`` drops them, as it drops a transport's own buffer. A response
larger than WRITE_THROUGH goes to the socket at once, so a long body still meets the
transport's flow control (``pause_writing``) and is never held whole in memory here.

The loop ``sandbox serve`` runs on (:func:`batching_loop`) wraps the protocol of every
connection its servers accept; nothing else in the sandbox knows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import IO, Any, cast

log = logging.getLogger("sandbox")

WRITE_THROUGH = 64 * 1024  # bytes of one connection held back at most


class WriteBatcher:
    """The connections of one loop with bytes waiting, and the callback that writes them."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiting: dict[BatchedTransport, None] = {}  # in the order they first wrote

    def protocol_factory(
        self, factory: Callable[[], asyncio.BaseProtocol]
    ) -> Callable[[], asyncio.BaseProtocol]:
        """``factory`` (a server's), its protocols seeing batched transports."""

        def batched() -> asyncio.BaseProtocol:
            return BatchedProtocol(cast(asyncio.Protocol, factory()), self)

        return batched

    def waiting(self, transport: BatchedTransport) -> None:
        """``transport`` holds bytes: write them at the end of this iteration."""
        if not self._waiting:
            self._loop.call_soon(self._write_all)
        self._waiting[transport] = None

    def forget(self, transport: BatchedTransport) -> None:
        self._waiting.pop(transport, None)

    def _write_all(self) -> None:
        waiting, self._waiting = self._waiting, {}
        for transport in waiting:
            try:
                transport.write_held()
            except Exception:  # one broken connection does not keep the others' bytes
                log.exception("writing a response failed; the connection is closed")
                transport.abort()


class BatchedTransport(asyncio.Transport):
    """What the server's protocol writes to: its bytes are held until the batcher writes
    them, or until anything else is asked of the connection."""

    __slots__ = ("_batcher", "_held", "_size", "real")

    def __init__(self, real: asyncio.Transport, batcher: WriteBatcher) -> None:
        super().__init__()
        self.real = real
        self._batcher = batcher
        self._held: list[bytes] = []
        self._size = 0

    # --- writing -------------------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if data.__class__ is not bytes:
            data = bytes(data)  # the caller may reuse its buffer once write returns
        held = self._held
        if not held:
            self._batcher.waiting(self)
        held.append(data)
        self._size += len(data)
        if self._size >= WRITE_THROUGH:
            self.write_held()

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        held = self._held
        if not held:
            self._batcher.waiting(self)
        size = self._size
        for data in list_of_data:
            if data.__class__ is not bytes:
                data = bytes(data)
            held.append(data)
            size += len(data)
        self._size = size
        if size >= WRITE_THROUGH:
            self.write_held()

    def write_held(self) -> None:
        """Hand the held bytes to the socket's transport now (in order)."""
        held, self._held, self._size = self._held, [], 0
        if not held or self.real.is_closing():  # (a lost connection is closing)
            return
        if len(held) == 1:
            self.real.write(held[0])
        else:
            self.real.writelines(held)

    def get_write_buffer_size(self) -> int:
        return self._size + self.real.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self.real.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.real.set_write_buffer_limits(high, low)

    def can_write_eof(self) -> bool:
        return self.real.can_write_eof()

    def write_eof(self) -> None:
        self.write_held()
        self.real.write_eof()

    # --- the connection ------------------------------------------------------------------

    def close(self) -> None:
        """Write what is held, then close (the transport sends its buffer before it goes)."""
        self.write_held()
        self._batcher.forget(self)
        self.real.close()

    def abort(self) -> None:
        """Close at once: what is held is dropped, like the transport's own buffer."""
        self._held, self._size = [], 0
        self._batcher.forget(self)
        self.real.abort()

    def is_closing(self) -> bool:
        return self.real.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.real.get_extra_info(name, default)

    def is_reading(self) -> bool:
        return self.real.is_reading()

    def pause_reading(self) -> None:
        self.real.pause_reading()

    def resume_reading(self) -> None:
        self.real.resume_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.write_held()
        self.real.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        protocol = self.real.get_protocol()
        return protocol.inner if isinstance(protocol, BatchedProtocol) else protocol


class BatchedProtocol(asyncio.Protocol):
    """The socket's protocol: the server's protocol behind it writes to a BatchedTransport.

    Reads, flow control and the loss of the connection go straight to the server's protocol
    (its own methods, set on this object: no call in between). Only the end of the client's
    sending passes through here: the transport closes itself after ``eof_received`` unless
    the protocol keeps it open, so what is held is written first.
    """

    def __init__(self, inner: asyncio.Protocol, batcher: WriteBatcher) -> None:
        self.inner = inner
        self._batcher = batcher
        self._transport: BatchedTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        real = cast(asyncio.Transport, transport)
        for name in _PASSED_ON:
            setattr(self, name, getattr(self.inner, name))
        real.set_protocol(self)  # again: uvloop keeps the data_received it finds then
        self._transport = BatchedTransport(real, self._batcher)
        self.inner.connection_made(self._transport)

    def eof_received(self) -> bool | None:
        if self._transport is not None:
            self._transport.write_held()
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:  # (before connection_made)
        self.inner.connection_lost(exc)


# The events a BatchedProtocol leaves to the server's protocol, bound to it directly.
_PASSED_ON = ("data_received", "pause_writing", "resume_writing", "connection_lost")


class BatchingLoop(asyncio.AbstractEventLoop):
    """Mixed into an event loop class: the servers it starts batch their writes."""

    async def create_server(
        self, protocol_factory: Callable[[], asyncio.BaseProtocol], *args: Any, **kwargs: Any
    ) -> asyncio.Server:
        factory = WriteBatcher(self).protocol_factory(protocol_factory)
        return await super().create_server(factory, *args, **kwargs)

    async def sendfile(
        self,
        transport: asyncio.WriteTransport,
        file: IO[bytes],
        offset: int = 0,
        count: int | None = None,
        *,
        fallback: bool = True,
    ) -> int:
        """A file sent on a batched connection goes after the bytes held before it (the
        headers), on the socket's own transport."""
        if isinstance(transport, BatchedTransport):
            transport.write_held()
            transport = transport.real
        return await super().sendfile(transport, file, offset, count, fallback=fallback)


def batching_loop(loop_class: type[asyncio.AbstractEventLoop]) -> asyncio.AbstractEventLoop:
    """A new event loop of ``loop_class`` whose servers batch their writes."""
    batching = type(f"Batching{loop_class.__name__}", (BatchingLoop, loop_class), {})
    return cast(asyncio.AbstractEventLoop, batching())
