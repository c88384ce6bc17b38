"""The session cookie: which linkages a browser owns, signed."""

from __future__ import annotations

import random

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from sandbox.web import session
from sandbox.web.session import COOKIE, SECURE, SESSION_KEY, owns, session_key


def _app(secret: bytes = b"s" * 32) -> web.Application:
    app = web.Application()
    app[SESSION_KEY] = session_key(secret)
    app[SECURE] = False
    return app


def _request(app: web.Application, cookie: str) -> web.Request:
    return make_mocked_request("GET", "/", headers={"Cookie": f"{COOKIE}={cookie}"}, app=app)


def _cookie(app: web.Application, *ids: str) -> str:
    payload = ":".join(ids)
    return f"{payload}.{session._signature(app[SESSION_KEY], payload)}"


async def test_a_signed_cookie_names_its_linkages_and_a_changed_one_none() -> None:
    app = _app()
    genuine = _cookie(app, "L1", "L2")
    assert await owns(_request(app, genuine), "L2")  # read once: now remembered
    forged = genuine.replace("L1:L2", "L1:L2:L3")
    assert not await owns(_request(app, forged), "L3")
    assert not await owns(_request(app, forged), "L1")
    assert await owns(_request(app, genuine), "L1")


async def test_another_secret_key_refuses_the_same_cookie() -> None:
    mine, theirs = _app(b"a" * 32), _app(b"b" * 32)
    cookie = _cookie(mine, "L1")
    assert await owns(_request(mine, cookie), "L1")
    assert not await owns(_request(theirs, cookie), "L1")


async def test_an_overlong_cookie_is_checked_but_never_remembered() -> None:
    app = _app()
    ids = [f"L{n:04d}" for n in range(300)]
    cookie = _cookie(app, *ids)
    assert len(cookie) > session._CACHED_COOKIE
    before = session._verified.cache_info().currsize
    assert await owns(_request(app, cookie), ids[-1])  # its last eight ids are kept
    assert not await owns(_request(app, cookie), ids[0])
    assert session._verified.cache_info().currsize == before


def test_the_session_cookie_is_read_as_aiohttps_parser_reads_it() -> None:
    value = "L1:L2.abcdefghijklmnopqrstuvwx"
    headers = [
        "",
        f"{COOKIE}={value}",
        f"theme=dark; {COOKIE}={value}; lang=ja",
        f" {COOKIE} = {value} ;x=1",
        f"{COOKIE}=old; {COOKIE}={value}",  # two: the last one wins
        f"{COOKIE}=",
        f"{COOKIE}X={value}",  # another cookie whose name starts with ours
        f"X{COOKIE}={value}; {COOKIE}",  # and one that ends with it; ours without '='
        f'{COOKIE}="{value}"',  # quoted: aiohttp's parser unquotes it
        f'other="a; {COOKIE}=forged"; {COOKIE}={value}',  # ours inside a quoted value
        f"{COOKIE}=abc def",  # a space ends a value
        f"a=1 {COOKIE}=evil",  # and separates pairs
        f"a=1, {COOKIE}={value}",  # so does a comma
        f"{COOKIE}={value}; {COOKIE}",  # a later one without "=" is still a cookie
        f"{COOKIE}=a\tb",
        f"{COOKIE}==x",
        f"{COOKIE}={value};x=1",  # no space after the semicolon
    ]
    for header in headers:
        request = make_mocked_request("GET", "/", headers={"Cookie": header} if header else {})
        assert session.cookie(request, COOKIE) == request.cookies.get(COOKIE, ""), header


def test_the_session_cookie_reads_as_aiohttps_parser_on_random_headers() -> None:
    chance = random.Random(7)
    pieces = [COOKIE, COOKIE, "a", "v1", "=", "=", ";", "; ", " ", ",", '"', "\t", "\\", "é"]
    for _ in range(1500):
        header = "".join(chance.choice(pieces) for _ in range(chance.randrange(1, 12)))
        request = make_mocked_request("GET", "/", headers={"Cookie": header})
        assert session.cookie(request, COOKIE) == request.cookies.get(COOKIE, ""), header


async def test_a_cookie_this_process_signed_is_trusted_without_another_hmac(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    session._verified.cache_clear()  # (an earlier test may have read a cookie of L1:L2)
    app = _app()
    request = _request(app, "")
    await session.bind(request, "L1")
    await session.bind(request, "L2")
    response = web.Response()
    session.set_cookie(request, response)
    value = response.headers["Set-Cookie"].split(";", 1)[0].removeprefix(f"{COOKIE}=")
    signed: list[object] = []

    def counted(*args: object) -> str:
        signed.append(args)
        return "x"

    monkeypatch.setattr(session, "_signature", counted)
    assert await owns(_request(app, value), "L1")  # the next request: no signature computed
    assert await owns(_request(app, value), "L2")
    assert signed == []
    assert not await owns(_request(_app(b"t" * 32), value), "L1")  # another key: checked
    assert signed  # (and refused)


async def test_the_signed_cookies_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session, "_SIGNED", {})
    monkeypatch.setattr(session, "MAX_SIGNED", 3)
    app = _app()
    for n in range(10):
        request = _request(app, "")
        await session.bind(request, f"L{n}")
        session.set_cookie(request, web.Response())
    assert len(session._SIGNED) == 3
    assert [ids for _, ids in session._SIGNED.items()] == [("L7",), ("L8",), ("L9",)]
