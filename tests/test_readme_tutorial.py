"""The README's tutorial and control-API block, run as written against `sandbox serve`.

Each ``curl`` line is read out of README.md and sent as curl would send it (method, ``-d``
as a form body, ``-u`` as HTTP Basic, ``-H``), with the placeholders (THE_CODE, ...) filled
in from the answers before it. So a tutorial step that stops working fails here.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp

from sandbox.driver import CustomerData, CustomerDriver, Outcome, Page
from tests.servers import Server

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
_LOCAL = re.compile(r"^(?:https?://)?(?:localhost|127\.0\.0\.1):8080")


def section(title: str) -> str:
    start = README.index(title)
    return README[start : README.index("\n## ", start + 1)]


def curl_lines(text: str) -> list[str]:
    """The curl commands of ``text``, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    found = []
    for line in joined.splitlines():
        stripped = line.strip().strip("`")
        if stripped.startswith("curl "):
            found.append(re.split(r"\s+#\s", stripped)[0])
    return found


def curl(command: str, base: str, **fill: str) -> tuple[int, Any]:
    """Send ``command`` as curl would; (status, JSON body or text)."""
    for placeholder, value in fill.items():
        command = command.replace(placeholder, value)
    args = iter(shlex.split(command)[1:])
    method, data, headers, url = None, [], {}, ""
    for arg in args:
        if arg == "-X":
            method = next(args)
        elif arg in ("-d", "--data"):
            data.append(next(args))
        elif arg == "-H":
            name, _, value = next(args).partition(":")
            headers[name.strip()] = value.strip()
        elif arg == "-u":
            headers["Authorization"] = "Basic " + base64.b64encode(next(args).encode()).decode()
        elif arg.startswith("-"):
            raise AssertionError(f"the tutorial uses a curl option this test does not know: {arg}")
        else:
            url = _LOCAL.sub(base, arg)
    body = "&".join(data).encode() if data else None
    if body is not None:
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")  # curl's -d
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", "replace")


def _tutorial_customer() -> CustomerData:
    """What step 2 tells the reader to type."""
    step = section("## Five-minute tutorial")

    def found(pattern: str) -> re.Match[str]:
        match = re.search(pattern, step)
        assert match is not None, f"step 2 changed its wording ({pattern})"
        return match

    number, kana = found(r"口座番号 `(\d{7})`"), found(r"お名前 `([^`]+)`")
    birth, phone = found(r"生年月日 `(\d{4})/(\d{2})/(\d{2})`"), found(r"電話番号 `([\d-]+)`")
    pin = found(r"暗証番号 `(\d{4})`")
    return CustomerData(
        branch_code="001",
        account_number=number[1],
        pin=pin[1],
        name_kana=kana[1],
        birth_date=f"{birth[1]}-{birth[2]}-{birth[3]}",
        phone=phone[1],
        email="reader@example.jp",
    )


async def test_the_five_minute_tutorial_works_as_written() -> None:
    server = Server(["--port", "0"], {"SANDBOX_ACCESS_LOG": "0"})
    try:
        base = server.url
        # The embedded scenario runs on real time: keep the bank open for the test's minute.
        status, _ = curl(
            "curl -X POST localhost:8080/_sandbox/clock -d "
            '\'{"set": "2026-11-25T10:00:00+09:00", "frozen": true}\'',
            base,
        )
        assert status == 200
        tutorial = section("## Five-minute tutorial")
        commands = curl_lines(tutorial)
        calls, token, accounts, transactions, rule = (
            next(c for c in commands if "/_sandbox/calls" in c),
            next(c for c in commands if "/oauth/token" in c),
            next(c for c in commands if c.endswith("/accounts")),
            next(c for c in commands if "/transactions" in c),
            next(c for c in commands if "/_sandbox/rules" in c),
        )
        authorize = re.search(r"http://127\.0\.0\.1:8080/parasol\S+oauth/auth\?\S+", tutorial)
        assert authorize is not None
        params = dict(parse_qsl(urlsplit(authorize[0]).query))
        taro = _tutorial_customer()
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(base_url=base, cookie_jar=jar) as session:
            driver = CustomerDriver(session, "2011")
            await driver.authorize(**params)
            await driver.enter_account(taro)
            await driver.enter_identity(taro)
            page = await driver.go_to_confirm()
            assert isinstance(page, Page)
            assert page.screen == "confirm"
            status, answer = curl(calls, base)  # ④: the call, simulated as step 2 shows
            assert (status, answer["outcome"]) == (200, "verified")
            await driver.confirm()
            await driver.enter_pin(taro.pin)
            outcome = await driver.approve()
            assert isinstance(outcome, Outcome)
            assert outcome.code is not None
            assert outcome.state == params["state"]

            status, tokens = curl(token, base, THE_CODE=outcome.code)
            assert status == 200, tokens
            access = tokens["access_token"]
            status, listed = curl(accounts, base, THE_ACCESS_TOKEN=access)
            assert status == 200, listed
            account_id = listed["accounts"][0]["account_id"]
            status, page_of_lines = curl(
                transactions, base, THE_ACCESS_TOKEN=access, ACCOUNT_ID=account_id
            )
            assert status == 200, page_of_lines
            assert page_of_lines["transactions"]

            status, _ = curl(rule, base)  # step 5
            assert status == 201
            again = CustomerDriver(session, "2011")
            await again.authorize(**params)
            await again.enter_account(taro)
            refused = await again.enter_identity(taro)
            assert isinstance(refused, Page)
            assert (
                "ただ今受付が混雑しておりますので、しばらくしてからご利用下さい。" in refused.text()
            )

        for line in curl_lines(tutorial[tutorial.index("**No screens at all**") :]):
            status, linked = curl(line, base)
            assert status == 201, (line, linked)
    finally:
        server.stop()


async def test_the_control_api_block_leaves_the_bank_open_and_running() -> None:
    server = Server(["--port", "0"], {"SANDBOX_ACCESS_LOG": "0"})
    try:
        base = server.url
        commands = [c for c in curl_lines(section("## Control API")) if "@" not in c]
        assert len(commands) > 15
        for command in commands:
            status, answer = curl(command, base)
            assert status < 500, (command, answer)
            if "ACCOUNT_ID" not in command:  # a placeholder the reader fills in
                assert status < 400 or "/_sandbox/calls" in command, (command, answer)
        _, clock = curl("curl localhost:8080/_sandbox/clock", base)
        assert clock["frozen"] is False
        assert clock["now"][:4] != "2026" or clock["now"][5:10] != "11-07"
    finally:
        server.stop()
