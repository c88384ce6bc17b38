"""The pytest plugin as a vendor installs it: a fresh venv, `pip install` the sandbox and
pytest, nothing configured, a plain synchronous test file. Slow (it installs from PyPI), so
it runs under CI=true or SANDBOX_TEST_FRESH_VENV=1 and says so otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENDOR_TEST = """
import json
import urllib.request


def test_health(sandbox_url):
    with urllib.request.urlopen(sandbox_url + "/_sandbox/health") as response:
        assert json.load(response)["banks"][0]["bank"] == "2011"


def test_the_console_ships_with_the_package(sandbox_url):
    with urllib.request.urlopen(sandbox_url + "/_sandbox/console") as response:
        assert 'id="journal"' in response.read().decode()


def test_link_without_screens(sandbox_url):
    body = json.dumps({"client_id": "demo-app", "customer": "taro", "tokens": True}).encode()
    request = urllib.request.Request(
        sandbox_url + "/_sandbox/links", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request) as response:
        assert json.load(response)["token_type"] == "Bearer"
"""


def test_a_fresh_venv_needs_only_pip_install(tmp_path: Path) -> None:
    if os.environ.get("CI") != "true" and not os.environ.get("SANDBOX_TEST_FRESH_VENV"):
        pytest.skip("installs from PyPI into a new venv: set CI=true or SANDBOX_TEST_FRESH_VENV=1")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(ROOT), "pytest"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_vendor.py").write_text(VENDOR_TEST, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SANDBOX_", "PYTHON"))}
    run = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-W", "error", "-p", "no:cacheprovider"],
        cwd=suite,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "3 passed" in run.stdout
