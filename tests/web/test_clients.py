"""POST /_sandbox/clients: add or replace a client at run time, validated like YAML."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.web.conftest import APP, BANK, TARO, link_and_redeem

Client = TestClient[Any, Any]
NEW = {
    "client_id": "new-app",
    "client_secret": "a-secret-of-mine",
    "name": "新しい家計簿",
    "redirect_uris": ["https://new.example/cb"],
}


async def _authorize(client: Client, client_id: str, redirect_uri: str) -> Any:
    return await client.get(
        f"/parasol/v1/banks/{BANK}/oauth/auth",
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "state": "s",
        },
        allow_redirects=False,
    )


async def test_a_new_client_can_link_at_once(client: Client) -> None:
    added = await client.post("/_sandbox/clients", json=NEW)
    assert added.status == 201
    body = await added.json()
    assert body["client_id"] == "new-app"
    assert body["redirect_uris"] == NEW["redirect_uris"]
    started = await _authorize(client, "new-app", "https://new.example/cb")
    assert started.status == 303
    assert "/linkage/" in started.headers["Location"]
    listed = await (await client.get("/_sandbox/clients")).json()
    assert "new-app" in [c["client_id"] for c in listed["clients"]]
    headers = await link_and_redeem(
        client,
        TARO,
        client_id="new-app",
        secret="a-secret-of-mine",
        redirect_uri="https://new.example/cb",
    )
    assert (await client.get(f"/parasol/v1/banks/{BANK}/accounts", headers=headers)).status == 200


async def test_replacing_a_client_changes_its_redirect_uris_and_keeps_state(
    client: Client,
) -> None:
    before = await link_and_redeem(client, TARO)
    replaced = await client.post(
        "/_sandbox/clients",
        json={
            "client_id": APP["client_id"],
            "client_secret": "secret-one-123",
            "redirect_uris": ["https://app.example/v2/callback"],
        },
    )
    assert replaced.status == 200
    old = await _authorize(client, APP["client_id"], APP["redirect_uri"])
    assert old.status == 400  # the old URI is no longer registered: shown, not redirected
    new = await _authorize(client, APP["client_id"], "https://app.example/v2/callback")
    assert new.status == 303
    # Tokens issued before are still good: a client change is not a reset.
    accounts = await client.get(f"/parasol/v1/banks/{BANK}/accounts", headers=before)
    assert accounts.status == 200
    # And a reset keeps the client (it is configuration, not state).
    assert (await client.post("/_sandbox/reset")).status == 200
    again = await _authorize(client, APP["client_id"], "https://app.example/v2/callback")
    assert again.status == 303


async def test_a_client_is_validated_like_a_scenario_one(client: Client) -> None:
    cases = [
        ({**NEW, "redirect_uris": []}, "redirect_uris"),
        ({**NEW, "redirect_uris": ["https://new.example/cb#frag"]}, "redirect_uris"),
        ({**NEW, "client_secret": "short"}, "client_secret"),
        ({**NEW, "pkce": "sometimes"}, "pkce"),
        ({**NEW, "colour": "blue"}, "colour"),
    ]
    for body, field in cases:
        refused = await client.post("/_sandbox/clients", json=body)
        assert refused.status == 422, body
        problems = (await refused.json())["problems"]
        assert any(p["field"].startswith(field) for p in problems), problems
    listed = await (await client.get("/_sandbox/clients")).json()
    assert "new-app" not in [c["client_id"] for c in listed["clients"]]
