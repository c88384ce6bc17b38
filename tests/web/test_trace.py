"""What a request learned reaches its journal entry; a request no middleware saw still
gets a trace that knows the mode it runs in."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import make_mocked_request

from sandbox.settings import Settings
from sandbox.web.app import create_app
from sandbox.web.trace import trace_of
from tests.web.conftest import APP, BANK, TARO, link_for_tokens, make_scenario

ACCOUNTS = f"/parasol/v1/banks/{BANK}/accounts"


async def test_the_journal_entry_holds_what_the_request_learned(client: Any) -> None:
    tokens = await link_for_tokens(client, TARO)
    good = await client.get(ACCOUNTS, headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert good.status == 200
    bad = await client.get(ACCOUNTS, headers={"Authorization": "Bearer not-a-token"})
    assert bad.status == 401
    entries = (await (await client.get("/_sandbox/journal")).json())["entries"]
    served, refused = [e for e in entries if e["path"] == ACCOUNTS][-2:]
    assert (served["status"], served["step"], served["client_id"]) == (200, "api", APP["client_id"])
    assert served["error_code"] is None
    assert (refused["status"], refused["step"], refused["error_code"]) == (
        401,
        "api",
        "invalid_token",
    )
    assert refused["client_id"] is None  # an unknown token names no client


def test_a_request_no_middleware_saw_gets_one_trace_of_its_mode() -> None:
    for hosted in (False, True):
        settings = Settings(secret_key=b"k" * 32, hosted=hosted, admin_key="a" * 32)
        app = create_app(settings, scenarios=[(make_scenario(), "<test>")])
        request = make_mocked_request("GET", ACCOUNTS, app=app)
        trace = trace_of(request)
        assert trace.hosted is hosted
        assert (trace.tenant, trace.client_id, trace.workspace) == (None, None, "")
        trace.client_id = "app-1"
        assert trace_of(request) is trace  # one object for the whole request
