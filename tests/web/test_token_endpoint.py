"""The token, revoke, introspect and metadata endpoints over HTTP."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import quote_plus

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from multidict import CIMultiDict

from sandbox.clock import JST
from sandbox.domain.oauth import pkce
from sandbox.domain.oauth.errors import BearerError
from sandbox.errors import CATALOG
from sandbox.scenario.model import ClientModel, ClockModel, RuleModel, Scenario
from sandbox.tenant.tenant import Tenant
from tests.web.conftest import make_app, tenant_of

BANK = "2011"
BASE = f"/parasol/v1/banks/{BANK}/oauth"
REDIRECT = "https://app.example/cb"
SECRET = "s3cret:+/ é"  # needs form-encoding inside HTTP Basic
VERIFIER = "verifier-" + "x" * 40

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Awaitable[Client]]


@pytest.fixture
def scenario() -> Scenario:
    return Scenario(
        clock=ClockModel(start=datetime(2025, 4, 1, 10, 0, tzinfo=JST), frozen=True),
        clients=[
            ClientModel(client_id="app", client_secret=SECRET, redirect_uris=[REDIRECT]),
            ClientModel(client_id="other", client_secret="other-secret", redirect_uris=[REDIRECT]),
            ClientModel(
                client_id="no-refresh",
                client_secret="no-refresh-secret",
                redirect_uris=[REDIRECT],
                grant_types=["authorization_code"],
            ),
        ],
    )


@pytest.fixture
async def client(aiohttp_client: MakeClient, scenario: Scenario) -> Client:
    return await aiohttp_client(make_app(scenario))


@pytest.fixture
async def sandbox(client: Client) -> Tenant:
    return await tenant_of(client, BANK)


async def issue_code(sandbox: Tenant, **extra: str) -> str:
    params = {"response_type": "code", "client_id": "app", "redirect_uri": REDIRECT, **extra}
    request = sandbox.oauth.validate_authorize(params)
    now = await sandbox.clock.now()
    return await sandbox.oauth.issue_code(request, "C001", ("001-1-1234567",), now)


def basic(client_id: str = "app", secret: str = SECRET) -> dict[str, str]:
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def code_form(code: str, **extra: str) -> dict[str, str]:
    return {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, **extra}


async def post(
    client: Client, endpoint: str, data: Any, headers: dict[str, str] | None = None
) -> tuple[int, Any, Any]:
    response = await client.post(f"{BASE}/{endpoint}", data=data, headers=headers)
    body = await response.json() if response.content_type == "application/json" else None
    return response.status, body, response.headers


async def test_code_exchange_with_basic_auth(client: Client, sandbox: Tenant) -> None:
    status, body, headers = await post(
        client, "token", code_form(await issue_code(sandbox)), basic()
    )
    assert status == 200, body
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "accounts"
    assert {"access_token", "refresh_token", "refresh_token_expires_in"} <= body.keys()
    assert headers["Cache-Control"] == "no-store"
    assert headers["Pragma"] == "no-cache"
    grant = await sandbox.oauth.authenticate_bearer(body["access_token"], await sandbox.clock.now())
    assert grant.customer_id == "C001"


async def test_code_exchange_with_post_auth(client: Client, sandbox: Tenant) -> None:
    form = code_form(await issue_code(sandbox), client_id="app", client_secret=SECRET)
    status, body, _ = await post(client, "token", form)
    assert status == 200, body


@pytest.mark.parametrize(
    "headers",
    [basic(secret="wrong-secret"), basic(client_id="nobody"), {"Authorization": "Bearer x"}],
)
async def test_bad_basic_credentials_get_401(
    client: Client, sandbox: Tenant, headers: dict[str, str]
) -> None:
    status, body, response_headers = await post(
        client, "token", code_form(await issue_code(sandbox)), headers
    )
    assert status == 401
    assert body["error"] == "invalid_client"
    assert response_headers["WWW-Authenticate"].startswith("Basic realm=")
    assert response_headers["Cache-Control"] == "no-store"


async def test_wrong_post_secret_gets_401(client: Client, sandbox: Tenant) -> None:
    form = code_form(await issue_code(sandbox), client_id="app", client_secret="wrong-secret")
    status, body, _ = await post(client, "token", form)
    assert (status, body["error"]) == (401, "invalid_client")
    status, body, _ = await post(client, "token", code_form(await issue_code(sandbox)))
    assert (status, body["error"]) == (401, "invalid_client")


async def test_code_reuse_revokes_tokens(client: Client, sandbox: Tenant) -> None:
    form = code_form(await issue_code(sandbox))
    _, first, _ = await post(client, "token", form, basic())
    status, body, _ = await post(client, "token", form, basic())
    assert (status, body["error"]) == (400, "invalid_grant")
    with pytest.raises(BearerError):
        await sandbox.oauth.authenticate_bearer(first["access_token"], await sandbox.clock.now())


async def test_expired_code(client: Client, sandbox: Tenant) -> None:
    code = await issue_code(sandbox)
    await sandbox.clock.advance(61)
    status, body, _ = await post(client, "token", code_form(code), basic())
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_redirect_mismatch(client: Client, sandbox: Tenant) -> None:
    form = code_form(await issue_code(sandbox), redirect_uri="https://evil.example/cb")
    status, body, _ = await post(client, "token", form, basic())
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_pkce_over_http(client: Client, sandbox: Tenant) -> None:
    challenge = {"code_challenge": pkce.s256(VERIFIER), "code_challenge_method": "S256"}
    form = code_form(await issue_code(sandbox, **challenge), code_verifier=VERIFIER)
    status, body, _ = await post(client, "token", form, basic())
    assert status == 200, body
    form = code_form(await issue_code(sandbox, **challenge), code_verifier="y" * 43)
    status, body, _ = await post(client, "token", form, basic())
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_refresh_rotation_and_reuse(client: Client, sandbox: Tenant) -> None:
    _, first, _ = await post(client, "token", code_form(await issue_code(sandbox)), basic())
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    status, second, headers = await post(client, "token", refresh, basic())
    assert status == 200, second
    assert second["refresh_token"] != first["refresh_token"]
    assert headers["Cache-Control"] == "no-store"
    status, body, _ = await post(client, "token", refresh, basic())
    assert (status, body["error"]) == (400, "invalid_grant")
    rotated = {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}
    status, body, _ = await post(client, "token", rotated, basic())
    assert (status, body["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize(
    ("data", "headers", "error"),
    [
        ({"grant_type": "password", "username": "u"}, basic(), "unsupported_grant_type"),
        ({"code": "x"}, basic(), "invalid_request"),
        ({"grant_type": "authorization_code"}, basic(), "invalid_request"),
        ("grant_type=refresh_token&grant_type=refresh_token", basic(), "invalid_request"),
        (b"grant_type=%ff", basic(), "invalid_request"),
        (b"grant_type=\xff", basic(), "invalid_request"),
        ({"grant_type": "authorization_code"}, {"Authorization": "Basic !!!"}, "invalid_request"),
        ({"grant_type": "authorization_code"}, {"Authorization": "Basic bm9jb2xvbg=="}, None),
        ({"client_secret": SECRET, "grant_type": "refresh_token"}, basic(), "invalid_request"),
        ({"client_id": "other", "grant_type": "refresh_token"}, basic(), "invalid_request"),
    ],
)
async def test_malformed_requests_get_400(
    client: Client, data: Any, headers: dict[str, str], error: str | None
) -> None:
    if isinstance(data, str | bytes):
        headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    status, body, _ = await post(client, "token", data, headers)
    assert status == 400
    assert body["error"] == (error or "invalid_request")
    assert body["error_description"]


async def test_two_authorization_headers_are_refused(client: Client) -> None:
    headers = CIMultiDict([*basic().items(), *basic("other", "other-secret").items()])
    response = await client.post(f"{BASE}/token", data={"grant_type": "x"}, headers=headers)
    assert response.status == 400
    assert (await response.json())["error"] == "invalid_request"


async def test_json_body_is_refused(client: Client, sandbox: Tenant) -> None:
    response = await client.post(
        f"{BASE}/token", json=code_form(await issue_code(sandbox)), headers=basic()
    )
    assert response.status == 400
    assert (await response.json())["error"] == "invalid_request"


async def test_unknown_bank(client: Client) -> None:
    response = await client.post("/parasol/v1/banks/9999/oauth/token", data={}, headers=basic())
    assert response.status == 404
    assert (await response.json())["error"] == "invalid_request"
    response = await client.get("/.well-known/oauth-authorization-server/parasol/v1/banks/9999")
    assert response.status == 404


async def test_revoke_and_introspect(client: Client, sandbox: Tenant) -> None:
    _, tokens, _ = await post(client, "token", code_form(await issue_code(sandbox)), basic())
    status, info, _ = await post(client, "introspect", {"token": tokens["access_token"]}, basic())
    assert status == 200
    assert info["active"] is True
    assert info["client_id"] == "app"
    assert info["sub"] == "C001"
    assert info["accounts"] == ["001-1-1234567"]
    other = basic("other", "other-secret")
    _, info, _ = await post(client, "introspect", {"token": tokens["access_token"]}, other)
    assert info == {"active": False}
    status, _, _ = await post(client, "revoke", {"token": "never-issued"}, basic())
    assert status == 200
    data = {"token": tokens["refresh_token"], "token_type_hint": "refresh_token"}
    status, _, _ = await post(client, "revoke", data, basic())
    assert status == 200
    _, info, _ = await post(client, "introspect", {"token": tokens["access_token"]}, basic())
    assert info == {"active": False}
    status, body, _ = await post(client, "revoke", {}, basic())
    assert (status, body["error"]) == (400, "invalid_request")
    status, body, _ = await post(client, "revoke", {"token": "x"}, basic(secret="bad-secret"))
    assert (status, body["error"]) == (401, "invalid_client")


async def test_metadata(client: Client) -> None:
    response = await client.get(f"/.well-known/oauth-authorization-server/parasol/v1/banks/{BANK}")
    assert response.status == 200
    doc = await response.json()
    issuer = f"http://{response.url.host}:{response.url.port}/parasol/v1/banks/{BANK}"
    assert doc["issuer"] == issuer
    assert doc["authorization_endpoint"] == f"{issuer}/oauth/auth"
    assert doc["token_endpoint"] == f"{issuer}/oauth/token"
    assert doc["revocation_endpoint"] == f"{issuer}/oauth/revoke"
    assert doc["introspection_endpoint"] == f"{issuer}/oauth/introspect"
    assert doc["response_types_supported"] == ["code"]
    assert doc["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
    ]
    assert doc["scopes_supported"] == ["accounts"]


async def test_token_endpoint_is_closed_off_hours(client: Client, sandbox: Tenant) -> None:
    code = await issue_code(sandbox)
    await sandbox.clock.set(datetime(2025, 4, 2, 4, 1, tzinfo=JST))  # the daily 04:00 window
    status, body, headers = await post(client, "token", code_form(code), basic())
    assert (status, body["error"]) == (503, "temporarily_unavailable")
    assert body["error_code"] == "off_hours"
    assert int(headers["Retry-After"]) > 0


async def test_scenario_rule_on_token_step(client: Client, sandbox: Tenant) -> None:
    await sandbox.rules.add(RuleModel(on="token", error="system_error", times="once"))
    status, body, _ = await post(client, "token", code_form(await issue_code(sandbox)), basic())
    assert (status, body["error"]) == (500, "server_error")
    assert body["error_description"] == "system_error"  # ASCII, per RFC 6749 5.2
    assert body["error_code"] == "system_error"
    assert body["error_message"] == CATALOG["system_error"].message
    status, body, _ = await post(client, "token", code_form(await issue_code(sandbox)), basic())
    assert status == 200, body


async def test_full_linkage_through_the_real_app(aiohttp_client: MakeClient) -> None:
    """Screens -> code -> token (PKCE, Basic) -> data API -> refresh -> revoke."""
    from sandbox.driver import CustomerData, CustomerDriver, Outcome
    from sandbox.scenario.model import AccountModel, CustomerModel

    scenario = Scenario(
        clock=ClockModel(start=datetime(2026, 11, 25, 10, 0, tzinfo=JST), frozen=True),
        clients=[ClientModel(client_id="app", client_secret=SECRET, redirect_uris=[REDIRECT])],
        customers=[
            CustomerModel(
                name_kanji="データ 太郎",
                name_kana="ﾃﾞｰﾀ ﾀﾛｳ",
                birth_date=date(1980, 1, 1),
                phone="090-1234-5678",
                email="taro@example.jp",
                accounts=[AccountModel(branch="001", number="1234567", pin="1234")],
            )
        ],
    )
    http = await aiohttp_client(make_app(scenario))
    taro = CustomerData("001", "1234567", "1234", "ﾃﾞｰﾀ ﾀﾛｳ", "1980-01-01", "09012345678", "t@x.jp")
    outcome = await CustomerDriver(http, BANK).link(
        taro,
        client_id="app",
        redirect_uri=REDIRECT,
        state="st-1",
        code_challenge=pkce.s256(VERIFIER),
        code_challenge_method="S256",
    )
    assert isinstance(outcome, Outcome), outcome
    assert (outcome.state, outcome.error) == ("st-1", None)
    assert outcome.code is not None
    form = code_form(outcome.code, code_verifier=VERIFIER)
    status, tokens, _ = await post(http, "token", form, basic())
    assert status == 200, tokens
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    response = await http.get(f"/parasol/v1/banks/{BANK}/accounts", headers=bearer)
    assert response.status == 200, await response.text()
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    status, rotated, _ = await post(http, "token", refresh, basic())
    assert status == 200, rotated
    await post(http, "revoke", {"token": rotated["refresh_token"]}, basic())
    bearer = {"Authorization": f"Bearer {rotated['access_token']}"}
    response = await http.get(f"/parasol/v1/banks/{BANK}/accounts", headers=bearer)
    assert response.status == 401


async def test_client_without_refresh_grant_gets_unauthorized_client(
    client: Client, sandbox: Tenant
) -> None:
    code = await issue_code(sandbox, client_id="no-refresh")
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    status, body, _ = await post(client, "token", form, basic("no-refresh", "no-refresh-secret"))
    assert status == 200, body
    form = {"grant_type": "refresh_token", "refresh_token": str(body["refresh_token"])}
    status, body, _ = await post(client, "token", form, basic("no-refresh", "no-refresh-secret"))
    assert (status, body["error"]) == (400, "unauthorized_client")


async def test_wrong_method_at_token_endpoint_is_an_oauth_error(aiohttp_client: Any) -> None:
    from sandbox.settings import Settings
    from sandbox.web.app import create_app

    client = await aiohttp_client(create_app(Settings(secret_key=b"k" * 32)))
    response = await client.get(f"{BASE}/token")
    assert response.status == 405
    assert "POST" in response.headers["Allow"]
    assert (await response.json())["error"] == "invalid_request"
