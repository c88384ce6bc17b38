"""GET /_sandbox/conformance: a careful client passes, a careless one fails, from real requests."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

import pytest
from aiohttp.test_utils import TestClient

import sandbox.web.middleware
from sandbox.domain.oauth import pkce
from sandbox.driver import CustomerDriver, Outcome
from tests.web.conftest import BANK, TARO

Client = TestClient[Any, Any]
TOKEN = f"/parasol/v1/banks/{BANK}/oauth/token"
ACCOUNTS = f"/parasol/v1/banks/{BANK}/accounts"


class FakeWall:
    """Real time as the journal sees it, moved by the test."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def wall(monkeypatch: pytest.MonkeyPatch) -> FakeWall:
    fake = FakeWall()
    monkeypatch.setattr(sandbox.web.middleware, "wall_seconds", fake)
    return fake


async def _code(client: Client, client_id: str, redirect: str, **extra: str) -> str:
    params = {"client_id": client_id, "redirect_uri": redirect, **extra}
    outcome = await CustomerDriver(client, BANK).link(TARO, approve=True, **params)
    assert isinstance(outcome, Outcome), outcome
    assert outcome.code is not None
    return outcome.code


async def _report(client: Client, client_id: str) -> dict[str, str]:
    body = await (await client.get(f"/_sandbox/conformance?client_id={client_id}")).json()
    return {row["check"]: row["status"] for row in body["checks"]}


async def test_a_careful_client_passes(client: Client, wall: FakeWall) -> None:
    verifier = "v" * 64
    redirect = "https://pkce.example/cb"
    code = await _code(
        client,
        "pkce-app",
        redirect,
        state="s" * 32,
        code_challenge=pkce.s256(verifier),
        code_challenge_method="S256",
    )
    secret = {"client_id": "pkce-app", "client_secret": "secret-two-456"}
    issued = await client.post(
        TOKEN,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect,
            "code_verifier": verifier,
            **secret,
        },
    )
    tokens = await issued.json()
    for _ in range(2):  # always the newest refresh token
        rotated = await client.post(
            TOKEN,
            data={
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
                **secret,
            },
        )
        assert rotated.status == 200
        tokens = await rotated.json()
    rule = {"on": "api", "error": "congestion", "times": "once"}
    assert (await client.post("/_sandbox/rules", json=rule)).status == 201
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    busy = await client.get(ACCOUNTS, headers=headers)
    assert busy.status == 503
    wall.now += int(busy.headers["Retry-After"]) + 1  # waits as told
    assert (await client.get(ACCOUNTS, headers=headers)).status == 200
    revoked = await client.post(
        f"/parasol/v1/banks/{BANK}/oauth/revoke", data={"token": tokens["refresh_token"], **secret}
    )
    assert revoked.status == 200
    statuses = await _report(client, "pkce-app")
    for check in (
        "pkce_s256",
        "state",
        "codes_once",
        "refresh_rotation",
        "retry_after",
        "revoke",
        "no_token_in_query",
        "met_congestion",
    ):
        assert statuses[check] == "passed", (check, statuses)
    assert "failed" not in statuses.values()
    assert statuses["relink"] == "not_exercised"


async def test_a_careless_client_fails_with_evidence(client: Client, wall: FakeWall) -> None:
    redirect = "https://app.example/callback"
    code = await _code(client, "app-1", redirect, state="x")  # no PKCE, a short state
    secret = {"client_id": "app-1", "client_secret": "secret-one-123"}
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect, **secret}
    tokens = await (await client.post(TOKEN, data=form)).json()
    assert (await client.post(TOKEN, data=form)).status == 400  # the same code again
    code = await _code(client, "app-1", redirect, state="y")
    form = {**form, "code": code}
    tokens = await (await client.post(TOKEN, data=form)).json()
    old = tokens["refresh_token"]
    refresh = {"grant_type": "refresh_token", "refresh_token": old, **secret}
    assert (await client.post(TOKEN, data=refresh)).status == 200
    assert (await client.post(TOKEN, data=refresh)).status == 400  # a rotated one, reused
    await client.get(f"{ACCOUNTS}?access_token={tokens['access_token']}")  # in the URL
    rule = {"on": "token", "error": "congestion", "times": "once"}
    assert (await client.post("/_sandbox/rules", json=rule)).status == 201
    assert (await client.post(TOKEN, data=refresh)).status == 503
    wall.now += 1  # retries at once
    await client.post(TOKEN, data=refresh)
    body = await (await client.get("/_sandbox/conformance?client_id=app-1")).json()
    rows = {row["check"]: row for row in body["checks"]}
    for check in (
        "pkce_s256",
        "state",
        "codes_once",
        "refresh_rotation",
        "no_token_in_query",
        "retry_after",
    ):
        assert rows[check]["status"] == "failed", (check, rows[check])
        assert rows[check]["evidence"], check
    journal = await (await client.get("/_sandbox/journal")).json()
    seqs = {entry["seq"] for entry in journal["entries"]}
    assert set(rows["codes_once"]["evidence"]) <= seqs  # evidence points into the journal
    xml = await client.get("/_sandbox/conformance?client_id=app-1&format=junit")
    assert xml.content_type == "application/xml"
    suite = ElementTree.fromstring(await xml.text())
    failed = {c.get("name") for c in suite.findall("testcase") if c.find("failure") is not None}
    assert {"pkce_s256", "codes_once", "refresh_rotation"} <= failed


async def test_a_report_needs_a_client_id(client: Client) -> None:
    response = await client.get("/_sandbox/conformance")
    assert response.status == 400
    bad = await client.get("/_sandbox/conformance?client_id=app-1&format=pdf")
    assert bad.status == 400
