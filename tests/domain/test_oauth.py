"""The authorisation server as a client application experiences it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from multidict import MultiDict, MultiDictProxy

from sandbox.clock import JST
from sandbox.domain import pkce
from sandbox.domain.oauth import (
    AuthorizationServer,
    AuthorizeError,
    AuthRequest,
    BearerError,
    Client,
    TokenError,
    duplicate_keys,
)
from sandbox.scenario.model import Policy

NOW = datetime(2025, 4, 1, 10, 0, tzinfo=JST)
REDIRECT = "https://app.example/cb"
VERIFIER = "v" * 43 + "-._~0123456789"
CHALLENGE = pkce.s256(VERIFIER)

APP = Client("app", "app-secret-1", "App", (REDIRECT,), False, ("accounts",))
STRICT = Client("strict", "strict-secret", "Strict", (REDIRECT,), True, ("accounts",))
OTHER = Client(
    "other", "other-secret", "Other", ("https://other.example/cb",), False, ("accounts",)
)


@pytest.fixture
def server() -> AuthorizationServer:
    return AuthorizationServer([APP, STRICT, OTHER], Policy())


def authorize(server: AuthorizationServer, **extra: str) -> AuthRequest:
    params = {"response_type": "code", "client_id": "app", "redirect_uri": REDIRECT, "state": "s1"}
    params.update(extra)
    return server.validate_authorize(params)


def code_for(server: AuthorizationServer, now: datetime = NOW, **extra: str) -> str:
    return server.issue_code(authorize(server, **extra), "C001", ("001-1-1234567",), now)


def tokens(server: AuthorizationServer, now: datetime = NOW) -> dict[str, object]:
    return server.exchange_code(APP, code_for(server, now), REDIRECT, None, now)


def token_error(exc: pytest.ExceptionInfo[TokenError]) -> str:
    return exc.value.error


# --- authorization request ---------------------------------------------------------------


def test_authorize_defaults_scope_and_keeps_state(server: AuthorizationServer) -> None:
    request = authorize(server, state="xyz ü/+=")
    assert request.scope == "accounts"
    assert request.state == "xyz ü/+="
    assert request.code_challenge is None


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"client_id": "nobody", "redirect_uri": REDIRECT}, "invalid_request"),
        ({"client_id": "app"}, "invalid_request"),
        ({"client_id": "app", "redirect_uri": REDIRECT + "/"}, "invalid_request"),
        ({"client_id": "app", "redirect_uri": "https://APP.example/cb"}, "invalid_request"),
        ({"redirect_uri": REDIRECT}, "invalid_request"),
    ],
)
def test_bad_client_or_redirect_is_never_redirected(
    server: AuthorizationServer, params: dict[str, str], error: str
) -> None:
    with pytest.raises(AuthorizeError) as exc:
        server.validate_authorize({"response_type": "code", **params})
    assert exc.value.error == error
    assert not exc.value.redirectable
    assert exc.value.redirect_uri is None


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": ""}, "invalid_request"),
        ({"scope": "payments"}, "invalid_scope"),
        ({"scope": "accounts openid"}, "invalid_scope"),
        ({"code_challenge": CHALLENGE, "code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": CHALLENGE}, "invalid_request"),
        ({"code_challenge": "short", "code_challenge_method": "S256"}, "invalid_request"),
        ({"code_challenge_method": "S256"}, "invalid_request"),
    ],
)
def test_bad_request_is_redirected_with_state(
    server: AuthorizationServer, extra: dict[str, str], error: str
) -> None:
    with pytest.raises(AuthorizeError) as exc:
        authorize(server, **extra)
    assert exc.value.error == error
    assert exc.value.redirectable
    assert exc.value.redirect_uri == REDIRECT
    assert exc.value.query()["state"] == "s1"


def test_pkce_required_client_without_challenge(server: AuthorizationServer) -> None:
    params = {"response_type": "code", "client_id": "strict", "redirect_uri": REDIRECT}
    with pytest.raises(AuthorizeError) as exc:
        server.validate_authorize(params)
    assert exc.value.error == "invalid_request"
    assert "PKCE" in exc.value.description
    params |= {"code_challenge": CHALLENGE, "code_challenge_method": "S256"}
    assert server.validate_authorize(params).code_challenge == CHALLENGE


def test_overlong_state_is_refused(server: AuthorizationServer) -> None:
    with pytest.raises(AuthorizeError) as exc:
        authorize(server, state="s" * 513)
    assert exc.value.error == "invalid_request"
    assert "state" not in exc.value.query()
    assert authorize(server, state="s" * 512).state == "s" * 512


def query(pairs: list[tuple[str, str]]) -> MultiDictProxy[str]:
    """What the web layer passes: aiohttp's request.query, which keeps repeated keys."""
    return MultiDictProxy(MultiDict(pairs))


def test_duplicate_parameters(server: AuthorizationServer) -> None:
    assert duplicate_keys([("a", "1"), ("b", "2"), ("a", "3"), ("a", "4")]) == ["a"]
    base = [("response_type", "code"), ("client_id", "app"), ("redirect_uri", REDIRECT)]
    with pytest.raises(AuthorizeError) as exc:
        server.validate_authorize(query([*base, ("scope", "accounts"), ("scope", "accounts")]))
    assert (exc.value.error, exc.value.redirectable) == ("invalid_request", True)
    with pytest.raises(AuthorizeError) as exc:
        server.validate_authorize(query([*base, ("client_id", "other")]))
    assert (exc.value.error, exc.value.redirectable) == ("invalid_request", False)


# --- client authentication ---------------------------------------------------------------


def test_authenticate_client(server: AuthorizationServer) -> None:
    assert server.authenticate_client("app", "app-secret-1") is APP
    for client_id, secret in [("app", "wrong"), ("app", None), ("nobody", "x"), (None, None)]:
        with pytest.raises(TokenError) as exc:
            server.authenticate_client(client_id, secret)
        assert (exc.value.error, exc.value.status) == ("invalid_client", 401)
        assert "app-secret-1" not in str(exc.value)


# --- code exchange -----------------------------------------------------------------------


def test_code_exchange_gives_bearer_tokens(server: AuthorizationServer) -> None:
    body = tokens(server)
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["refresh_token_expires_in"] == 90 * 86400
    assert body["scope"] == "accounts"
    grant = server.authenticate_bearer(str(body["access_token"]), NOW)
    assert grant.customer_id == "C001"
    assert grant.account_refs == ("001-1-1234567",)
    assert grant.access_expires_at == NOW + timedelta(hours=1)
    assert grant.reauth_due_at == NOW + timedelta(days=90)


def test_code_reuse_revokes_first_tokens(server: AuthorizationServer) -> None:
    code = code_for(server)
    first = server.exchange_code(APP, code, REDIRECT, None, NOW)
    with pytest.raises(TokenError) as exc:
        server.exchange_code(APP, code, REDIRECT, None, NOW)
    assert token_error(exc) == "invalid_grant"
    with pytest.raises(BearerError) as bearer:
        server.authenticate_bearer(str(first["access_token"]), NOW)
    assert bearer.value.code == "invalid_token"
    with pytest.raises(TokenError):
        server.refresh(APP, str(first["refresh_token"]), None, NOW)


def test_expired_code(server: AuthorizationServer) -> None:
    code = code_for(server)
    assert server.exchange_code(APP, code_for(server), REDIRECT, None, NOW + timedelta(seconds=59))
    with pytest.raises(TokenError) as exc:
        server.exchange_code(APP, code, REDIRECT, None, NOW + timedelta(seconds=60))
    assert token_error(exc) == "invalid_grant"
    assert "expired" in exc.value.description


def test_code_of_another_client_or_unknown(server: AuthorizationServer) -> None:
    code = code_for(server)
    for client, value in [(OTHER, code), (APP, "no-such-code")]:
        with pytest.raises(TokenError) as exc:
            server.exchange_code(client, value, REDIRECT, None, NOW)
        assert token_error(exc) == "invalid_grant"
        assert value not in str(exc.value)
    assert server.exchange_code(APP, code, REDIRECT, None, NOW)["access_token"]


def test_redirect_uri_must_match(server: AuthorizationServer) -> None:
    with pytest.raises(TokenError) as exc:
        server.exchange_code(APP, code_for(server), "https://app.example/other", None, NOW)
    assert token_error(exc) == "invalid_grant"
    with pytest.raises(TokenError) as exc:
        server.exchange_code(APP, code_for(server), None, None, NOW)
    assert token_error(exc) == "invalid_request"


def test_failed_attempt_burns_the_code(server: AuthorizationServer) -> None:
    code = code_for(server)
    with pytest.raises(TokenError):
        server.exchange_code(APP, code, "https://app.example/other", None, NOW)
    with pytest.raises(TokenError) as exc:
        server.exchange_code(APP, code, REDIRECT, None, NOW)
    assert "already used" in exc.value.description


# --- PKCE --------------------------------------------------------------------------------


def pkce_code(server: AuthorizationServer) -> str:
    return code_for(server, code_challenge=CHALLENGE, code_challenge_method="S256")


def test_pkce_happy_path(server: AuthorizationServer) -> None:
    body = server.exchange_code(APP, pkce_code(server), REDIRECT, VERIFIER, NOW)
    assert server.authenticate_bearer(str(body["access_token"]), NOW).client_id == "app"


def test_pkce_rfc7636_appendix_b_vector() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce.s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


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
def test_pkce_failures(server: AuthorizationServer, verifier: str | None, error: str) -> None:
    with pytest.raises(TokenError) as exc:
        server.exchange_code(APP, pkce_code(server), REDIRECT, verifier, NOW)
    assert token_error(exc) == error


def test_verifier_without_challenge(server: AuthorizationServer) -> None:
    with pytest.raises(TokenError) as exc:
        server.exchange_code(APP, code_for(server), REDIRECT, VERIFIER, NOW)
    assert token_error(exc) == "invalid_grant"
    assert "code_challenge" in exc.value.description


# --- refresh -----------------------------------------------------------------------------


def test_refresh_rotates(server: AuthorizationServer) -> None:
    first = tokens(server)
    later = NOW + timedelta(hours=2)
    second = server.refresh(APP, str(first["refresh_token"]), None, later)
    assert second["refresh_token"] != first["refresh_token"]
    grant = server.authenticate_bearer(str(second["access_token"]), later)
    assert grant.auth_time == NOW  # the re-auth period counts from the linkage
    third = server.refresh(APP, str(second["refresh_token"]), "accounts", later)
    assert server.authenticate_bearer(str(third["access_token"]), later)


def test_refresh_reuse_revokes_grant(server: AuthorizationServer) -> None:
    first = tokens(server)
    second = server.refresh(APP, str(first["refresh_token"]), None, NOW)
    with pytest.raises(TokenError) as exc:
        server.refresh(APP, str(first["refresh_token"]), None, NOW)
    assert token_error(exc) == "invalid_grant"
    with pytest.raises(BearerError):
        server.authenticate_bearer(str(second["access_token"]), NOW)
    with pytest.raises(TokenError):
        server.refresh(APP, str(second["refresh_token"]), None, NOW)


def test_refresh_other_client_expired_scope(server: AuthorizationServer) -> None:
    first = tokens(server)
    refresh = str(first["refresh_token"])
    with pytest.raises(TokenError) as exc:
        server.refresh(OTHER, refresh, None, NOW)
    assert token_error(exc) == "invalid_grant"
    with pytest.raises(TokenError) as exc:
        server.refresh(APP, refresh, "accounts payments", NOW)
    assert token_error(exc) == "invalid_scope"
    short = AuthorizationServer([APP], Policy(refresh_token_ttl_seconds=10))
    body = tokens(short)
    with pytest.raises(TokenError) as exc:
        short.refresh(APP, str(body["refresh_token"]), None, NOW + timedelta(seconds=10))
    assert "expired" in exc.value.description
    assert server.refresh(APP, refresh, None, NOW)  # failed attempts did not rotate it


def test_periodic_reauthentication(server: AuthorizationServer) -> None:
    body = tokens(server)
    refresh = str(body["refresh_token"])
    day = NOW
    for _ in range(89):  # refreshing daily keeps working until the period ends
        day += timedelta(days=1)
        body = server.refresh(APP, refresh, None, day)
        refresh = str(body["refresh_token"])
    due = NOW + timedelta(days=90)
    with pytest.raises(BearerError) as bearer:
        server.authenticate_bearer(str(body["access_token"]), due)
    assert bearer.value.code == "reauth_required"
    with pytest.raises(TokenError) as exc:
        server.refresh(APP, refresh, None, due)
    assert token_error(exc) == "invalid_grant"
    assert "re-authentication" in exc.value.description


def test_access_token_expiry_and_scope(server: AuthorizationServer) -> None:
    access = str(tokens(server)["access_token"])
    with pytest.raises(BearerError) as bearer:
        server.authenticate_bearer(access, NOW, scope="payments")
    assert bearer.value.code == "insufficient_scope"
    with pytest.raises(BearerError) as bearer:
        server.authenticate_bearer(access, NOW + timedelta(seconds=3600))
    assert bearer.value.code == "invalid_token"
    with pytest.raises(BearerError):
        server.authenticate_bearer("made-up", NOW)


# --- revoke, introspect, account transfer ------------------------------------------------


def test_revoke_access_token_only(server: AuthorizationServer) -> None:
    body = tokens(server)
    server.revoke(APP, str(body["access_token"]), None, NOW)
    with pytest.raises(BearerError):
        server.authenticate_bearer(str(body["access_token"]), NOW)
    assert server.refresh(APP, str(body["refresh_token"]), None, NOW)


def test_revoke_refresh_token_revokes_grant(server: AuthorizationServer) -> None:
    body = tokens(server)
    server.revoke(APP, str(body["refresh_token"]), "refresh_token", NOW)
    with pytest.raises(BearerError):
        server.authenticate_bearer(str(body["access_token"]), NOW)
    assert server.introspect(APP, str(body["refresh_token"]), NOW) == {"active": False}


def test_revoke_unknown_or_foreign_token_is_harmless(server: AuthorizationServer) -> None:
    body = tokens(server)
    server.revoke(APP, "unknown", None, NOW)
    server.revoke(OTHER, str(body["refresh_token"]), None, NOW)
    server.revoke(OTHER, str(body["access_token"]), "access_token", NOW)
    assert server.authenticate_bearer(str(body["access_token"]), NOW)


def test_introspect(server: AuthorizationServer) -> None:
    body = tokens(server)
    info = server.introspect(APP, str(body["access_token"]), NOW)
    assert info["active"] is True
    assert info["client_id"] == "app"
    assert info["sub"] == "C001"
    assert info["accounts"] == ["001-1-1234567"]
    assert info["token_type"] == "Bearer"
    assert info["scope"] == "accounts"
    assert info["exp"] == int((NOW + timedelta(hours=1)).timestamp())
    assert info["iat"] == int(NOW.timestamp())
    assert server.introspect(APP, str(body["refresh_token"]), NOW)["active"] is True
    assert server.introspect(OTHER, str(body["access_token"]), NOW) == {"active": False}
    assert server.introspect(APP, "unknown", NOW) == {"active": False}
    later = NOW + timedelta(hours=1)
    assert server.introspect(APP, str(body["access_token"]), later) == {"active": False}


def test_revoke_account(server: AuthorizationServer) -> None:
    a, b = tokens(server), tokens(server)
    other = server.exchange_code(
        APP,
        server.issue_code(authorize(server), "C002", ("002-1-7654321",), NOW),
        REDIRECT,
        None,
        NOW,
    )
    assert server.revoke_account("001-1-1234567") == 2
    assert server.revoke_account("001-1-1234567") == 0
    for body in (a, b):
        with pytest.raises(BearerError):
            server.authenticate_bearer(str(body["access_token"]), NOW)
    assert server.authenticate_bearer(str(other["access_token"]), NOW).customer_id == "C002"


def test_reset_forgets_everything(server: AuthorizationServer) -> None:
    body = tokens(server)
    server.reset()
    with pytest.raises(BearerError):
        server.authenticate_bearer(str(body["access_token"]), NOW)


def test_raw_tokens_are_not_stored(server: AuthorizationServer) -> None:
    body = tokens(server)
    dump = repr(vars(server)) if hasattr(server, "__dict__") else ""
    dump += repr([server._access, server._refresh, server._codes])
    assert str(body["access_token"]) not in dump
    assert str(body["refresh_token"]) not in dump


# --- concurrency -------------------------------------------------------------------------


def race(count: int, action: object) -> list[object]:
    barrier = threading.Barrier(count)

    def attempt(_: int) -> object:
        barrier.wait()
        try:
            return action()  # type: ignore[operator]
        except TokenError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(attempt, range(count)))


def test_concurrent_code_redemption_has_one_winner(server: AuthorizationServer) -> None:
    code = code_for(server)
    results = race(50, lambda: server.exchange_code(APP, code, REDIRECT, None, NOW))
    wins = [r for r in results if isinstance(r, dict)]
    assert len(wins) == 1
    assert all(r.error == "invalid_grant" for r in results if isinstance(r, TokenError))
    # the losers' replays revoked the winner's tokens (RFC 6749 4.1.2)
    with pytest.raises(BearerError):
        server.authenticate_bearer(str(wins[0]["access_token"]), NOW)


def test_concurrent_refresh_has_one_winner(server: AuthorizationServer) -> None:
    refresh = str(tokens(server)["refresh_token"])
    results = race(20, lambda: server.refresh(APP, refresh, None, NOW))
    assert sum(isinstance(r, dict) for r in results) == 1
    assert sum(isinstance(r, TokenError) for r in results) == 19


def test_stores_are_swept_once_tokens_are_long_expired() -> None:
    from sandbox.domain import oauth as module

    server = AuthorizationServer([APP], Policy(refresh_token_ttl_seconds=3600))
    count = module.SWEEP_MIN + 10
    for i in range(count):
        tokens(server, NOW + timedelta(seconds=i))
    assert len(server.grants()) == count
    # Two days later the old linkages are swept as new ones arrive; new ones still work.
    later = NOW + timedelta(days=2)
    for _ in range(count):
        body = tokens(server, later)
    assert len(server.grants()) == count  # only the new ones are left
    grant = server.authenticate_bearer(str(body["access_token"]), later)
    assert grant.customer_id == "C001"
