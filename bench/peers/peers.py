"""Peers for bench/outside.py: WireMock and Prism serving the sandbox's very bytes.

Both come from npm (``npm ci --prefix bench/peers`` installs the versions package.json pins
into bench/peers/node_modules; WireMock runs on the machine's Java). Either is used when
found there or on PATH, and skipped, saying so, when not.

- WireMock: one stub per page matching the method, the exact URL (query included) and the
  ``Authorization`` header, answering the body with the sandbox's own headers; request
  journal and request logging off.
- Prism: a mock from a generated OpenAPI document whose only example per path is the page
  (the body only: Prism adds its own headers); it checks no token (Prism mocks do not
  enforce security), logs at ``error`` only.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
Pages = dict[str, dict[str, Any]]  # path (with query) -> {"token", "body"}


def find(name: str) -> str | None:
    """The command ``name`` from bench/peers/node_modules/.bin, else PATH."""
    local = HERE / "node_modules" / ".bin" / name
    if local.exists():
        return str(local)
    return shutil.which(name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Peer:
    """A peer server in its own process; ``url`` once it answers ``ready``."""

    def __init__(self, name: str, command: list[str], port: int, ready: str) -> None:
        self.name = name
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", delete=False)  # noqa: SIM115
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{name} exited; see {self.log.name}")
            try:
                with urllib.request.urlopen(self.url + ready, timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{name} did not start in 90 s; see {self.log.name}")

    def pids(self) -> list[int]:
        """The peer's process and its children (npm's launcher starts java or node)."""
        found = [self.process.pid]
        for pid in found:
            children = Path(f"/proc/{pid}/task/{pid}/children")
            if children.exists():
                found.extend(int(p) for p in children.read_text().split())
        return found

    def stop(self) -> None:
        for pid in reversed(self.pids()):  # java or node first, then npm's launcher
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def wiremock(pages: Pages, work: Path) -> Peer | None:
    command = find("wiremock")
    if command is None:
        return None
    root = work / "wiremock"
    (root / "mappings").mkdir(parents=True, exist_ok=True)
    for n, (path, page) in enumerate(pages.items()):
        stub = {
            "request": {
                "method": "GET",
                "url": path,
                "headers": {"Authorization": {"equalTo": f"Bearer {page['token']}"}},
            },
            "response": {
                "status": 200,
                "body": json.dumps(page["body"], ensure_ascii=False, separators=(",", ":")),
                "headers": page.get("headers")
                or {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"},
            },
        }
        (root / "mappings" / f"page{n}.json").write_text(json.dumps(stub), encoding="utf-8")
    port = _free_port()
    return Peer(
        "WireMock",
        [
            *(command, "--port", str(port), "--bind-address", "127.0.0.1"),
            *("--root-dir", str(root), "--disable-banner", "--no-request-journal"),
            "--disable-request-logging",
        ],
        port,
        "/__admin/health",
    )


def prism(pages: Pages, work: Path) -> Peer | None:
    command = find("prism")
    if command is None:
        return None
    paths: dict[str, Any] = {}
    for path, page in pages.items():
        paths[urlsplit(path).path] = {
            "get": {
                "responses": {
                    "200": {
                        "description": "the sandbox's page",
                        "content": {"application/json": {"example": page["body"]}},
                    }
                }
            }
        }
    spec = {"openapi": "3.0.3", "info": {"title": "pages", "version": "1"}, "paths": paths}
    document = work / "prism.json"
    document.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    port = _free_port()
    first = next(iter(pages))
    return Peer(
        "Prism",
        [command, "mock", str(document), "--port", str(port), "--host", "127.0.0.1", "-v", "error"],
        port,
        urlsplit(first).path,
    )
