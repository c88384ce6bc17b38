"""The spec check used by the web fixtures really catches a response the spec forbids."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.spec_check import SPEC_LOG


async def _teapot(request: web.Request) -> web.Response:
    return web.json_response({"nope": True}, status=418)


async def _good(request: web.Request) -> web.Response:
    return web.json_response({"error": "unknown_bank", "message": "no such bank"}, status=404)


async def test_undocumented_status_is_a_violation_and_a_documented_one_is_checked(
    aiohttp_client: Any,
) -> None:
    app = web.Application()
    app.router.add_get("/parasol/v1/banks/{bank}/accounts", _teapot)
    app.router.add_get("/_sandbox/clock", _good)
    app.router.add_get("/linkage-screen", _teapot)
    client = await aiohttp_client(app)  # tests/conftest.py adds the spec check
    log = app[SPEC_LOG]
    await client.get("/parasol/v1/banks/2011/accounts")
    await client.get("/_sandbox/clock")
    await client.get("/linkage-screen")  # not in the spec: skipped
    assert len(log.violations) == 1
    assert "418" in log.violations[0]
    assert log.checked == 1
    log.violations.clear()  # seen; do not fail this test's teardown for it
