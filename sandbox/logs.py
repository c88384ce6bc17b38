"""Structured logs: one JSON object per line, Japanese kept readable."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import weakref
from collections import deque
from datetime import UTC, datetime
from typing import Any

import orjson

from sandbox.clock import wall_seconds
from sandbox.redact import redact_text

FIELDS = "fields"


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line; ``extra={"fields": {...}}`` is merged in."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact_text(record.getMessage()),
        }
        fields = getattr(record, FIELDS, None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            trace = redact_text(self.formatException(record.exc_info))
            out["error"] = trace.splitlines()[-1]
            out["traceback"] = trace
        return orjson.dumps(out, default=str).decode()


WRITES_PER_SECOND = 50  # of the log writer thread, unless a flush asks for one now
MAX_BATCHES = 1024  # loop iterations' lines queued at most; past it the loop waits for the disk
CHECK_WRITER_AT = 16  # batches queued before the loop checks that the writer thread lives


class LoopBufferedHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Collects the lines of one event-loop iteration; a writer thread writes them, in order.

    A plain StreamHandler writes and flushes once per record, on the event loop: a system
    call per request, and the whole server stalls whenever the file system makes a write
    wait (tens of milliseconds on a busy disk). Here the loop only formats and queues; one
    writer thread writes what has queued, in order, at most WRITES_PER_SECOND times a
    second. An error, a line logged outside a running loop, and :meth:`flush` (logging calls
    it at shutdown) return once everything before them is written. If the disk falls
    MAX_BATCHES behind, the loop waits for it, as it did when it wrote itself.
    """

    def __init__(self) -> None:
        super().__init__()
        self._start_afresh()
        _HANDLERS.add(self)

    def _start_afresh(self) -> None:
        """No line pending, none queued, no writer yet (a new handler, or after fork)."""
        self._pending: list[str] = []  # this iteration's lines, not yet handed over
        self._scheduled_on: asyncio.AbstractEventLoop | None = None  # the loop to hand over
        self._scheduled_by = 0  # the thread that loop runs in
        self._guard = threading.Lock()  # held to touch the queue and the counts below
        self._state = threading.Condition(self._guard)  # what the writer and flush wait on
        self._queue: deque[str] = deque()
        self._sent = self._written = 0  # batches handed to the writer, and written
        self._urgent = False  # a flush waits: write now, not at the next tick
        self._idle = False  # the writer waits for a batch (not pausing between two writes)
        self._writer: threading.Thread | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # pragma: no cover - what logging itself does
            self.handleError(record)
            return
        self.add_line(line, at_once=record.levelno >= logging.ERROR)

    def add_line(self, line: str, *, at_once: bool = False) -> None:
        """Queue a formatted line (the access log formats its own); ``at_once`` writes now."""
        with self.lock:  # type: ignore[union-attr]
            self._pending.append(line)
            scheduled = self._scheduled_on
            # A hand-over scheduled by this thread's running loop takes this line too: only
            # an iteration's first line asks for the loop (each asking is a system call).
            if not at_once and not (
                scheduled is not None
                and self._scheduled_by == threading.get_ident()
                and scheduled.is_running()
            ):
                try:
                    loop = asyncio.get_running_loop()
                except RuntimeError:
                    at_once = True
                else:
                    # A hand-over scheduled on a loop that has since stopped never runs:
                    # a line of another loop schedules its own.
                    if scheduled is not loop:
                        self._scheduled_on, self._scheduled_by = loop, threading.get_ident()
                        loop.call_soon(self._hand_off)
        if at_once:
            self.flush()

    def _hand_off(self) -> None:
        """On the loop: this iteration's lines go to the writer thread."""
        with self.lock:  # type: ignore[union-attr]
            self._scheduled_on = None
            self._send_pending()

    def _send_pending(self) -> None:
        """(Holding self.lock.) The pending lines, as one batch, to the writer."""
        if not self._pending:
            return
        batch = "\n".join(self._pending) + "\n"
        self._pending = []
        with self._guard:  # the condition's own lock, entered without its Python wrapper
            writer = self._writer
            # A writer keeps the queue short: only a long one asks whether it still lives.
            # (It cannot die: _write survives any error, and a fork starts afresh. If it
            # did, the lines would wait for the 16th batch, an error line or a flush.)
            if writer is None or (len(self._queue) >= CHECK_WRITER_AT and not writer.is_alive()):
                writer = self._writer = threading.Thread(
                    target=self._write_batches, name="log-writer", daemon=True
                )
                writer.start()
            while len(self._queue) >= MAX_BATCHES and writer.is_alive():
                self._state.wait(0.1)  # the disk is far behind: wait for it
            self._queue.append(batch)
            self._sent += 1
            # Only an idle writer needs waking, and once: a pausing one, or one woken but not
            # yet running, takes the batch when it gets to the queue. Waking it for every
            # loop iteration would cost the loop a thread switch and a hand-over of the
            # interpreter lock each time.
            if self._idle:
                self._idle = False
                self._state.notify_all()

    def _write_batches(self) -> None:
        while True:
            with self._state:
                while not self._queue:
                    self._idle = True
                    self._state.wait()
                self._idle = False
                batches = list(self._queue)
                self._queue.clear()
            self._write("".join(batches))
            with self._state:
                self._written += len(batches)
                self._state.notify_all()
                # Each write costs the loop a hand-over of the interpreter lock and the file
                # system a write: at most WRITES_PER_SECOND of them, unless a flush waits.
                if not self._urgent:
                    self._state.wait_for(lambda: self._urgent, timeout=1 / WRITES_PER_SECOND)
                self._urgent = False

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except BaseException:  # a closed or broken stream: the writer must live on
            with contextlib.suppress(BaseException):
                self.handleError(logging.makeLogRecord({"msg": "writing the log failed"}))

    def flush(self) -> None:
        """Write every line queued so far; return when they are written."""
        with self.lock:  # type: ignore[union-attr]
            self._scheduled_on = None
            self._send_pending()
        with self._state:
            target = self._sent
            self._urgent = True
            self._state.notify_all()
            while self._written < target:
                if self._writer is None or not self._writer.is_alive():
                    # No writer (it cannot have died, but if it did): write here, in order.
                    batches, self._written = list(self._queue), target
                    self._queue.clear()
                    self._write("".join(batches))
                    break
                self._state.wait(0.5)


_HANDLERS: weakref.WeakSet[LoopBufferedHandler] = weakref.WeakSet()


def _forget_in_child() -> None:
    """After fork: the parent writes what it had queued; the child starts afresh."""
    for handler in list(_HANDLERS):
        handler._start_afresh()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


class MalformedRequests(logging.Filter):
    """aiohttp's "Error handling request" for bytes that are no HTTP: one line, no traceback,
    at most one a second (with a count of those left out), at warning level."""

    def __init__(self, interval: float = 1.0) -> None:
        super().__init__()
        self._interval = interval
        self._last = -interval
        self._dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None or type(exc).__name__ not in _BAD_HTTP:
            return True
        now = wall_seconds()
        if now - self._last < self._interval:
            self._dropped += 1
            return False
        reason = (str(getattr(exc, "message", "") or exc).splitlines() or [""])[0]
        record.msg = "malformed request (%s: %s)%s"
        record.args = (
            type(exc).__name__,
            reason[:120],
            f"; {self._dropped} more since the last such line" if self._dropped else "",
        )
        record.exc_info = None
        record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        self._last, self._dropped = now, 0
        return True


_BAD_HTTP = frozenset(
    {
        "BadHttpMessage",
        "BadHttpMethod",
        "BadStatusLine",
        "InvalidHeader",
        "InvalidURLError",
        "LineTooLong",
        "TransferEncodingError",
        "ContentLengthError",
        "HttpProcessingError",
    }
)
_ACCESS = logging.getLogger("sandbox.access")
_fast: LoopBufferedHandler | None = None


_second_key: int | None = None  # the last whole second formatted
_second_text = ""  # and its date and time
_milli_key: tuple[int, int] | None = None  # the last (second, millisecond) stamped
_milli_text = ""  # and its whole stamp
_milli_inside = (0.0, 0.0)  # the times surely inside that millisecond (none yet)


def _timestamp(seconds: float) -> str:
    """``seconds`` as JsonFormatter writes it (UTC, milliseconds): the date and time are
    formatted once a second, the whole stamp once a millisecond (a busy server logs many
    lines in one)."""
    global _second_key, _second_text, _milli_key, _milli_text, _milli_inside
    if _milli_inside[0] <= seconds < _milli_inside[1]:
        return _milli_text
    whole = int(seconds)
    micros = round((seconds - whole) * 1e6)  # as datetime.fromtimestamp rounds
    if micros >= 1_000_000:
        whole, micros = whole + 1, micros - 1_000_000
    key = (whole, micros // 1000)
    if key == _milli_key:
        return _milli_text
    if whole != _second_key:
        _second_key = whole
        _second_text = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    _milli_key, _milli_text = key, f"{_second_text}.{key[1]:03d}+00:00"
    # Where the same stamp is certain: a microsecond in from both ends of the millisecond,
    # more than the rounding above and a float's precision (a quarter microsecond) can move.
    # (Up to 2**33 s, the year 2242: beyond it a float's step outgrows the margin.)
    start = key[0] + key[1] / 1000
    inside = 0 <= start < 2**33
    _milli_inside = (start + 1e-6, start + 0.001 - 1e-6) if inside else (0.0, 0.0)
    return _milli_text


def access(message: str, fields: dict[str, Any]) -> None:
    """One access-log line: the same JSON a JsonFormatter writes, without a LogRecord.

    Taken only when :func:`configure` set up the one buffered handler and nothing else
    listens to ``sandbox.access``; otherwise an ordinary ``logger.info``. ``message`` must
    hold nothing secret (the caller passes method, path and status; the query's secrets are
    redacted in ``fields``).
    """
    if not _ACCESS.isEnabledFor(logging.INFO):
        return
    handler = _fast
    listening = logging.root.handlers
    if handler is None or _ACCESS.handlers or len(listening) != 1 or listening[0] is not handler:
        _ACCESS.info("%s", message, extra={FIELDS: fields})
        return
    stamp = _timestamp(wall_seconds())
    if _HEAD_KEYS.isdisjoint(fields):
        # The fields' object spliced in after the four head keys: the bytes the merged
        # dict below gives, without building it (this runs for every request).
        # (``message``: method, path and status, what the fields say; no query.)
        head = f"{_HEAD}{stamp}{_LOGGER}{orjson.dumps(message, default=str).decode()}"
        body = orjson.dumps(fields, default=str).decode()
        handler.add_line(f"{head},{body[1:]}" if len(body) > 2 else f"{head}}}")
        return
    out: dict[str, Any] = {
        "ts": stamp,
        "level": "info",
        "logger": "sandbox.access",
        "message": message,
        **fields,  # a field named as a head key takes its place, as JsonFormatter does
    }
    handler.add_line(orjson.dumps(out, default=str).decode())


_HEAD_KEYS = frozenset({"ts", "level", "logger", "message"})
_HEAD = '{"ts":"'
_LOGGER = '","level":"info","logger":"sandbox.access","message":'


def configure(level: str = "INFO") -> None:
    """Send every log record to stderr as JSON lines."""
    # Records never show the caller, thread or process: skip computing them for each one.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    global _fast
    handler = _fast = LoopBufferedHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, MalformedRequests) for f in server.filters):
        server.addFilter(MalformedRequests())
