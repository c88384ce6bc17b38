"""Every answer, whatever made it, carries the security headers, each once."""

from __future__ import annotations

from typing import Any

from sandbox.web.common import SECURITY_HEADERS
from tests.web.conftest import BANK, TARO, link_for_tokens

BANK_PATH = f"/parasol/v1/banks/{BANK}"


async def test_every_kind_of_answer_carries_the_security_headers_once(client: Any) -> None:
    tokens = await link_for_tokens(client, TARO)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    answers = {
        "data answer": await client.get(f"{BANK_PATH}/accounts", headers=bearer),
        "data error": await client.get(f"{BANK_PATH}/accounts"),
        "OAuth error": await client.post(f"{BANK_PATH}/oauth/token", data={"grant_type": "x"}),
        "control call": await client.get("/_sandbox/customers"),
        "screen": await client.get(
            f"{BANK_PATH}/oauth/auth?response_type=code&client_id=nobody", allow_redirects=False
        ),
        "static file": await client.get("/static/sandbox.css"),
        "unknown path": await client.get("/nowhere"),
        "HTTP exception raised through": await client.get("/static/"),  # a directory: 403
    }
    async with client.get("/_sandbox/console/events?bank=" + BANK) as stream:
        answers["stream prepared by its handler"] = stream  # headers sent before the body
    assert answers["data answer"].status == 200
    assert answers["HTTP exception raised through"].status == 403
    assert answers["stream prepared by its handler"].status == 200
    for kind, response in answers.items():
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.getall(name, []) == [value], (kind, name)
