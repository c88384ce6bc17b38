"""The plugin in a plain synchronous suite: no asyncio plugin, strict warnings, any client."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SUITE = """
import json
import urllib.request

import pytest


def _json(url, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def test_a_link_without_screens(sandbox_url):
    linked = _json(sandbox_url + "/_sandbox/links",
                   {"client_id": "demo-app", "customer": "taro", "tokens": True})
    request = urllib.request.Request(sandbox_url + "/parasol/v1/banks/2011/accounts")
    request.add_header("Authorization", "Bearer " + linked["access_token"])
    with urllib.request.urlopen(request) as response:
        assert json.load(response)["accounts"][0]["branch_code"] == "001"


def test_first_moves_the_clock(sandbox_url):
    _json(sandbox_url + "/_sandbox/clock", {"advance_seconds": 86400 * 3})


def test_second_sees_a_fresh_bank(sandbox_url, sandbox_process):
    clock = _json(sandbox_url + "/_sandbox/clock")
    assert clock["frozen"] is True
    assert clock["now"].endswith("T12:00:00+09:00")
    assert _json(sandbox_url + "/_sandbox/outbox")["mails"] == []
    assert sandbox_process.bank == "2011"
"""

BUNDLED = """
import json
import urllib.request


def test_a_bundled_scenario_by_name(sandbox_url):
    with urllib.request.urlopen(sandbox_url + "/_sandbox/health") as response:
        assert json.load(response)["banks"][0]["bank"] == "2014"
"""


def test_a_synchronous_suite_needs_no_asyncio_plugin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_vendor=SUITE, test_bundled=BUNDLED)
    pytester.makeini("[pytest]\nfilterwarnings =\n    error\n")
    result = pytester.runpytest_subprocess(
        "-p", "no:asyncio", "-p", "no:aiohttp", "-p", "no:anyio", "-q", "test_vendor.py"
    )
    result.assert_outcomes(passed=3)
    bundled = pytester.runpytest_subprocess(
        "-p", "no:asyncio", "-p", "no:aiohttp", "--sandbox-scenario", "lockout", "test_bundled.py"
    )
    bundled.assert_outcomes(passed=1)
