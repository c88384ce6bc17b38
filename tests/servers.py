"""Real `sandbox serve` processes for tests: started as a user starts them, on loopback."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from sandbox.pytest_plugin import ServeProcess

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


class Server(ServeProcess):
    """One `sandbox serve` process with ``args``, this environment plus ``env``."""

    def __init__(self, args: list[str], env: Mapping[str, str]) -> None:
        super().__init__(args, {**os.environ, **env})

    def kill9(self) -> None:
        """SIGKILL: no shutdown, no flush, as a crash or an OOM kill would do."""
        self.process.send_signal(signal.SIGKILL)
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
