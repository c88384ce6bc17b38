"""Host names: a DNS-rebinding page (its own domain resolving to 127.0.0.1) is refused."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from sandbox.settings import Settings
from sandbox.web.app import create_app
from tests.web.conftest import make_scenario


async def _client(**settings: Any) -> TestClient[Any, Any]:
    app = create_app(
        Settings(secret_key=b"k" * 32, **settings), scenarios=[(make_scenario(), "<test>")]
    )
    client: TestClient[Any, Any] = TestClient(TestServer(app))  # raw: 421 is no API answer
    await client.start_server()
    return client


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/_sandbox/reset", "POST"),
        ("/_sandbox/customers", "GET"),
        ("/parasol/v1/banks/2011/accounts", "GET"),
    ],
)
async def test_a_rebinding_host_is_refused_before_anything_runs(path: str, method: str) -> None:
    client = await _client()
    try:
        headers = {"Host": "attacker.example:8080", "Origin": "http://attacker.example:8080"}
        response = await client.request(method, path, headers=headers)
        assert response.status == 421
        assert (await response.json())["error"] == "misdirected_request"
    finally:
        await client.close()


@pytest.mark.parametrize(
    "host", ["127.0.0.1:8080", "localhost:8080", "[::1]:8080", "192.168.1.20:8080", "sandbox.test"]
)
async def test_ip_addresses_localhost_and_configured_names_are_served(host: str) -> None:
    client = await _client(allowed_hosts=("sandbox.test",))
    try:
        response = await client.get("/_sandbox/health", headers={"Host": host})
        assert response.status == 200
    finally:
        await client.close()


async def test_the_public_urls_host_is_served() -> None:
    client = await _client(public_url="https://sandbox.example.jp")
    try:
        ok = await client.get("/_sandbox/health", headers={"Host": "sandbox.example.jp"})
        assert ok.status == 200
        other = await client.get("/_sandbox/health", headers={"Host": "elsewhere.example.jp"})
        assert other.status == 421
    finally:
        await client.close()


async def test_behind_https_the_session_cookie_is_secure_and_host_only() -> None:
    client = await _client(public_url="https://sandbox.example.jp")
    try:
        query = "response_type=code&client_id=app-1&redirect_uri=https://app.example/callback"
        response = await client.get(
            f"/parasol/v1/banks/2011/oauth/auth?{query}",
            headers={"Host": "sandbox.example.jp"},
            allow_redirects=False,
        )
        assert response.status == 303
        cookie = response.headers["Set-Cookie"]
        assert cookie.startswith("__Host-SANDBOX_SESSION=")
        assert "; Secure" in cookie
        assert "; Path=/;" in cookie
        value = cookie.split(";", 1)[0]
        screen = await client.get(
            response.headers["Location"], headers={"Host": "sandbox.example.jp", "Cookie": value}
        )
        assert screen.status == 200  # the linkage is this browser's
        assert "script-src 'self'" in screen.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in screen.headers["Content-Security-Policy"]
    finally:
        await client.close()
