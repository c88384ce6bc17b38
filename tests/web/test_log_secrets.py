"""No secret reaches the logs or the journal, across a whole linkage and token lifecycle.

The sandbox runs as ``sandbox serve`` runs it (aiohttp's own access log off, the sandbox's
JSON access log on). Every log record, from ``sandbox.access`` and from the root logger at
DEBUG, is formatted with ``sandbox.logs.JsonFormatter`` into a buffer; the journal is read
from ``GET /_sandbox/journal``. Then every PIN, client secret, authorization code, access and
refresh token, PKCE verifier and CSRF token that went over the wire must be absent, while
the lines for the requests that carried them are present.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
import pytest

from sandbox.driver import CustomerDriver, Outcome, Page
from sandbox.logs import JsonFormatter
from sandbox.pytest_plugin import RunningSandbox
from sandbox.scenario.model import Scenario
from tests.web.conftest import TARO, make_scenario

PIN = "7531"
WRONG_PIN = "2468"
CUSTOMER = replace(TARO, pin=PIN)
APP = {
    "client_id": "app-1",
    "secret": "secret-one-123",
    "redirect_uri": "https://app.example/callback",
}
PKCE = {
    "client_id": "pkce-app",
    "secret": "secret-two-456",
    "redirect_uri": "https://pkce.example/cb",
}
WRONG_SECRET = "not-the-secret-999"


@pytest.fixture
def sandbox_scenario() -> Scenario:
    """The web tests' scenario, with a PIN that no date, port or phone number contains."""
    return make_scenario(**{'pin: "1234"': f'pin: "{PIN}"'})


@pytest.fixture
def logged() -> Iterator[io.StringIO]:
    """Every log record at DEBUG and above, as the JSON lines production would write."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.DEBUG)
    root, access = logging.getLogger(), logging.getLogger("sandbox.access")
    saved = root.level, access.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    access.setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        access.setLevel(saved[1])


@dataclass
class Secrets:
    """Everything secret that was sent or received during the run."""

    pins: set[str] = field(default_factory=set)
    values: set[str] = field(default_factory=set)

    def add(self, *values: object) -> None:
        for value in values:
            assert isinstance(value, str)
            assert len(value) >= 8, value
            self.values.add(value)

    def leaks(self, text: str) -> list[str]:
        found = [v for v in self.values if v in text]
        found += [p for p in self.pins if re.search(rf"(?<!\d){p}(?!\d)", text)]
        return found


class RecordingDriver(CustomerDriver):
    """A headless customer that notes every CSRF token and code it is handed."""

    def __init__(self, client: aiohttp.ClientSession, bank: str, seen: Secrets) -> None:
        super().__init__(client, bank)
        self.seen = seen

    async def _fetch(self, url: str, data: dict[str, str] | None = None) -> Page | Outcome:
        result = await super()._fetch(url, data)
        if isinstance(result, Page) and result.csrf_token:
            self.seen.add(result.csrf_token)
        if isinstance(result, Outcome) and result.code:
            self.seen.add(result.code)
        return result


def basic(client: dict[str, str], secret: str | None = None) -> dict[str, str]:
    """client_secret_basic (the ids and secrets here need no form-encoding)."""
    pair = f"{client['client_id']}:{secret or client['secret']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


async def call(
    http: aiohttp.ClientSession,
    method: str,
    path: str,
    *,
    expect: int,
    **kwargs: Any,
) -> Any:
    async with http.request(method, path, **kwargs) as response:
        text = await response.text()
        assert response.status == expect, text
        return json.loads(text) if response.content_type == "application/json" else text


async def to_pin(driver: RecordingDriver, client: dict[str, str], **extra: str) -> None:
    """Screens ① to ④; the customer stands at screen ⑤."""
    await driver.authorize(
        client_id=client["client_id"], redirect_uri=client["redirect_uri"], state="st", **extra
    )
    steps: list[Callable[[], Awaitable[Page | Outcome]]] = [
        lambda: driver.enter_account(CUSTOMER),
        lambda: driver.enter_identity(CUSTOMER),
        driver.go_to_confirm,
        driver.press_call_button,
        driver.confirm,
    ]
    for step in steps:
        result = await step()
        assert isinstance(result, Page), result
        assert result.error_code is None, result.text()[:300]
    assert driver.page is not None
    assert driver.page.screen == "pin"


async def test_no_secret_in_logs_or_journal(
    sandbox_server: RunningSandbox, logged: io.StringIO
) -> None:
    seen = Secrets(pins={PIN, WRONG_PIN})
    seen.add(APP["secret"], PKCE["secret"], WRONG_SECRET)
    for client in (APP, PKCE):
        pair = f"{client['client_id']}:{client['secret']}".encode()
        seen.add(base64.b64encode(pair).decode())  # the HTTP Basic header's value
    base = f"/parasol/v1/banks/{sandbox_server.bank}"

    def jar() -> aiohttp.CookieJar:
        return aiohttp.CookieJar(unsafe=True)

    async with (
        aiohttp.ClientSession(base_url=sandbox_server.url, cookie_jar=jar()) as browser_one,
        aiohttp.ClientSession(base_url=sandbox_server.url, cookie_jar=jar()) as browser_two,
        aiohttp.ClientSession(base_url=sandbox_server.url) as app,
    ):
        # Linkage 1: a PKCE client; the customer mistypes the PIN once.
        verifier = secrets.token_urlsafe(48)
        seen.add(verifier)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        first = RecordingDriver(browser_one, sandbox_server.bank, seen)
        await to_pin(
            first,
            PKCE,
            code_challenge=challenge.decode().rstrip("="),
            code_challenge_method="S256",
        )
        page = await first.enter_pin(WRONG_PIN)
        assert isinstance(page, Page)
        assert page.error_code == "wrong_pin"
        assert isinstance(await first.enter_pin(PIN), Page)
        outcome = await first.approve()
        assert isinstance(outcome, Outcome)
        assert outcome.code is not None
        pkce_code = outcome.code
        # client_secret_post
        form = {
            "grant_type": "authorization_code",
            "code": pkce_code,
            "redirect_uri": PKCE["redirect_uri"],
            "code_verifier": verifier,
            "client_id": PKCE["client_id"],
            "client_secret": PKCE["secret"],
        }
        tokens_one = await call(app, "POST", f"{base}/oauth/token", data=form, expect=200)
        seen.add(tokens_one["access_token"], tokens_one["refresh_token"])

        # Linkage 2: a client with HTTP Basic (client_secret_basic).
        second = RecordingDriver(browser_two, sandbox_server.bank, seen)
        outcome = await second.link(
            CUSTOMER, client_id=APP["client_id"], redirect_uri=APP["redirect_uri"], state="st2"
        )
        assert isinstance(outcome, Outcome)
        assert outcome.code is not None
        form = {
            "grant_type": "authorization_code",
            "code": outcome.code,
            "redirect_uri": APP["redirect_uri"],
        }
        tokens_two = await call(
            app, "POST", f"{base}/oauth/token", data=form, headers=basic(APP), expect=200
        )
        seen.add(tokens_two["access_token"], tokens_two["refresh_token"])

        # A failed token request: the right refresh token, the wrong client secret.
        refresh = {"grant_type": "refresh_token", "refresh_token": tokens_two["refresh_token"]}
        failed = await call(
            app,
            "POST",
            f"{base}/oauth/token",
            data=refresh,
            headers=basic(APP, WRONG_SECRET),
            expect=401,
        )
        assert failed["error"] == "invalid_client"
        # Refresh (Basic), then introspect (post).
        rotated = await call(
            app, "POST", f"{base}/oauth/token", data=refresh, headers=basic(APP), expect=200
        )
        seen.add(rotated["access_token"], rotated["refresh_token"])
        info = await call(
            app,
            "POST",
            f"{base}/oauth/introspect",
            data={
                "token": rotated["access_token"],
                "client_id": APP["client_id"],
                "client_secret": APP["secret"],
            },
            expect=200,
        )
        assert info["active"] is True

        # The data API, with both linkages' tokens.
        bearer = {"Authorization": f"Bearer {rotated['access_token']}"}
        listing = await call(app, "GET", f"{base}/accounts", headers=bearer, expect=200)
        account_id = listing["accounts"][0]["account_id"]
        await call(app, "GET", f"{base}/accounts/{account_id}", headers=bearer, expect=200)
        await call(
            app,
            "GET",
            f"{base}/accounts/{account_id}/transactions",
            params={"date_from": "2026-11-01", "date_to": "2026-11-25"},
            headers=bearer,
            expect=200,
        )
        await call(
            app,
            "GET",
            f"{base}/term_deposits",
            headers={"Authorization": f"Bearer {tokens_one['access_token']}"},
            expect=200,
        )
        # A vendor's mistakes: the token in the query string (RFC 6750 2.3 is not supported),
        # a secret in the authorize URL.
        await call(
            app,
            "GET",
            f"{base}/accounts",
            params={"access_token": rotated["access_token"]},
            expect=401,
        )
        await call(
            app,
            "GET",
            f"{base}/oauth/auth",
            params={
                "response_type": "code",
                "client_id": APP["client_id"],
                "redirect_uri": APP["redirect_uri"],
                "client_secret": APP["secret"],
                "code": pkce_code,
            },
            allow_redirects=False,
            expect=303,
        )
        # Revoke (Basic): the whole second linkage goes.
        await call(
            app,
            "POST",
            f"{base}/oauth/revoke",
            data={"token": rotated["refresh_token"], "token_type_hint": "refresh_token"},
            headers=basic(APP),
            expect=200,
        )
        await call(app, "GET", f"{base}/accounts", headers=bearer, expect=401)
        # A second redemption of the first code: invalid_grant, and linkage 1 is revoked.
        form = {
            "grant_type": "authorization_code",
            "code": pkce_code,
            "redirect_uri": PKCE["redirect_uri"],
            "code_verifier": verifier,
        }
        reused = await call(
            app, "POST", f"{base}/oauth/token", data=form, headers=basic(PKCE), expect=400
        )
        assert reused["error"] == "invalid_grant"

        journal = await call(
            app,
            "GET",
            "/_sandbox/journal",
            params={"bank": sandbox_server.bank},
            expect=200,
        )

    csrf_tokens = [v for v in seen.values if len(v) < 60]
    assert csrf_tokens, "the screens handed out CSRF tokens"
    logs = logged.getvalue()
    journal_text = json.dumps(journal, ensure_ascii=False)
    assert seen.leaks(logs) == []
    assert seen.leaks(journal_text) == []

    # The logs and the journal did record those requests (so the check above can fail).
    lines = [json.loads(line) for line in logs.splitlines()]
    access = {
        (line["method"], line["path"].removeprefix(base), line["status"])
        for line in lines
        if line["logger"] == "sandbox.access"
    }
    entries = {(e["method"], e["path"].removeprefix(base), e["status"]) for e in journal["entries"]}
    expected = {
        ("POST", "/oauth/token", 200),
        ("POST", "/oauth/token", 401),
        ("POST", "/oauth/token", 400),
        ("POST", "/oauth/introspect", 200),
        ("POST", "/oauth/revoke", 200),
        ("GET", "/accounts", 200),
        ("GET", "/accounts", 401),
        ("GET", f"/accounts/{account_id}", 200),
        ("GET", f"/accounts/{account_id}/transactions", 200),
        ("GET", "/term_deposits", 200),
        ("GET", "/oauth/auth", 303),
    }
    assert expected <= access
    assert expected <= entries
    pin_posts = [p for (m, p, s) in access if m == "POST" and p.endswith("/pin")]
    assert len(pin_posts) >= 2
    assert any(m == "POST" and p.endswith("/pin") and s == 401 for (m, p, s) in access)
    # Redaction keeps the parameter names, so a reader sees what was sent.
    queries = [line["params"] for line in lines if line.get("params")]
    assert {"access_token": "[redacted]"} in queries
    assert any(q.get("client_secret") == "[redacted]" and q.get("code") for q in queries)


async def test_secrets_under_other_names_never_reach_the_journal(client: Any) -> None:
    from sandbox.driver import CustomerDriver, Outcome

    outcome = await CustomerDriver(client, "2011").link(
        TARO, client_id="app-1", redirect_uri="https://app.example/callback", state="s"
    )
    assert isinstance(outcome, Outcome)
    assert outcome.code is not None
    odd = {"refresh": outcome.code, "csrf": "x" * 30, "k": "secret-one-123", "limit": "5"}
    await client.get("/parasol/v1/banks/2011/accounts", params=odd)
    journal = await (await client.get("/_sandbox/journal")).json()
    text = str(journal)
    for value in (outcome.code, "x" * 30, "secret-one-123"):
        assert value not in text
    (entry,) = [e for e in journal["entries"] if "refresh" in e["params"]]
    assert entry["params"]["limit"] == "5"
