"""Real `sandbox serve` processes for tests: started as a user starts them, on loopback."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

_RUNNING = re.compile(r"Running on (http://127\.0\.0\.1:\d+)")
SECRET = "a-test-secret-that-is-long-enough-for-sessions"


def postgres_url() -> str:
    """The PostgreSQL server the tests may use; skip (fail under CI=true) without one."""
    url = os.environ.get("SANDBOX_TEST_POSTGRES")
    if not url:
        reason = 'no PostgreSQL: set SANDBOX_TEST_POSTGRES (`eval "$(.ci/postgres start)"`)'
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return url


class Server:
    """One `sandbox serve` process; ``url`` once it listens."""

    def __init__(self, args: list[str], env: Mapping[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "serve", *args],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []
        self.url = self._wait_for_url(timeout=30)

    def _wait_for_url(self, timeout: float) -> str:
        assert self.process.stdout is not None
        found: list[str] = []
        stream = self.process.stdout

        def read() -> None:
            for line in stream:
                self.output.append(line)
                match = _RUNNING.search(line)
                if match and not found:
                    found.append(match[1])

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while not found and time.monotonic() < deadline and self.process.poll() is None:
            time.sleep(0.02)
        if not found:
            self.process.kill()
            self.process.wait(timeout=10)
            self._close()
            raise AssertionError("sandbox serve did not start:\n" + "".join(self.output)[-3000:])
        return found[0]

    def kill9(self) -> None:
        """SIGKILL: no shutdown, no flush, as a crash or an OOM kill would do."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._close()

    def _close(self) -> None:
        self._reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._close()


@contextmanager
def serving(
    store: str, scenario: Path, *extra: str, env: Mapping[str, str] | None = None
) -> Iterator[Server]:
    """A server on ``store`` with ``scenario``, on a port the kernel picks; stopped after."""
    server = Server(
        ["--port", "0", "--store", store, "--scenario", str(scenario), *extra],
        {"SANDBOX_SECRET_KEY": SECRET, "SANDBOX_ACCESS_LOG": "0", **(env or {})},
    )
    try:
        yield server
    finally:
        server.stop()
