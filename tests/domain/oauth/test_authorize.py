"""The authorization request as a client application sends it: which errors, redirected or not."""

from __future__ import annotations

import pytest
from multidict import MultiDict, MultiDictProxy

from sandbox.domain.oauth import pkce
from sandbox.domain.oauth.authorize import AuthRequest, duplicate_keys, validate_authorize
from sandbox.domain.oauth.clients import Client
from sandbox.domain.oauth.errors import AuthorizeError

REDIRECT = "https://app.example/cb"
CHALLENGE = pkce.s256("v" * 43 + "-._~0123456789")

APP = Client("app", "app-secret-1", "App", (REDIRECT,), False, ("accounts",))
STRICT = Client("strict", "strict-secret", "Strict", (REDIRECT,), True, ("accounts",))
OTHER = Client(
    "other", "other-secret", "Other", ("https://other.example/cb",), False, ("accounts",)
)
CLIENTS = {c.client_id: c for c in (APP, STRICT, OTHER)}


def authorize(**extra: str) -> AuthRequest:
    params = {"response_type": "code", "client_id": "app", "redirect_uri": REDIRECT, "state": "s1"}
    params.update(extra)
    return validate_authorize(CLIENTS, params)


def test_authorize_defaults_scope_and_keeps_state() -> None:
    request = authorize(state="xyz ü/+=")
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
def test_bad_client_or_redirect_is_never_redirected(params: dict[str, str], error: str) -> None:
    with pytest.raises(AuthorizeError) as exc:
        validate_authorize(CLIENTS, {"response_type": "code", **params})
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
def test_bad_request_is_redirected_with_state(extra: dict[str, str], error: str) -> None:
    with pytest.raises(AuthorizeError) as exc:
        authorize(**extra)
    assert exc.value.error == error
    assert exc.value.redirectable
    assert exc.value.redirect_uri == REDIRECT
    assert exc.value.query()["state"] == "s1"


def test_pkce_required_client_without_challenge() -> None:
    params = {"response_type": "code", "client_id": "strict", "redirect_uri": REDIRECT}
    with pytest.raises(AuthorizeError) as exc:
        validate_authorize(CLIENTS, params)
    assert exc.value.error == "invalid_request"
    assert "PKCE" in exc.value.description
    params |= {"code_challenge": CHALLENGE, "code_challenge_method": "S256"}
    assert validate_authorize(CLIENTS, params).code_challenge == CHALLENGE


def test_overlong_state_is_refused() -> None:
    with pytest.raises(AuthorizeError) as exc:
        authorize(state="s" * 513)
    assert exc.value.error == "invalid_request"
    assert "state" not in exc.value.query()
    assert authorize(state="s" * 512).state == "s" * 512


def query(pairs: list[tuple[str, str]]) -> MultiDictProxy[str]:
    """What the web layer passes: aiohttp's request.query, which keeps repeated keys."""
    return MultiDictProxy(MultiDict(pairs))


def test_duplicate_parameters() -> None:
    assert duplicate_keys([("a", "1"), ("b", "2"), ("a", "3"), ("a", "4")]) == ["a"]
    base = [("response_type", "code"), ("client_id", "app"), ("redirect_uri", REDIRECT)]
    with pytest.raises(AuthorizeError) as exc:
        validate_authorize(CLIENTS, query([*base, ("scope", "accounts"), ("scope", "accounts")]))
    assert (exc.value.error, exc.value.redirectable) == ("invalid_request", True)
    with pytest.raises(AuthorizeError) as exc:
        validate_authorize(CLIENTS, query([*base, ("client_id", "other")]))
    assert (exc.value.error, exc.value.redirectable) == ("invalid_request", False)
