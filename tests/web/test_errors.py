"""One error pipeline: each surface renders its errors one way, crashes included."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from sandbox.tenant.tenant import Tenant
from tests.web.conftest import APP, BANK, TARO, link_and_redeem

Client = TestClient[Any, Any]
ACCOUNTS = f"/parasol/v1/banks/{BANK}/accounts"


async def _bearer(client: Client) -> dict[str, str]:
    return await link_and_redeem(client, TARO)


@pytest.mark.parametrize(
    ("error", "status", "challenge_error"),
    [
        ("reauth_required", 401, 'error="invalid_token"'),
        ("invalid_token", 401, 'error="invalid_token"'),
        ("wrong_identity", 401, None),
        ("account_transferred", 403, None),
        ("locked", 403, None),
    ],
)
async def test_every_401_and_403_of_the_data_api_carries_a_bearer_challenge(
    client: Client, error: str, status: int, challenge_error: str | None
) -> None:
    headers = await _bearer(client)
    armed = await client.post("/_sandbox/rules", json={"on": "api", "error": error})
    assert armed.status == 201
    response = await client.get(ACCOUNTS, headers=headers)
    assert response.status == status
    assert (await response.json())["error_code"] == error
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith(f'Bearer realm="parasol/v1/banks/{BANK}"')
    if challenge_error is not None:
        assert challenge_error in challenge
    else:
        assert "error=" not in challenge


async def test_a_crash_on_the_data_api_is_internal_error_logged_once_with_traceback(
    client: Client, sandbox: Tenant, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    headers = await _bearer(client)

    def broken(*args: object) -> int:
        raise RuntimeError("ledger exploded")

    monkeypatch.setattr(sandbox.ledger, "balance_at", broken)
    with caplog.at_level(logging.ERROR, logger="sandbox.web"):
        response = await client.get(ACCOUNTS, headers=headers)
    assert response.status == 500
    body = await response.json()
    assert body["error_code"] == "internal_error"  # not the bank's injectable system_error
    assert "ledger exploded" not in await response.text()
    crashes = [r for r in caplog.records if r.name == "sandbox.web"]
    assert len(crashes) == 1
    assert crashes[0].exc_info is not None
    assert "ledger exploded" in str(crashes[0].exc_info[1])


async def test_a_crash_at_the_token_endpoint_answers_an_oauth_server_error(
    client: Client, sandbox: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object) -> dict[str, object]:
        raise RuntimeError("store unreachable")

    monkeypatch.setattr(sandbox.oauth, "exchange_code", broken)
    response = await client.post(
        f"/parasol/v1/banks/{BANK}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": "c",
            "redirect_uri": APP["redirect_uri"],
            "client_id": APP["client_id"],
            "client_secret": "secret-one-123",
        },
    )
    assert response.status == 500
    body = await response.json()
    assert (body["error"], body["error_description"]) == ("server_error", "internal_error")


async def test_a_crash_on_a_screen_shows_the_error_page(
    client: Client, sandbox: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object) -> object:
        raise RuntimeError("linkage store gone")

    monkeypatch.setattr(sandbox.linkage, "start", broken)
    query = "response_type=code&client_id=app-1&redirect_uri=https://app.example/callback"
    response = await client.get(f"/parasol/v1/banks/{BANK}/oauth/auth?{query}")
    assert response.status == 500
    assert response.content_type == "text/html"
    assert "internal_error" in await response.text()


async def test_a_path_parameter_cannot_turn_an_api_error_into_a_page(client: Client) -> None:
    headers = await _bearer(client)
    for path in (f"{ACCOUNTS}/x%2Flinkage%2Fy", f"{ACCOUNTS}/oauth%2Fauth"):
        response = await client.get(path, headers=headers)
        assert response.status == 404, path
        assert response.content_type == "application/json", path


async def test_a_warning_raised_as_an_error_is_no_system_error(
    client: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Under filterwarnings=error a library warning inside an in-process server is named."""
    import warnings

    import sandbox.web.data_api

    headers = await link_and_redeem(client, TARO)

    def warns(*args: Any) -> Any:
        warnings.warn("old API", DeprecationWarning, stacklevel=1)

    monkeypatch.setattr(sandbox.web.data_api, "_account_body", warns)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        response = await client.get(f"/parasol/v1/banks/{BANK}/accounts", headers=headers)
    assert response.status == 500
    assert (await response.json())["error_code"] == "internal_error"
    assert "DeprecationWarning was raised as an error" in caplog.text
    assert "system_error" not in await response.text()


async def test_the_journal_keeps_what_an_error_answered_and_no_success_body(client: Any) -> None:
    headers = await link_and_redeem(client, TARO)  # a token response: never kept
    await client.get(f"/parasol/v1/banks/{BANK}/accounts", headers={"Authorization": "Bearer x"})
    entries = (await (await client.get("/_sandbox/journal")).json())["entries"]
    token = [e for e in entries if e["path"].endswith("/oauth/token")][-1]
    assert token["status"] == 200
    assert token["response"] == ""
    refused = entries[-1]
    assert refused["status"] == 401
    assert '"error_code":"invalid_token"' in refused["response"]
    assert headers["Authorization"].split()[1] not in str(entries)
