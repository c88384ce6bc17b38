"""Hostile input is bounded: each attack found against the first version, kept as a test."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

import sandbox.web.errors
from sandbox.tenant.tenant import Tenant
from tests.web.conftest import SCENARIO

Client = TestClient[Any, Any]


def _alias_bomb(levels: int = 9) -> str:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(levels):
        this, prev = chr(98 + i), chr(97 + i)
        lines.append(f"{this}: &{this} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


async def test_a_yaml_alias_bomb_is_refused_at_once_with_one_problem(
    client: Client, sandbox: Tenant
) -> None:
    text = _alias_bomb()
    assert len(text) < 1000  # a kilobyte that would expand to 9**10 values
    began = time.perf_counter()
    response = await client.put("/_sandbox/scenario", data=text.encode())
    assert time.perf_counter() - began < 2
    assert response.status == 422
    assert len(await response.read()) < 2000
    body = await response.json()
    (problem,) = body["problems"]
    assert "expands to more than" in problem["message"]
    # Nothing changed: the bank still serves its scenario.
    health = await (await client.get("/_sandbox/health")).json()
    assert [b["scenario"] for b in health["banks"]] == [sandbox.scenario.name]


async def test_a_control_character_is_a_problem_with_its_line_and_column(client: Client) -> None:
    text = SCENARIO.replace("name: web-tests", "name: web\x07tests")
    response = await client.put("/_sandbox/scenario", data=text.encode())
    assert response.status == 422
    (problem,) = (await response.json())["problems"]
    assert (problem["line"], problem["column"]) == (2, 10)
    assert "U+0007" in problem["message"]


@pytest.mark.parametrize(
    "text",
    [
        "a: &a [*a]\n",  # an anchor that contains itself
        "x: " + "[" * 3000 + "]" * 3000 + "\n",  # nesting past any parser's stack
        "name: \x00\n",
    ],
)
async def test_other_hostile_yaml_is_a_4xx_never_a_crash(client: Client, text: str) -> None:
    response = await client.put("/_sandbox/scenario", data=text.encode())
    assert response.status == 422
    assert (await response.json())["problems"]


async def test_the_problem_list_is_capped_with_a_count_of_the_rest(client: Client) -> None:
    customer = (
        "  - {name_kanji: x, name_kana: bad, birth_date: nope, phone: '1', email: x,"
        " accounts: [{branch: '9', number: '1', pin: '1'}]}\n"
    )
    text = SCENARIO.split("customers:")[0] + "customers:\n" + customer * 200
    response = await client.put("/_sandbox/scenario", data=text.encode())
    assert response.status == 422
    body = await response.json()
    assert len(body["problems"]) == 100
    assert body["omitted"] > 500
    lines = [p["line"] for p in body["problems"]]
    assert lines == sorted(lines)  # the first ones, in file order


async def test_a_huge_token_lifetime_is_refused_not_a_500_at_exchange(client: Client) -> None:
    text = SCENARIO.replace(
        "  branches:", "  policy: {access_token_ttl_seconds: 999999999999}\n  branches:"
    )
    response = await client.put("/_sandbox/scenario", data=text.encode())
    assert response.status == 422
    (problem,) = (await response.json())["problems"]
    assert problem["field"] == "bank.policy.access_token_ttl_seconds"


@pytest.mark.parametrize("path", ["/_sandbox/clock", "/_sandbox/rules", "/_sandbox/calls"])
@pytest.mark.parametrize("depth", [40, 100_000])
async def test_deeply_nested_json_is_a_400(client: Client, path: str, depth: int) -> None:
    body = '{"x": ' + "[" * depth + "]" * depth + "}"
    response = await client.post(
        path, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert (await response.json())["error"] == "invalid_request"


async def test_a_client_that_disconnects_is_not_a_system_error(client: Client, caplog: Any) -> None:
    host, port = client.server.host, client.server.port
    _, writer = await asyncio.open_connection(host, port)
    writer.write(
        b"POST /parasol/v1/banks/2011/oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 100000\r\n\r\ngrant_type=authorization_code&code="
    )
    await writer.drain()
    await asyncio.sleep(0.05)
    writer.close()  # gone before the body is complete
    await writer.wait_closed()
    await asyncio.sleep(0.1)
    journal = (await (await client.get("/_sandbox/journal")).json())["entries"]
    (entry,) = [e for e in journal if e["path"].endswith("/oauth/token")]
    assert (entry["status"], entry["error_code"]) == (499, None)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_a_body_that_never_arrives_is_answered_408(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox.web.errors, "BODY_SECONDS", 0.3)
    host, port = client.server.host, client.server.port
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        b"POST /parasol/v1/banks/2011/oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 1000\r\n\r\ngrant_type="
    )
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
    length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
    body = await asyncio.wait_for(reader.readexactly(length), timeout=5)
    writer.close()
    await writer.wait_closed()
    assert head.startswith(b"HTTP/1.1 408")
    assert b"Connection: close" in head
    assert b'"request_timeout"' in body


@pytest.mark.parametrize(
    "path",
    [
        "/parasol/v1/banks/%00/oauth/auth?client_id=app-1",
        "/parasol/v1/banks/2011/linkage/x%00y/account",
        "/_sandbox/outbox?to=a%00b",
        "/_sandbox/clock?bank=%00",
    ],
)
async def test_a_nul_in_the_url_is_a_clear_400(client: Client, path: str) -> None:
    response = await client.get(path, allow_redirects=False)
    assert response.status == 400
    assert "NUL" in await response.text()
