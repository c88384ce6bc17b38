"""sandbox.web.routing: the bank's routes found by shape, with aiohttp's own answers."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from aiohttp.web_urldispatcher import DynamicResource, MatchInfoError, UrlMappingMatchInfo

from sandbox.settings import Settings
from sandbox.web import routing
from sandbox.web.app import create_app

BANK = "/parasol/v1/banks/2011"
PATHS = [
    f"{BANK}/accounts",
    f"{BANK}/accounts/",
    f"{BANK}/accounts/0011234567",
    f"{BANK}/accounts/00%2F11/transactions",
    f"{BANK}/accounts/0011234567/transactions",
    f"{BANK}/accounts/0011234567/transactions/x",
    f"{BANK}/accounts//transactions",
    f"{BANK}/term_deposits",
    f"{BANK}/linkage/L1/finish",
    f"{BANK}/linkage/L1/account",
    f"{BANK}/linkage/L1/consent",
    f"{BANK}/linkage/L1",
    f"{BANK}/linkage//account",
    f"{BANK}/oauth/token",
    f"{BANK}/oauth/auth",
    f"{BANK}/oauth/revoke",
    f"{BANK}/oauth/introspect",
    f"{BANK}/oauth/nothing",
    f"{BANK}/oauth",
    f"{BANK}",
    f"{BANK}/",
    "/parasol/v1/banks",
    "/parasol/v1/banks/",
    "/parasol/v1/banks//accounts",
    f"{BANK}/nothing/here",
    "/.well-known/oauth-authorization-server/parasol/v1/banks/2011",
    "/_sandbox/health",
    "/_sandbox/accounts/A1/transfer",
    "/_sandbox/console/clock",
    "/static/app.css",
    "/docs",
    "/nowhere",
]
METHODS = ["GET", "POST", "DELETE"]


def _answer(found: UrlMappingMatchInfo) -> tuple[object, ...]:
    """What a resolution decided: the route and its values, or the error and its methods."""
    if isinstance(found, MatchInfoError):
        error = found.http_exception
        return type(error), error.status, sorted(getattr(error, "allowed_methods", ()))
    return found.route, dict(found)


@pytest.mark.parametrize("hosted", [False, True])
async def test_every_path_resolves_as_aiohttp_resolves_it(hosted: bool) -> None:
    app = create_app(Settings(secret_key=b"k" * 32, hosted=hosted))
    app.router.freeze()
    index = routing.SegmentIndex(app.router)
    assert routing.groups(app.router), "the bank's routes are indexed"
    for path, method in itertools.product(PATHS, METHODS):
        request = make_mocked_request(method, path, app=app)
        general = await web.UrlDispatcher.resolve(app.router, request)  # aiohttp's own
        indexed = await index.resolve(request)
        assert _answer(indexed) == _answer(general), (method, path)


async def test_each_bank_request_tries_only_the_routes_of_its_shape(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = create_app(Settings(secret_key=b"k" * 32))
    app.router.freeze()
    tried: list[str] = []
    resolve = DynamicResource.resolve

    async def counted(self: DynamicResource, request: web.Request):  # type: ignore[no-untyped-def]
        tried.append(self.canonical)
        return await resolve(self, request)

    monkeypatch.setattr(DynamicResource, "resolve", counted)
    expected = {
        ("GET", f"{BANK}/accounts"): 1,
        ("GET", f"{BANK}/accounts/0011234567/transactions"): 1,
        ("GET", f"{BANK}/term_deposits"): 1,
        ("GET", f"{BANK}/oauth/auth"): 1,
        ("POST", f"{BANK}/oauth/token"): 1,
        ("GET", f"{BANK}/linkage/L1/finish"): 1,
        ("POST", f"{BANK}/linkage/L1/account"): 2,  # finish, then {screen}
    }
    for (method, path), count in expected.items():
        tried.clear()
        found = await app.router.resolve(make_mocked_request(method, path, app=app))
        assert not isinstance(found, MatchInfoError), path
        assert len(tried) == count, (path, tried)
    tried.clear()
    request = make_mocked_request("GET", f"{BANK}/oauth/auth", app=app)
    await web.UrlDispatcher.resolve(app.router, request)
    assert len(tried) == 10  # aiohttp alone tries the bank's routes one after another


async def _handler(request: web.Request) -> web.Response:
    return web.Response()


def _app(*paths: str, static: str | None = None) -> web.Application:
    app = web.Application()
    if static is not None:
        app.router.add_static(static, Path(__file__).parent)
    for path in paths:
        app.router.add_get(path, _handler)
    app.router.freeze()
    return app


def test_routes_a_shape_cannot_tell_apart_are_left_to_aiohttp() -> None:
    three = ("/b/{bank}/x", "/b/{bank}/y", "/b/{bank}/z/{id}")
    assert [g[0] for g in routing.groups(_app(*three).router)] == ["/b/"]
    # fewer than three routes: aiohttp's walk is as quick
    assert routing.groups(_app(*three[:2]).router) == []
    # a variable with its own expression may match across segments
    assert routing.groups(_app(*three, "/b/{bank}/w/{rest:.*}").router) == []
    # a route under the prefix that aiohttp indexes apart comes first there
    assert routing.groups(_app(*three, "/b/special/x").router) == []
    # so may a static directory at the prefix itself (aiohttp files it under the same key)
    assert routing.groups(_app(*three, static="/b").router) == []
    # no segment spelt out by every route at one position
    assert routing.groups(_app("/b/{bank}/x", "/b/{bank}/{any}", "/b/{bank}/y/z").router) == []


async def test_before_the_router_is_frozen_aiohttp_resolves_alone() -> None:
    app = web.Application()

    async def handler(request: web.Request) -> web.Response:
        return web.Response()

    for name in ("x", "y", "z"):
        app.router.add_get(f"/b/{{bank}}/{name}", handler)
    index = routing.install(app.router)
    found = await app.router.resolve(make_mocked_request("GET", "/b/1/y", app=app))
    assert dict(found) == {"bank": "1"}
    assert index._groups is None
    app.router.add_get("/b/{bank}/late", handler)  # still possible: nothing was built
    app.router.freeze()
    found = await app.router.resolve(make_mocked_request("GET", "/b/1/late", app=app))
    assert dict(found) == {"bank": "1"}
    assert index._groups is not None
    assert [group[0] for group in index._groups] == ["/b/"]
