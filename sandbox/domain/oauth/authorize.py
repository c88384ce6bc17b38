"""The authorization request (RFC 6749 4.1.1): which client, which redirect URI, PKCE, scope.

Exact redirect URIs only; errors that cannot be trusted to the redirect URI (unknown client,
unregistered URI) are shown, never redirected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sandbox.domain.oauth import pkce
from sandbox.domain.oauth.clients import Client
from sandbox.domain.oauth.errors import AuthorizeError

DEFAULT_SCOPE = "accounts"
KNOWN_SCOPES = frozenset({DEFAULT_SCOPE})
MAX_STATE_LENGTH = 512


@dataclass(frozen=True, slots=True)
class AuthRequest:
    """A validated authorization request (RFC 6749 4.1.1)."""

    client_id: str
    redirect_uri: str
    state: str | None
    scope: str
    code_challenge: str | None
    code_challenge_method: str | None


def duplicate_keys(items: Iterable[tuple[str, object]]) -> list[str]:
    """Keys that occur more than once among ``items`` (RFC 6749 3.1: parameters are unique)."""
    seen: set[str] = set()
    dups: list[str] = []
    for key, _ in items:
        if key in seen and key not in dups:
            dups.append(key)
        seen.add(key)
    return dups


def scope_tokens(scope: str) -> list[str]:
    return scope.split()


def validate_authorize(clients: Mapping[str, Client], params: Mapping[str, str]) -> AuthRequest:
    """Check an authorization request; raises AuthorizeError."""
    dups = duplicate_keys(params.items())
    client, redirect_uri = _authorize_target(clients, params, dups)

    def fail(error: str, description: str, state: str | None) -> AuthorizeError:
        return AuthorizeError(
            error, description, redirectable=True, redirect_uri=redirect_uri, state=state
        )

    state = params.get("state")
    if "state" in dups:
        raise fail("invalid_request", "parameter 'state' is repeated", None)
    if state is not None and len(state) > MAX_STATE_LENGTH:
        raise fail("invalid_request", f"state is longer than {MAX_STATE_LENGTH}", None)
    if dups:
        raise fail("invalid_request", f"repeated parameters: {', '.join(dups)}", state)
    response_type = params.get("response_type")
    if not response_type:
        raise fail("invalid_request", "response_type is required (use 'code')", state)
    if response_type != "code":
        raise fail("unsupported_response_type", "only response_type=code is supported", state)
    scope = _authorize_scope(client, params.get("scope"))
    if scope is None:
        raise fail("invalid_scope", f"scope must be '{DEFAULT_SCOPE}'", state)
    problem = _pkce_problem(client, params)
    if problem:
        raise fail("invalid_request", problem, state)
    challenge = params.get("code_challenge") or None
    return AuthRequest(
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        state=state,
        scope=scope,
        code_challenge=challenge,
        code_challenge_method="S256" if challenge else None,
    )


def _authorize_target(
    clients: Mapping[str, Client], params: Mapping[str, str], dups: list[str]
) -> tuple[Client, str]:
    """The client and redirect URI, or a non-redirectable AuthorizeError."""

    def fail(error: str, description: str) -> AuthorizeError:
        return AuthorizeError(error, description, redirectable=False)

    if "client_id" in dups or "redirect_uri" in dups:
        raise fail("invalid_request", "client_id and redirect_uri must appear once")
    client_id = params.get("client_id")
    if not client_id:
        raise fail("invalid_request", "client_id is required")
    client = clients.get(client_id)
    if client is None:
        raise fail("invalid_request", "unknown client_id")
    redirect_uri = params.get("redirect_uri")
    if not redirect_uri:
        raise fail("invalid_request", "redirect_uri is required")
    if redirect_uri not in client.redirect_uris:
        raise fail(
            "invalid_request", "redirect_uri does not exactly match a registered redirect URI"
        )
    return client, redirect_uri


def _authorize_scope(client: Client, scope: str | None) -> str | None:
    """The granted scope string, or None if the request asks for anything else."""
    tokens = scope_tokens(scope or "") or [DEFAULT_SCOPE]
    if any(t not in KNOWN_SCOPES or t not in client.scopes for t in tokens):
        return None
    return " ".join(dict.fromkeys(tokens))


def _pkce_problem(client: Client, params: Mapping[str, str]) -> str | None:
    """Why the PKCE parameters are unacceptable, or None."""
    challenge = params.get("code_challenge") or None
    method = params.get("code_challenge_method") or None
    if challenge is None:
        if method is not None:
            return "code_challenge_method given without code_challenge"
        if client.pkce_required:
            return "this client must use PKCE: send code_challenge and code_challenge_method=S256"
        return None
    if method != "S256":
        return "code_challenge_method must be S256 (plain is not supported)"
    if not pkce.is_valid_challenge(challenge):
        return pkce.CHALLENGE_RULE
    return None
