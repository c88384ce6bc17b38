"""compose.yaml: PostgreSQL, two sandbox replicas and nginx, checked by a real Compose parser."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def _config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("docker-compose")
    if tool is None:
        reason = "docker-compose (Debian package) is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
    return subprocess.run(
        [tool, "-f", str(ROOT / "compose.yaml"), "config"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_compose_file_is_valid_and_runs_two_replicas_on_postgresql() -> None:
    done = _config({"SANDBOX_SECRET_KEY": "s" * 32})
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = yaml.safe_load(done.stdout)
    services = config["services"]
    assert set(services) == {"postgres", "migrate", "sandbox", "nginx"}
    sandbox = services["sandbox"]
    assert sandbox["deploy"]["replicas"] == 2
    assert sandbox["environment"]["SANDBOX_STORE"].startswith("postgresql://")
    assert sandbox["environment"]["SANDBOX_SECRET_KEY"] == "s" * 32
    assert sandbox["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["command"] == ["sandbox", "db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    # State survives a restart: it lives in PostgreSQL, on a named volume.
    assert "pgdata" in config["volumes"]
    assert services["postgres"]["volumes"][0].startswith("pgdata:")
    nginx = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    assert "server sandbox:8080" in nginx
    assert "proxy_pass http://sandbox;" in nginx


def test_compose_refuses_to_start_without_a_secret_key() -> None:
    done = _config({})
    assert done.returncode != 0
    assert "SANDBOX_SECRET_KEY" in done.stderr
