"""Codes, grants and tokens as values, and the rules that move them (pure functions).

Choices where the RFCs leave room (documented for vendors):
- Codes are single use. Any redemption attempt by the client the code was issued to burns
  it, even a failed one (wrong verifier, wrong redirect_uri). Redeeming a code a second time
  revokes the whole grant the first redemption created (RFC 6749 4.1.2).
- Refresh tokens rotate. Presenting a rotated refresh token is taken as theft: the whole
  grant (every access and refresh token) is revoked (OAuth 2.0 Security BCP 4.14).
- Revoking a refresh token revokes the grant; revoking an access token revokes that token only.
- Tokens and codes are stored under their SHA-256 hash; raw values are never kept or logged.

A store applies each rule to one record atomically; nothing here touches a store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sandbox.copies import replace
from sandbox.domain.oauth import pkce
from sandbox.domain.oauth.authorize import AuthRequest, scope_tokens
from sandbox.domain.oauth.errors import BearerError, TokenError
from sandbox.domain.oauth.policy import OAuthPolicy

TOKEN_TYPE = "Bearer"
# How long a used code, an expired token or a finished grant is remembered (reuse detection).
MEMORY = timedelta(days=1)
# Rotated refresh tokens a grant remembers for reuse detection (older ones become unknown).
ROTATED_KEPT = 32
# Access tokens a grant keeps usable: the newest ones (an older one answers invalid_token,
# as an expired one does). Without a bound, refreshing under a frozen clock, where nothing
# expires, would grow a grant, and the cost of each rotation, without end.
ACCESS_KEPT = 32

TokenKind = Literal["access", "refresh"]


def token_hash(value: str) -> str:
    """The key a token or code is stored under."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class Grant:
    """One linkage: a customer's consent for a client to read some accounts."""

    grant_id: str
    client_id: str
    customer_id: str
    account_refs: tuple[str, ...]
    scope: str
    auth_time: datetime
    access_expires_at: datetime
    refresh_expires_at: datetime
    reauth_due_at: datetime


@dataclass(frozen=True, slots=True)
class CodeRecord:
    """An authorization code (stored under its hash)."""

    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    customer_id: str
    account_refs: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime
    used: bool = False
    grant_id: str | None = None

    @property
    def forget_at(self) -> datetime:
        """Unused codes are forgotten a TTL after expiry, used ones a day later (reuse)."""
        return self.expires_at + (MEMORY if self.used else self.expires_at - self.issued_at)


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """One access or refresh token of a grant."""

    kind: TokenKind
    issued_at: datetime
    expires_at: datetime
    active: bool = True


@dataclass(frozen=True, slots=True)
class GrantRecord:
    """A grant with every token it issued (by hash), as one record."""

    grant: Grant
    revoked: bool = False
    tokens: Mapping[str, TokenRecord] = field(default_factory=dict)

    @property
    def forget_at(self) -> datetime:
        return self.grant.refresh_expires_at + MEMORY


def new_code(
    request: AuthRequest,
    customer_id: str,
    refs: tuple[str, ...],
    now: datetime,
    policy: OAuthPolicy,
) -> CodeRecord:
    """The record of a fresh code for a consented request."""
    return CodeRecord(
        client_id=request.client_id,
        redirect_uri=request.redirect_uri,
        scope=request.scope,
        code_challenge=request.code_challenge,
        customer_id=customer_id,
        account_refs=tuple(refs),
        issued_at=now,
        expires_at=now + policy.code_ttl,
    )


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused request: the error to answer, and the code whose grant it revokes."""

    error: TokenError
    revoke: CodeRecord | None = None


def redeem(
    record: CodeRecord | None,
    client_id: str,
    redirect_uri: str | None,
    code_verifier: str | None,
    now: datetime,
    grant_id: str,
) -> tuple[CodeRecord | None, CodeRecord | Refusal]:
    """Redeem a code for grant ``grant_id``: the burnt record, and the code or a refusal."""
    if record is None or record.client_id != client_id:
        return record, Refusal(TokenError("invalid_grant", "authorization code is unknown"))
    if record.used:
        refusal = TokenError(
            "invalid_grant",
            "authorization code was already used; tokens issued for it are revoked",
            reason="code_reused",
        )
        return record, Refusal(refusal, revoke=record)
    burnt = replace(record, used=True)
    problem = _code_problem(record, redirect_uri, code_verifier, now)
    if problem is not None:
        return burnt, Refusal(problem)
    return replace(burnt, grant_id=grant_id), record


def _code_problem(
    record: CodeRecord, redirect_uri: str | None, code_verifier: str | None, now: datetime
) -> TokenError | None:
    """Why the code cannot be redeemed by this request, or None."""
    if now >= record.expires_at:
        return TokenError("invalid_grant", "authorization code has expired", reason="code_expired")
    if redirect_uri is None:
        return TokenError("invalid_request", "redirect_uri is required")
    if redirect_uri != record.redirect_uri:
        return TokenError(
            "invalid_grant",
            "redirect_uri differs from the one of the authorization request",
            reason="redirect_uri_mismatch",
        )
    if record.code_challenge is None:
        if code_verifier is not None:
            return TokenError(
                "invalid_grant",
                "code_verifier sent but the authorization request had no code_challenge",
            )
        return None
    if code_verifier is None:
        return TokenError("invalid_grant", "code_verifier is required (PKCE was used)")
    if not pkce.is_valid_verifier(code_verifier):
        return TokenError("invalid_request", pkce.VERIFIER_RULE)
    if not pkce.verify(code_verifier, record.code_challenge):
        return TokenError("invalid_grant", "code_verifier does not match code_challenge")
    return None


def new_grant(record: CodeRecord, grant_id: str, now: datetime, policy: OAuthPolicy) -> GrantRecord:
    """The grant a redeemed code creates (no tokens yet)."""
    grant = Grant(
        grant_id=grant_id,
        client_id=record.client_id,
        customer_id=record.customer_id,
        account_refs=record.account_refs,
        scope=record.scope,
        auth_time=now,
        access_expires_at=now,
        refresh_expires_at=now,
        reauth_due_at=now + timedelta(days=policy.reauth_period_days),
    )
    return GrantRecord(grant)


def stored_grant(
    existing: GrantRecord | None, fresh: GrantRecord
) -> tuple[GrantRecord, GrantRecord]:
    """The grant a redemption stores: ``fresh``, born revoked if a replay revoked it first."""
    stored = fresh if existing is None or not existing.revoked else revoke_all(fresh)
    return stored, stored


def revoked_grant(
    existing: GrantRecord | None, record: CodeRecord, now: datetime, policy: OAuthPolicy
) -> tuple[GrantRecord | None, None]:
    """A replayed code revokes its grant, also one its first redemption has yet to store."""
    if record.grant_id is None:
        return existing, None
    return revoke_all(existing or new_grant(record, record.grant_id, now, policy)), None


def mint(
    record: GrantRecord, access_hash: str, refresh_hash: str, now: datetime, policy: OAuthPolicy
) -> GrantRecord:
    """Add a new access and refresh token; forget tokens no one can use any more."""
    access_exp = now + timedelta(seconds=policy.access_token_ttl_seconds)
    refresh_exp = now + timedelta(seconds=policy.refresh_token_ttl_seconds)
    horizon = now - MEMORY
    kept = {h: t for h, t in record.tokens.items() if t.expires_at >= horizon}
    rotated = [h for h, t in kept.items() if t.kind == "refresh" and not t.active]
    access = [h for h, t in kept.items() if t.kind == "access"]  # oldest first
    for stale in _beyond(rotated, ROTATED_KEPT) + _beyond(access, ACCESS_KEPT - 1):
        del kept[stale]
    kept[access_hash] = TokenRecord("access", now, access_exp)
    kept[refresh_hash] = TokenRecord("refresh", now, refresh_exp)
    grant = replace(record.grant, access_expires_at=access_exp, refresh_expires_at=refresh_exp)
    return replace(record, grant=grant, tokens=kept)


def _beyond(hashes: list[str], kept: int) -> list[str]:
    """The oldest of ``hashes`` past the newest ``kept``."""
    return hashes[: len(hashes) - kept] if len(hashes) > kept else []


def token_response(access: str, refresh: str, scope: str, policy: OAuthPolicy) -> dict[str, object]:
    """The token endpoint's JSON for freshly minted tokens."""
    return {
        "access_token": access,
        "token_type": TOKEN_TYPE,
        "expires_in": policy.access_token_ttl_seconds,
        "refresh_token": refresh,
        "refresh_token_expires_in": policy.refresh_token_ttl_seconds,
        "scope": scope,
    }


def revoke_all(record: GrantRecord) -> GrantRecord:
    """The grant revoked with every token it holds."""
    tokens = {h: replace(t, active=False) for h, t in record.tokens.items()}
    return replace(record, revoked=True, tokens=tokens)


def rotate(
    record: GrantRecord | None,
    client_id: str,
    presented: str,
    scope: str | None,
    new_hashes: tuple[str, str],
    now: datetime,
    policy: OAuthPolicy,
) -> tuple[GrantRecord | None, GrantRecord | Refusal]:
    """Rotate the refresh token ``presented`` (a hash): the new record, or a refusal."""
    token = record.tokens.get(presented) if record is not None else None
    if record is None or token is None or token.kind != "refresh":
        return record, Refusal(TokenError("invalid_grant", "refresh token is unknown"))
    if record.grant.client_id != client_id:
        return record, Refusal(TokenError("invalid_grant", "refresh token is unknown"))
    if record.revoked:
        return record, Refusal(
            TokenError("invalid_grant", "refresh token has been revoked", reason="refresh_revoked")
        )
    if not token.active:
        refusal = TokenError(
            "invalid_grant",
            "refresh token was already used; the linkage is revoked, authorise again",
            reason="refresh_reused",
        )
        return revoke_all(record), Refusal(refusal)
    if now >= record.grant.reauth_due_at:
        refusal = TokenError(
            "invalid_grant",
            "re-authentication required: the periodic re-authentication period has "
            "passed; send the customer through API linkage authentication again",
            reason="reauth_required",
        )
        return record, Refusal(refusal)
    if now >= token.expires_at:
        return record, Refusal(TokenError("invalid_grant", "refresh token has expired"))
    if scope is not None and not _scope_within(scope, record.grant.scope):
        return record, Refusal(TokenError("invalid_scope", "scope exceeds the scope of the grant"))
    tokens = dict(record.tokens)
    tokens[presented] = replace(token, active=False)
    rotated = mint(replace(record, tokens=tokens), *new_hashes, now, policy)
    return rotated, rotated


def _scope_within(requested: str, granted: str) -> bool:
    tokens = scope_tokens(requested)
    return bool(tokens) and set(tokens) <= set(scope_tokens(granted))


def revoke_token(
    record: GrantRecord | None, client_id: str, hashed: str, hint: str | None
) -> GrantRecord | None:
    """RFC 7009 on one grant: a refresh token revokes the grant, an access token itself.

    Another client's token, or one the grant does not hold, changes nothing.
    """
    token = record.tokens.get(hashed) if record is not None else None
    if record is None or token is None or record.grant.client_id != client_id:
        return record
    if token.kind == "refresh":
        return revoke_all(record)
    tokens = dict(record.tokens)
    tokens[hashed] = replace(token, active=False)
    return replace(record, tokens=tokens)


def usable(record: GrantRecord, token: TokenRecord, now: datetime) -> bool:
    return (
        token.active
        and not record.revoked
        and now < token.expires_at
        and now < record.grant.reauth_due_at
    )


def describe(
    record: GrantRecord | None, client_id: str, hashed: str, now: datetime
) -> dict[str, object]:
    """RFC 7662: an active token of this client describes itself; all else is inactive."""
    token = record.tokens.get(hashed) if record is not None else None
    if record is None or token is None or record.grant.client_id != client_id:
        return {"active": False}
    if not usable(record, token, now):
        return {"active": False}
    grant = record.grant
    described: dict[str, object] = {
        "active": True,
        "scope": grant.scope,
        "client_id": grant.client_id,
        "exp": int(token.expires_at.timestamp()),
        "iat": int(token.issued_at.timestamp()),
        "sub": grant.customer_id,
        "accounts": list(grant.account_refs),
        "auth_time": int(grant.auth_time.timestamp()),
    }
    if token.kind == "access":
        # RFC 7662 token_type is the access token's type; a refresh token has none.
        described["token_type"] = TOKEN_TYPE
    return described


def bearer(record: GrantRecord | None, hashed: str, now: datetime, scope: str) -> Grant:
    """The grant behind a usable access token; BearerError otherwise."""
    token = record.tokens.get(hashed) if record is not None else None
    if record is None or token is None or token.kind != "access":
        raise BearerError("invalid_token")
    if record.revoked or not token.active:
        raise BearerError("invalid_token")
    if now >= record.grant.reauth_due_at:
        raise BearerError("reauth_required")
    if now >= token.expires_at:
        raise BearerError("invalid_token")
    if scope not in scope_tokens(record.grant.scope):
        raise BearerError("insufficient_scope")
    grant = record.grant
    if grant.access_expires_at == token.expires_at:  # the newest token: nothing to copy
        return grant
    return replace(grant, access_expires_at=token.expires_at)
