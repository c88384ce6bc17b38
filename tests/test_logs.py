"""Structured logs: JSON lines with Japanese readable and request fields merged."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from sandbox import logs
from sandbox.logs import FIELDS, JsonFormatter, LoopBufferedHandler


def _record(**extra: object) -> logging.LogRecord:
    record = logging.LogRecord("sandbox.access", logging.INFO, __file__, 1, "GET %s", ("/x",), None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_line_is_json_with_fields_and_readable_japanese() -> None:
    line = JsonFormatter().format(
        _record(**{FIELDS: {"status": 200, "bank": "2011", "note": "本人認証"}})
    )
    data = json.loads(line)
    assert data["message"] == "GET /x"
    assert data["status"] == 200
    assert data["logger"] == "sandbox.access"
    assert "本人認証" in line  # not \\u-escaped
    assert "\n" not in line


def test_exception_is_one_line_with_traceback_field() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    data = json.loads(JsonFormatter().format(record))
    assert data["error"] == "RuntimeError: boom"
    assert "Traceback" in data["traceback"]


def test_secrets_in_free_text_are_masked() -> None:
    record = logging.LogRecord(
        "aiohttp.server",
        logging.ERROR,
        __file__,
        1,
        "Error handling request b'GET /oauth/auth?code=SECRET123&state=ok&pin=1234 HTTP/1.1' "
        "Authorization: Bearer abc.DEF-123",
        (),
        None,
    )
    data = json.loads(JsonFormatter().format(record))
    assert "SECRET123" not in data["message"]
    assert "1234" not in data["message"]
    assert "abc.DEF-123" not in data["message"]
    assert "state=ok" in data["message"]


async def test_lines_of_one_loop_iteration_are_written_together_in_order() -> None:
    stream = io.StringIO()
    handler = LoopBufferedHandler()
    handler.setStream(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for n in range(5):
        handler.emit(_record_of(f"line {n}"))
    assert stream.getvalue() == ""  # held until the loop gets to it
    await asyncio.sleep(0)  # the loop hands them to the writer thread, which writes them
    assert await _written(stream, 5) == [f"line {n}" for n in range(5)]
    handler.emit(_record_of("boom", logging.ERROR))  # errors are not held
    assert stream.getvalue().splitlines()[-1] == "boom"


async def _written(stream: io.StringIO, count: int) -> list[str]:
    """The stream's lines once it holds ``count`` (the writer thread writes them)."""
    for _ in range(200):
        lines = stream.getvalue().splitlines()
        if len(lines) >= count:
            return lines
        await asyncio.sleep(0.01)
    return stream.getvalue().splitlines()


class _SlowStream(io.StringIO):
    """A stream whose every write waits, as a file on a busy disk does."""

    def write(self, text: str) -> int:
        time.sleep(0.05)
        return super().write(text)


async def test_a_slow_log_write_never_holds_the_event_loop_and_loses_no_line() -> None:
    stream = _SlowStream()
    handler = LoopBufferedHandler()
    handler.setStream(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    began = time.perf_counter()
    for n in range(10):  # ten loop iterations, each with a line: ten writes, 0.5 s in all
        handler.emit(_record_of(f"line {n}"))
        await asyncio.sleep(0)
    assert time.perf_counter() - began < 0.1  # the loop went on meanwhile
    handler.flush()  # at shutdown: returns once everything is written
    assert stream.getvalue().splitlines() == [f"line {n}" for n in range(10)]


class _CountingCondition(threading.Condition):
    """A condition that counts how often the writer thread was woken."""

    wakes = 0

    def notify_all(self) -> None:
        self.wakes += 1
        super().notify_all()


async def test_a_pausing_writer_is_not_woken_for_each_iteration_and_loses_no_line() -> None:
    stream = io.StringIO()
    handler = LoopBufferedHandler()
    handler.setStream(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    state = handler._state = _CountingCondition(handler._guard)
    for n in range(300):  # 300 loop iterations, a line in each, within a few pauses
        handler.emit(_record_of(f"line {n}"))
        await asyncio.sleep(0)
    # No flush: an idle writer is woken, a pausing one takes what queued when its pause ends.
    assert await _written(stream, 300) == [f"line {n}" for n in range(300)]
    assert state.wakes < 100  # not once per iteration (each wake: a thread switch)


def test_outside_a_loop_every_line_is_written_at_once() -> None:
    stream = io.StringIO()
    handler = LoopBufferedHandler()
    handler.setStream(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.emit(_record_of("alone"))
    assert stream.getvalue() == "alone\n"


async def test_a_line_of_another_thread_is_written_at_once_while_the_loop_holds_its_own() -> None:
    stream = io.StringIO()
    handler = LoopBufferedHandler()
    handler.setStream(stream)
    handler.add_line("loop 1")  # the loop's hand-over is scheduled, not yet run
    other = threading.Thread(target=handler.add_line, args=("from a thread",))
    other.start()
    other.join()
    # The thread's line returned written, after the loop's line before it.
    assert stream.getvalue() == "loop 1\nfrom a thread\n"
    handler.add_line("loop 2")
    assert stream.getvalue().endswith("from a thread\n")  # the loop's next line is held
    await asyncio.sleep(0)
    assert await _written(stream, 3) == ["loop 1", "from a thread", "loop 2"]


def _record_of(message: str, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("sandbox.access", level, __file__, 1, message, (), None)


@contextlib.contextmanager
def _configured_log() -> Iterator[io.StringIO]:
    """The log as ``configure`` sets it up, its one handler writing to a string (the root
    logger's handlers and level restored after)."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        logs.configure("INFO")
        handler = root.handlers[0]
        assert isinstance(handler, LoopBufferedHandler)
        stream = io.StringIO()
        handler.setStream(stream)
        yield stream
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])


async def test_access_lines_take_the_fast_path_with_the_same_json() -> None:
    with _configured_log() as stream:
        logs.access("GET /x 200", {"status": 200, "note": "本人認証"})
        logs.access("GET /y 404", {"status": 404})
        await asyncio.sleep(0)
        first, second = (json.loads(line) for line in await _written(stream, 2))
    assert first["logger"] == "sandbox.access"
    assert first["level"] == "info"
    assert first["message"] == "GET /x 200"
    assert (first["status"], first["note"]) == (200, "本人認証")
    assert second["message"] == "GET /y 404"
    assert first["ts"] <= second["ts"]


@pytest.mark.parametrize(
    "fields",
    [
        {"status": 200, "params": {"q": "本人"}, "rule": None, "ms": 0.12},
        {},
        {"message": "a field of a head key's name takes its place", "status": 500},
    ],
)
async def test_an_access_line_is_the_formatters_json_key_for_key(fields: dict[str, object]) -> None:
    with _configured_log() as stream:
        logs.access('GET /x?"q" 200', fields)
        await asyncio.sleep(0)
        (line,) = await _written(stream, 1)
    record = _record_of('GET /x?"q" 200')
    setattr(record, FIELDS, fields)
    expected = json.loads(JsonFormatter().format(record))
    found = json.loads(line)
    found["ts"] = expected["ts"] = "-"  # (read at different moments)
    assert list(found.items()) == list(expected.items())


def test_a_malformed_request_is_one_line_without_traceback_at_most_once_a_second() -> None:
    from aiohttp.http_exceptions import BadHttpMessage

    flt = logs.MalformedRequests(interval=60)

    def record() -> logging.LogRecord:
        try:
            raise BadHttpMessage("Invalid character in Content-Length:\n\n  b'x'")
        except BadHttpMessage:
            import sys

            return logging.LogRecord(
                "aiohttp.server",
                logging.ERROR,
                __file__,
                1,
                "Error handling request",
                (),
                sys.exc_info(),
            )

    first = record()
    assert flt.filter(first)
    assert first.exc_info is None
    assert first.levelname == "WARNING"
    message = first.getMessage()
    assert message.startswith("malformed request (BadHttpMessage: ")
    assert "Invalid character in Content-Length" in message
    assert "\n" not in message
    assert not flt.filter(record())  # the next one within the interval is left out
    other = logging.LogRecord("aiohttp.server", logging.ERROR, __file__, 1, "other", (), None)
    assert flt.filter(other)  # anything else passes untouched
    assert other.levelname == "ERROR"


def test_access_timestamps_read_as_the_formatter_writes_them() -> None:
    import random
    from datetime import UTC, datetime

    chance = random.Random(13)
    moments = [1_764_547_200.0, 1_764_547_200.9999996, 1_891_365_382.0049999]
    moments += [chance.uniform(1.7e9, 1.9e9) for _ in range(20_000)]
    for moment in moments:  # the fast path keeps the last second; seconds go back and forth
        expected = datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")
        assert logs._timestamp(moment) == expected
    # A busy server's clock walking across millisecond boundaries, a tenth of a microsecond
    # at a time near each (where the remembered millisecond must not be taken).
    for boundary in range(1_764_547_200_000, 1_764_547_200_040):
        for tenths in range(-20, 21):
            moment = boundary / 1000 + tenths * 1e-7
            expected = datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")
            assert logs._timestamp(moment) == expected, moment
    # Far in the future a float's step outgrows the margin: no millisecond is remembered
    # there, and coming back does not find the one remembered before.
    for moment in (1_764_547_200.5, 26_130_205_032.3005, 26_130_205_032.3, 1_764_547_200.5002):
        expected = datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")
        assert logs._timestamp(moment) == expected, moment


def test_a_broken_stream_keeps_the_writer_alive_and_flush_returning() -> None:
    handler = LoopBufferedHandler()
    broken = io.StringIO()
    handler.setStream(broken)
    broken.close()  # every write now raises ValueError
    saved, sys.stderr = sys.stderr, broken  # and so does logging's own error report
    try:
        handler.add_line("lost")  # outside a loop: flush, which must return
    finally:
        sys.stderr = saved
    stream = io.StringIO()
    handler.setStream(stream)
    handler.add_line("after")
    assert stream.getvalue() == "after\n"


def test_lines_of_a_new_loop_go_out_when_an_old_loop_stopped_before_its_hand_over() -> None:
    handler = LoopBufferedHandler()
    stream = io.StringIO()
    handler.setStream(stream)
    loop = asyncio.new_event_loop()

    async def log_then_stop() -> None:
        handler.add_line("in the old loop")
        loop.stop()  # before the hand-over runs

    task = loop.create_task(log_then_stop())
    loop.run_forever()
    assert task.done()
    loop.close()

    async def later() -> list[str]:
        for n in range(3):
            handler.add_line(f"later {n}")
        await asyncio.sleep(0)
        return await _written(stream, 4)

    assert asyncio.run(later()) == ["in the old loop", "later 0", "later 1", "later 2"]


def test_an_error_line_does_not_wait_for_the_writers_next_tick() -> None:
    handler = LoopBufferedHandler()
    handler.setStream(io.StringIO())
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.emit(_record_of("first"))  # starts the writer, which then rests a tick
    began = time.perf_counter()
    for n in range(5):
        handler.emit(_record_of(f"boom {n}", logging.ERROR))
    assert (time.perf_counter() - began) / 5 < 0.01  # a tick is 20 ms
