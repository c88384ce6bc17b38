"""The authorisation server over its store, as a client application experiences it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest

from sandbox.clock import JST
from sandbox.domain.oauth import pkce
from sandbox.domain.oauth.authorize import AuthRequest
from sandbox.domain.oauth.clients import Client
from sandbox.domain.oauth.errors import BearerError, TokenError
from sandbox.domain.oauth.policy import OAuthPolicy
from sandbox.domain.oauth.tokens import token_hash
from sandbox.scenario.bundled import default_scenario
from sandbox.store import memory
from sandbox.store.base import TenantStore
from sandbox.store.memory import MemoryStore
from sandbox.tenant.authorization import AuthorizationServer

NOW = datetime(2025, 4, 1, 10, 0, tzinfo=JST)
REDIRECT = "https://app.example/cb"
VERIFIER = "v" * 43 + "-._~0123456789"
CHALLENGE = pkce.s256(VERIFIER)

APP = Client("app", "app-secret-1", "App", (REDIRECT,), False, ("accounts",))
STRICT = Client("strict", "strict-secret", "Strict", (REDIRECT,), True, ("accounts",))
OTHER = Client(
    "other", "other-secret", "Other", ("https://other.example/cb",), False, ("accounts",)
)

Body = dict[str, object]


@pytest.fixture
def server(tenant_store: TenantStore) -> AuthorizationServer:
    return AuthorizationServer([APP, STRICT, OTHER], OAuthPolicy(), tenant_store)


async def memory_store() -> MemoryStore:
    """A fresh in-memory store with bank 2011, for tests that look inside or reset it."""
    store = MemoryStore()
    await store.put_bank("2011", default_scenario(), "<test>")
    return store


def authorize(server: AuthorizationServer, **extra: str) -> AuthRequest:
    params = {"response_type": "code", "client_id": "app", "redirect_uri": REDIRECT, "state": "s1"}
    params.update(extra)
    return server.validate_authorize(params)


async def code_for(server: AuthorizationServer, now: datetime = NOW, **extra: str) -> str:
    return await server.issue_code(authorize(server, **extra), "C001", ("001-1-1234567",), now)


async def tokens(server: AuthorizationServer, now: datetime = NOW) -> Body:
    return await server.exchange_code(APP, await code_for(server, now), REDIRECT, None, now)


def token_error(exc: pytest.ExceptionInfo[TokenError]) -> str:
    return exc.value.error


# --- the stateless part: clients and the authorization request ---------------------------


def test_clients_and_requests_are_those_registered(server: AuthorizationServer) -> None:
    assert server.client("app") is APP
    assert server.client("nobody") is None
    assert server.authenticate_client("other", "other-secret") is OTHER
    with pytest.raises(TokenError) as exc:
        server.authenticate_client("other", "app-secret-1")
    assert token_error(exc) == "invalid_client"
    assert authorize(server).client_id == "app"


# --- code exchange -----------------------------------------------------------------------


async def test_code_exchange_gives_bearer_tokens(server: AuthorizationServer) -> None:
    body = await tokens(server)
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["refresh_token_expires_in"] == 90 * 86400
    assert body["scope"] == "accounts"
    grant = await server.authenticate_bearer(str(body["access_token"]), NOW)
    assert grant.customer_id == "C001"
    assert grant.account_refs == ("001-1-1234567",)
    assert grant.access_expires_at == NOW + timedelta(hours=1)
    assert grant.reauth_due_at == NOW + timedelta(days=90)


async def test_code_reuse_revokes_first_tokens(server: AuthorizationServer) -> None:
    code = await code_for(server)
    first = await server.exchange_code(APP, code, REDIRECT, None, NOW)
    with pytest.raises(TokenError) as exc:
        await server.exchange_code(APP, code, REDIRECT, None, NOW)
    assert token_error(exc) == "invalid_grant"
    with pytest.raises(BearerError) as bearer:
        await server.authenticate_bearer(str(first["access_token"]), NOW)
    assert bearer.value.code == "invalid_token"
    with pytest.raises(TokenError):
        await server.refresh(APP, str(first["refresh_token"]), None, NOW)


async def test_expired_code(server: AuthorizationServer) -> None:
    code = await code_for(server)
    assert await server.exchange_code(
        APP, await code_for(server), REDIRECT, None, NOW + timedelta(seconds=59)
    )
    with pytest.raises(TokenError) as exc:
        await server.exchange_code(APP, code, REDIRECT, None, NOW + timedelta(seconds=60))
    assert token_error(exc) == "invalid_grant"
    assert "expired" in exc.value.description


async def test_code_of_another_client_or_unknown(server: AuthorizationServer) -> None:
    code = await code_for(server)
    for client, value in [(OTHER, code), (APP, "no-such-code")]:
        with pytest.raises(TokenError) as exc:
            await server.exchange_code(client, value, REDIRECT, None, NOW)
        assert token_error(exc) == "invalid_grant"
        assert value not in str(exc.value)
    assert (await server.exchange_code(APP, code, REDIRECT, None, NOW))["access_token"]


async def test_redirect_uri_must_match(server: AuthorizationServer) -> None:
    with pytest.raises(TokenError) as exc:
        await server.exchange_code(
            APP, await code_for(server), "https://app.example/other", None, NOW
        )
    assert token_error(exc) == "invalid_grant"
    with pytest.raises(TokenError) as exc:
        await server.exchange_code(APP, await code_for(server), None, None, NOW)
    assert token_error(exc) == "invalid_request"


async def test_failed_attempt_burns_the_code(server: AuthorizationServer) -> None:
    code = await code_for(server)
    with pytest.raises(TokenError):
        await server.exchange_code(APP, code, "https://app.example/other", None, NOW)
    with pytest.raises(TokenError) as exc:
        await server.exchange_code(APP, code, REDIRECT, None, NOW)
    assert "already used" in exc.value.description


# --- PKCE --------------------------------------------------------------------------------


async def pkce_code(server: AuthorizationServer) -> str:
    return await code_for(server, code_challenge=CHALLENGE, code_challenge_method="S256")


async def test_pkce_happy_path(server: AuthorizationServer) -> None:
    body = await server.exchange_code(APP, await pkce_code(server), REDIRECT, VERIFIER, NOW)
    assert (await server.authenticate_bearer(str(body["access_token"]), NOW)).client_id == "app"


@pytest.mark.parametrize(
    ("verifier", "error"),
    [
        ("w" * 43, "invalid_grant"),  # wrong verifier
        (None, "invalid_grant"),  # challenge without verifier
        ("v" * 42, "invalid_request"),  # too short
        ("v" * 129, "invalid_request"),  # too long
        ("v" * 42 + "+", "invalid_request"),  # outside the alphabet
    ],
)
async def test_pkce_failures(server: AuthorizationServer, verifier: str | None, error: str) -> None:
    with pytest.raises(TokenError) as exc:
        await server.exchange_code(APP, await pkce_code(server), REDIRECT, verifier, NOW)
    assert token_error(exc) == error


async def test_verifier_without_challenge(server: AuthorizationServer) -> None:
    with pytest.raises(TokenError) as exc:
        await server.exchange_code(APP, await code_for(server), REDIRECT, VERIFIER, NOW)
    assert token_error(exc) == "invalid_grant"
    assert "code_challenge" in exc.value.description


# --- refresh -----------------------------------------------------------------------------


async def test_refresh_rotates(server: AuthorizationServer) -> None:
    first = await tokens(server)
    later = NOW + timedelta(hours=2)
    second = await server.refresh(APP, str(first["refresh_token"]), None, later)
    assert second["refresh_token"] != first["refresh_token"]
    grant = await server.authenticate_bearer(str(second["access_token"]), later)
    assert grant.auth_time == NOW  # the re-auth period counts from the linkage
    third = await server.refresh(APP, str(second["refresh_token"]), "accounts", later)
    assert await server.authenticate_bearer(str(third["access_token"]), later)


async def test_refresh_reuse_revokes_grant(server: AuthorizationServer) -> None:
    first = await tokens(server)
    second = await server.refresh(APP, str(first["refresh_token"]), None, NOW)
    with pytest.raises(TokenError) as exc:
        await server.refresh(APP, str(first["refresh_token"]), None, NOW)
    assert token_error(exc) == "invalid_grant"
    with pytest.raises(BearerError):
        await server.authenticate_bearer(str(second["access_token"]), NOW)
    with pytest.raises(TokenError):
        await server.refresh(APP, str(second["refresh_token"]), None, NOW)


async def test_refresh_other_client_expired_scope(
    server: AuthorizationServer, tenant_store: TenantStore
) -> None:
    first = await tokens(server)
    refresh = str(first["refresh_token"])
    with pytest.raises(TokenError) as exc:
        await server.refresh(OTHER, refresh, None, NOW)
    assert token_error(exc) == "invalid_grant"
    with pytest.raises(TokenError) as exc:
        await server.refresh(APP, refresh, "accounts payments", NOW)
    assert token_error(exc) == "invalid_scope"
    short = AuthorizationServer([APP], OAuthPolicy(refresh_token_ttl_seconds=10), tenant_store)
    body = await tokens(short)
    with pytest.raises(TokenError) as exc:
        await short.refresh(APP, str(body["refresh_token"]), None, NOW + timedelta(seconds=10))
    assert "expired" in exc.value.description
    assert await server.refresh(APP, refresh, None, NOW)  # failed attempts did not rotate it


async def test_periodic_reauthentication(server: AuthorizationServer) -> None:
    body = await tokens(server)
    refresh = str(body["refresh_token"])
    day = NOW
    for _ in range(89):  # refreshing daily keeps working until the period ends
        day += timedelta(days=1)
        body = await server.refresh(APP, refresh, None, day)
        refresh = str(body["refresh_token"])
    due = NOW + timedelta(days=90)
    with pytest.raises(BearerError) as bearer:
        await server.authenticate_bearer(str(body["access_token"]), due)
    assert bearer.value.code == "reauth_required"
    with pytest.raises(TokenError) as exc:
        await server.refresh(APP, refresh, None, due)
    assert token_error(exc) == "invalid_grant"
    assert "re-authentication" in exc.value.description


async def test_access_token_expiry_and_scope(server: AuthorizationServer) -> None:
    access = str((await tokens(server))["access_token"])
    with pytest.raises(BearerError) as bearer:
        await server.authenticate_bearer(access, NOW, scope="payments")
    assert bearer.value.code == "insufficient_scope"
    with pytest.raises(BearerError) as bearer:
        await server.authenticate_bearer(access, NOW + timedelta(seconds=3600))
    assert bearer.value.code == "invalid_token"
    with pytest.raises(BearerError):
        await server.authenticate_bearer("made-up", NOW)


# --- revoke, introspect, account transfer ------------------------------------------------


async def test_revoke_access_token_only(server: AuthorizationServer) -> None:
    body = await tokens(server)
    await server.revoke(APP, str(body["access_token"]), None, NOW)
    with pytest.raises(BearerError):
        await server.authenticate_bearer(str(body["access_token"]), NOW)
    assert await server.refresh(APP, str(body["refresh_token"]), None, NOW)


async def test_revoke_refresh_token_revokes_grant(server: AuthorizationServer) -> None:
    body = await tokens(server)
    await server.revoke(APP, str(body["refresh_token"]), "refresh_token", NOW)
    with pytest.raises(BearerError):
        await server.authenticate_bearer(str(body["access_token"]), NOW)
    assert await server.introspect(APP, str(body["refresh_token"]), NOW) == {"active": False}


async def test_revoke_unknown_or_foreign_token_is_harmless(server: AuthorizationServer) -> None:
    body = await tokens(server)
    await server.revoke(APP, "unknown", None, NOW)
    await server.revoke(OTHER, str(body["refresh_token"]), None, NOW)
    await server.revoke(OTHER, str(body["access_token"]), "access_token", NOW)
    assert await server.authenticate_bearer(str(body["access_token"]), NOW)


async def test_introspect(server: AuthorizationServer) -> None:
    body = await tokens(server)
    info = await server.introspect(APP, str(body["access_token"]), NOW)
    assert info["active"] is True
    assert info["client_id"] == "app"
    assert info["sub"] == "C001"
    assert info["accounts"] == ["001-1-1234567"]
    assert info["token_type"] == "Bearer"
    assert info["scope"] == "accounts"
    assert info["exp"] == int((NOW + timedelta(hours=1)).timestamp())
    assert info["iat"] == int(NOW.timestamp())
    assert (await server.introspect(APP, str(body["refresh_token"]), NOW))["active"] is True
    assert await server.introspect(OTHER, str(body["access_token"]), NOW) == {"active": False}
    assert await server.introspect(APP, "unknown", NOW) == {"active": False}
    later = NOW + timedelta(hours=1)
    assert await server.introspect(APP, str(body["access_token"]), later) == {"active": False}


async def test_grants_linking_counts_live_grants_of_an_account(
    server: AuthorizationServer,
) -> None:
    a, _ = await tokens(server), await tokens(server)
    other = await server.exchange_code(
        APP,
        await server.issue_code(authorize(server), "C002", ("002-1-7654321",), NOW),
        REDIRECT,
        None,
        NOW,
    )
    assert await server.grants_linking("001-1-1234567") == 2
    assert await server.grants_linking("002-1-7654321") == 1
    await server.revoke(APP, str(a["refresh_token"]), None, NOW)  # a revoked grant: not counted
    assert await server.grants_linking("001-1-1234567") == 1
    # Counting changes nothing: the tokens still work.
    grant = await server.authenticate_bearer(str(other["access_token"]), NOW)
    assert grant.customer_id == "C002"


async def test_reset_forgets_everything() -> None:
    store = await memory_store()
    server = AuthorizationServer([APP], OAuthPolicy(), store.tenant("2011"))
    body = await tokens(server)
    await store.reset_bank("2011")  # a reset is a fresh store state
    with pytest.raises(BearerError):
        await server.authenticate_bearer(str(body["access_token"]), NOW)
    assert await server.grants() == []


async def test_raw_tokens_are_not_stored() -> None:
    store = await memory_store()
    server = AuthorizationServer([APP], OAuthPolicy(), store.tenant("2011"))
    body = await tokens(server)
    state = store.states["2011"]
    dump = repr(state) + repr([state.codes.items, state.grants.items, state.token_grants])
    for raw in (str(body["access_token"]), str(body["refresh_token"])):
        assert raw not in dump
        assert await store.tenant("2011").grant_of_token(raw) is None
        assert await store.tenant("2011").grant_of_token(token_hash(raw)) is not None


# --- concurrency -------------------------------------------------------------------------


async def race(count: int, action: Callable[[], Awaitable[Body]]) -> list[Body | TokenError]:
    """Run ``action`` ``count`` times at once; each result or the TokenError it raised."""

    async def attempt() -> Body | TokenError:
        await asyncio.sleep(0)  # every attempt has started before any goes on
        try:
            return await action()
        except TokenError as exc:
            return exc

    return list(await asyncio.gather(*(attempt() for _ in range(count))))


async def test_concurrent_code_redemption_has_one_winner(server: AuthorizationServer) -> None:
    code = await code_for(server)
    results = await race(50, lambda: server.exchange_code(APP, code, REDIRECT, None, NOW))
    wins = [r for r in results if isinstance(r, dict)]
    assert len(wins) == 1
    assert all(r.error == "invalid_grant" for r in results if isinstance(r, TokenError))
    # the losers' replays revoked the winner's tokens (RFC 6749 4.1.2)
    with pytest.raises(BearerError):
        await server.authenticate_bearer(str(wins[0]["access_token"]), NOW)


async def test_concurrent_refresh_has_one_winner(server: AuthorizationServer) -> None:
    refresh = str((await tokens(server))["refresh_token"])
    results = await race(20, lambda: server.refresh(APP, refresh, None, NOW))
    assert sum(isinstance(r, dict) for r in results) == 1
    assert sum(isinstance(r, TokenError) for r in results) == 19


async def test_stores_are_swept_once_tokens_are_long_expired(tenant_store: TenantStore) -> None:
    server = AuthorizationServer([APP], OAuthPolicy(refresh_token_ttl_seconds=3600), tenant_store)
    count = memory.SWEEP_MIN + 10
    for i in range(count):
        await tokens(server, NOW + timedelta(seconds=i))
    assert len(await server.grants()) == count
    # Two days later the old linkages are swept as new ones arrive; new ones still work.
    later = NOW + timedelta(days=2)
    for _ in range(count):
        body = await tokens(server, later)
    assert len(await server.grants()) == count  # only the new ones are left
    grant = await server.authenticate_bearer(str(body["access_token"]), later)
    assert grant.customer_id == "C001"


def test_a_presented_tokens_hash_is_its_token_hash_and_only_short_ones_are_kept() -> None:
    from sandbox.tenant.authorization import _remembered_hash, bearer_hash

    short, long = "a" * 43, "b" * 5000
    assert bearer_hash(short) == bearer_hash(short) == token_hash(short)
    kept = _remembered_hash.cache_info().currsize
    assert bearer_hash(long) == token_hash(long)
    assert _remembered_hash.cache_info().currsize == kept  # a huge header costs no memory
