"""The command line: validate, scenarios, schema (serve is covered by bench/startup.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from sandbox.__main__ import main
from sandbox.scenario.loader import schema_text
from sandbox.settings import DEFAULT_HOST, DEFAULT_PORT, Settings, derive_secret
from tests.servers import Server

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "scenarios" / "default.yaml"
BAD = """\
bank:
  code: 2011
customers:
  - name_kanji: 出田 太郎
    name_kana: ﾃﾞｰﾀ ﾀﾛｳ
    birth_date: 1980-13-45
    phone: "090-1234-5678"
    email: taro@example.jp
    accounts:
      - {branch: "001", number: "1234567", pin: 0123}
"""


def test_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(DEFAULT)]) == 0
    assert capsys.readouterr().out == f"OK {DEFAULT} (1014 customers, 2 clients, 0 rules)\n"


def test_validate_reports_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD, encoding="utf-8")
    assert main(["validate", str(DEFAULT), str(bad)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"OK {DEFAULT} ")
    assert lines[1:] == [
        f'{bad}:2:9: bank.code: must be a quoted string, e.g. code: "2011"',
        f"{bad}:6:17: customers[0].birth_date: expected a date YYYY-MM-DD, got '1980-13-45'"
        " (month value is outside expected range of 1-12)",
        f'{bad}:10:49: customers[0].accounts[0].pin: must be a quoted string, e.g. pin: "0123"',
    ]


def test_validate_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 1
    assert "cannot read file" in capsys.readouterr().out


def test_validate_as_a_module(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nname: y\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "validate", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == f"{bad}:2:1: name: duplicate key 'name' (YAML keeps only the last)\n"


def test_scenarios_lists_bundled(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenarios"]) == 0
    lines = capsys.readouterr().out.splitlines()
    default = next(line for line in lines if line.split()[0] == "default")
    assert default.split(maxsplit=1)[1].startswith("Real time")


def test_schema_to_stdout_and_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert capsys.readouterr().out == schema_text()
    target = tmp_path / "schema.json"
    assert main(["schema", "--output", str(target)]) == 0
    assert json.loads(target.read_text(encoding="utf-8"))["type"] == "object"


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "serve" in capsys.readouterr().out


def test_serve_refuses_an_invalid_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD, encoding="utf-8")
    assert main(["serve", "--scenario", str(bad)]) == 2
    assert "bank.code" in capsys.readouterr().err


def test_serve_names_an_unreadable_scenario_in_one_line(tmp_path: Path) -> None:
    code, lines = _serve_lines("--port", "0", "--scenario", str(tmp_path / "missing.yaml"))
    assert code == 2
    (line,) = lines
    assert line.startswith(f"{tmp_path / 'missing.yaml'}:1:1: cannot read file")


def test_settings_defaults() -> None:
    settings = Settings.from_env({})
    assert (settings.host, settings.port, settings.scenario_paths) == (
        DEFAULT_HOST,
        DEFAULT_PORT,
        (),
    )
    assert len(settings.secret_key) == 32
    assert settings.secret_key == Settings().secret_key  # one random key per process
    assert "secret_key" not in repr(settings)


def test_settings_from_env() -> None:
    env = {
        "SANDBOX_HOST": "0.0.0.0",
        "SANDBOX_PORT": "9000",
        "SANDBOX_SCENARIO": os.pathsep.join(["a.yaml", "b.yaml"]),
        "SANDBOX_SECRET_KEY": "correct horse",
        "SANDBOX_LOG_LEVEL": "debug",
        "SANDBOX_ACCESS_LOG": "0",
        "SANDBOX_PUBLIC_URL": "https://sandbox.example/",
    }
    settings = Settings.from_env(env)
    assert settings.public_url == "https://sandbox.example"
    assert settings.host == "0.0.0.0"
    assert settings.port == 9000
    assert settings.scenario_paths == (Path("a.yaml"), Path("b.yaml"))
    assert settings.secret_key == derive_secret("correct horse")
    assert settings.log_level == "DEBUG"
    assert not settings.access_log


def test_settings_bad_port() -> None:
    with pytest.raises(ValueError, match="SANDBOX_PORT"):
        Settings.from_env({"SANDBOX_PORT": "http"})


def _serve_lines(*args: str) -> tuple[int, list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    return done.returncode, done.stderr.strip().splitlines()


def test_a_port_in_use_is_one_line_and_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        code, lines = _serve_lines("--port", str(taken.getsockname()[1]))
    assert code == 2
    assert len(lines) == 1
    assert lines[0].startswith("sandbox serve: cannot listen on 127.0.0.1:")


def test_a_bad_port_is_one_line_and_exit_2() -> None:
    assert _serve_lines("--port", "99999") == (
        2,
        ["sandbox serve: --port must be 0-65535 (0: any free port), not 99999"],
    )


def test_two_scenarios_for_one_bank_code_are_one_line_and_exit_2(tmp_path: Path) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(DEFAULT.read_text(encoding="utf-8"), encoding="utf-8")
    second.write_text(DEFAULT.read_text(encoding="utf-8"), encoding="utf-8")
    code, lines = _serve_lines("--port", "0", "--scenario", str(first), str(second))
    assert code == 2
    assert lines == [f"sandbox serve: {second}: bank code 2011 is already loaded (from {first})"]


def test_a_bad_client_is_one_line_and_exit_2() -> None:
    code, lines = _serve_lines("--port", "0", "--client", "my-app:short:http://127.0.0.1/cb")
    assert code == 2
    (line,) = lines
    assert line.startswith("sandbox serve: --client 'my-app': client_secret")


async def test_a_bundled_name_and_a_client_serve_at_once() -> None:
    server = Server(
        [
            "--port",
            "0",
            "--scenario",
            "lockout",
            "congestion",
            "--client",
            "my-app:my-secret-123:http://127.0.0.1:3000/callback",
        ],
        {"SANDBOX_ACCESS_LOG": "0"},
    )
    try:
        async with aiohttp.ClientSession(base_url=server.url) as session:
            for bank in ("2014", "2012"):
                for client_id, redirect in (
                    ("my-app", "http://127.0.0.1:3000/callback"),
                    ("demo-app", "http://127.0.0.1:8765/callback"),
                ):
                    response = await session.get(
                        f"/parasol/v1/banks/{bank}/oauth/auth",
                        params={
                            "response_type": "code",
                            "client_id": client_id,
                            "redirect_uri": redirect,
                            "state": "s",
                        },
                        allow_redirects=False,
                    )
                    assert response.status == 303, (bank, client_id)
    finally:
        server.stop()
