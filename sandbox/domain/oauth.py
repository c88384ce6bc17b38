"""The bank's OAuth 2.0 authorisation server: clients, codes, tokens, PKCE, rotation, revocation.

Choices where the RFCs leave room (documented for vendors):
- Codes are single use. Any redemption attempt by the client the code was issued to burns
  it, even a failed one (wrong verifier, wrong redirect_uri). Redeeming a code a second time
  revokes the whole grant the first redemption created (RFC 6749 4.1.2).
- Refresh tokens rotate. Presenting a rotated refresh token is taken as theft: the whole
  grant (every access and refresh token) is revoked (OAuth 2.0 Security BCP 4.14).
- Revoking a refresh token revokes the grant; revoking an access token revokes that token only.
- Tokens and codes are stored under their SHA-256 hash; raw values are never kept or logged.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sandbox.domain import pkce
from sandbox.scenario.model import Policy

DEFAULT_SCOPE = "accounts"
KNOWN_SCOPES = frozenset({DEFAULT_SCOPE})
MAX_STATE_LENGTH = 512
TOKEN_TYPE = "Bearer"
USED_CODE_MEMORY = timedelta(days=1)
SWEEP_MIN = 1024  # entries a store may hold before the first sweep


@dataclass(frozen=True, slots=True)
class Client:
    """A registered (confidential) client application."""

    client_id: str
    secret: str
    name: str
    redirect_uris: tuple[str, ...]
    pkce_required: bool
    scopes: tuple[str, ...]
    grant_types: tuple[str, ...] = ("authorization_code", "refresh_token")


@dataclass(frozen=True, slots=True)
class AuthRequest:
    """A validated authorization request (RFC 6749 4.1.1)."""

    client_id: str
    redirect_uri: str
    state: str | None
    scope: str
    code_challenge: str | None
    code_challenge_method: str | None


class AuthorizeError(Exception):
    """An authorization request the server refuses (RFC 6749 4.1.2.1)."""

    def __init__(
        self,
        error: str,
        description: str,
        *,
        redirectable: bool,
        redirect_uri: str | None = None,
        state: str | None = None,
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.redirectable = redirectable and redirect_uri is not None
        self.redirect_uri = redirect_uri if self.redirectable else None
        self.state = state

    def query(self) -> dict[str, str]:
        """The parameters to append to ``redirect_uri`` when redirectable."""
        params = {"error": self.error, "error_description": self.description}
        if self.state is not None:
            params["state"] = self.state
        return params


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


class TokenError(Exception):
    """A token/revoke/introspect request the server refuses (RFC 6749 5.2)."""

    def __init__(self, error: str, description: str, status: int | None = None) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status if status is not None else (401 if error == "invalid_client" else 400)


class BearerError(Exception):
    """An access token the data API must refuse; ``code`` is a catalog code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(slots=True)
class _Code:
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


@dataclass(slots=True)
class _Token:
    grant_id: str
    issued_at: datetime
    expires_at: datetime
    active: bool = True


@dataclass(slots=True)
class _GrantState:
    grant: Grant
    revoked: bool = False
    access: set[str] = field(default_factory=set)
    refresh: set[str] = field(default_factory=set)


def token_hash(value: str) -> str:
    """The key a token or code is stored under."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def duplicate_keys(items: Iterable[tuple[str, object]]) -> list[str]:
    """Keys that occur more than once among ``items`` (RFC 6749 3.1: parameters are unique)."""
    seen: set[str] = set()
    dups: list[str] = []
    for key, _ in items:
        if key in seen and key not in dups:
            dups.append(key)
        seen.add(key)
    return dups


def _scope_tokens(scope: str) -> list[str]:
    return scope.split()


class AuthorizationServer:
    """An honest authorisation server for one bank; thread safe."""

    def __init__(self, clients: list[Client], policy: Policy) -> None:
        self._clients = {c.client_id: c for c in clients}
        self._policy = policy
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, _Token] = {}
        self._refresh: dict[str, _Token] = {}
        self._grants: dict[str, _GrantState] = {}
        # Sweeps run when a store has doubled since the last one: amortised O(1) per issue.
        self._sweep_codes_at = SWEEP_MIN
        self._sweep_grants_at = SWEEP_MIN

    # --- clients -------------------------------------------------------------------------

    def client(self, client_id: str) -> Client | None:
        """The registered client, or None."""
        return self._clients.get(client_id)

    def authenticate_client(self, client_id: str | None, secret: str | None) -> Client:
        """The client whose id and secret match; TokenError invalid_client otherwise."""
        client = self._clients.get(client_id) if client_id else None
        expected = client.secret if client is not None else "x" * 32
        given = secret if secret is not None else ""
        matches = hmac.compare_digest(
            expected.encode("utf-8", "surrogatepass"), given.encode("utf-8", "surrogatepass")
        )
        if client is None or secret is None or not matches:
            raise TokenError("invalid_client", "client authentication failed")
        return client

    # --- authorization request -----------------------------------------------------------

    def validate_authorize(self, params: Mapping[str, str]) -> AuthRequest:
        """Check an authorization request; raises AuthorizeError."""
        dups = duplicate_keys(params.items())
        client, redirect_uri = self._authorize_target(params, dups)

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
        scope = self._authorize_scope(client, params.get("scope"))
        if scope is None:
            raise fail("invalid_scope", f"scope must be '{DEFAULT_SCOPE}'", state)
        problem = self._pkce_problem(client, params)
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

    def _authorize_target(self, params: Mapping[str, str], dups: list[str]) -> tuple[Client, str]:
        """The client and redirect URI, or a non-redirectable AuthorizeError."""

        def fail(error: str, description: str) -> AuthorizeError:
            return AuthorizeError(error, description, redirectable=False)

        if "client_id" in dups or "redirect_uri" in dups:
            raise fail("invalid_request", "client_id and redirect_uri must appear once")
        client_id = params.get("client_id")
        if not client_id:
            raise fail("invalid_request", "client_id is required")
        client = self._clients.get(client_id)
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

    @staticmethod
    def _authorize_scope(client: Client, scope: str | None) -> str | None:
        """The granted scope string, or None if the request asks for anything else."""
        tokens = _scope_tokens(scope or "") or [DEFAULT_SCOPE]
        if any(t not in KNOWN_SCOPES or t not in client.scopes for t in tokens):
            return None
        return " ".join(dict.fromkeys(tokens))

    @staticmethod
    def _pkce_problem(client: Client, params: Mapping[str, str]) -> str | None:
        """Why the PKCE parameters are unacceptable, or None."""
        challenge = params.get("code_challenge") or None
        method = params.get("code_challenge_method") or None
        if challenge is None:
            if method is not None:
                return "code_challenge_method given without code_challenge"
            if client.pkce_required:
                return (
                    "this client must use PKCE: send code_challenge and code_challenge_method=S256"
                )
            return None
        if method != "S256":
            return "code_challenge_method must be S256 (plain is not supported)"
        if not pkce.is_valid_challenge(challenge):
            return pkce.CHALLENGE_RULE
        return None

    def issue_code(
        self, request: AuthRequest, customer_id: str, account_refs: tuple[str, ...], now: datetime
    ) -> str:
        """A fresh single-use authorization code for a consented request."""
        code = secrets.token_urlsafe(32)
        record = _Code(
            client_id=request.client_id,
            redirect_uri=request.redirect_uri,
            scope=request.scope,
            code_challenge=request.code_challenge,
            customer_id=customer_id,
            account_refs=tuple(account_refs),
            issued_at=now,
            expires_at=now + timedelta(seconds=self._policy.code_ttl_seconds),
        )
        with self._lock:
            if len(self._codes) >= self._sweep_codes_at:
                self._purge_codes(now)
                self._sweep_codes_at = max(SWEEP_MIN, 2 * len(self._codes))
            self._codes[token_hash(code)] = record
        return code

    def _purge_codes(self, now: datetime) -> None:
        """Forget codes long past expiry (used ones a day later, for reuse detection)."""
        unused = now - timedelta(seconds=self._policy.code_ttl_seconds)
        used = now - USED_CODE_MEMORY
        stale = [
            key for key, c in self._codes.items() if c.expires_at < (used if c.used else unused)
        ]
        for key in stale:
            del self._codes[key]

    # --- token endpoint ------------------------------------------------------------------

    def exchange_code(
        self,
        client: Client,
        code: str,
        redirect_uri: str | None,
        code_verifier: str | None,
        now: datetime,
    ) -> dict[str, object]:
        """Redeem an authorization code (grant_type=authorization_code)."""
        with self._lock:
            record = self._codes.get(token_hash(code))
            if record is None or record.client_id != client.client_id:
                raise TokenError("invalid_grant", "authorization code is unknown")
            if record.used:
                if record.grant_id is not None:
                    self._revoke_grant(record.grant_id)
                raise TokenError(
                    "invalid_grant",
                    "authorization code was already used; tokens issued for it are revoked",
                )
            record.used = True
            self._check_code(record, redirect_uri, code_verifier, now)
            state = self._new_grant(record, now)
            record.grant_id = state.grant.grant_id
            return self._issue_tokens(state, now)

    @staticmethod
    def _check_code(
        record: _Code, redirect_uri: str | None, code_verifier: str | None, now: datetime
    ) -> None:
        """Raise TokenError unless the code is fresh and the request matches it."""
        if now >= record.expires_at:
            raise TokenError("invalid_grant", "authorization code has expired")
        if redirect_uri is None:
            raise TokenError("invalid_request", "redirect_uri is required")
        if redirect_uri != record.redirect_uri:
            raise TokenError(
                "invalid_grant", "redirect_uri differs from the one of the authorization request"
            )
        if record.code_challenge is None:
            if code_verifier is not None:
                raise TokenError(
                    "invalid_grant",
                    "code_verifier sent but the authorization request had no code_challenge",
                )
            return
        if code_verifier is None:
            raise TokenError("invalid_grant", "code_verifier is required (PKCE was used)")
        if not pkce.is_valid_verifier(code_verifier):
            raise TokenError("invalid_request", pkce.VERIFIER_RULE)
        if not pkce.verify(code_verifier, record.code_challenge):
            raise TokenError("invalid_grant", "code_verifier does not match code_challenge")

    def _new_grant(self, record: _Code, now: datetime) -> _GrantState:
        policy = self._policy
        grant = Grant(
            grant_id="g_" + secrets.token_hex(8),
            client_id=record.client_id,
            customer_id=record.customer_id,
            account_refs=record.account_refs,
            scope=record.scope,
            auth_time=now,
            access_expires_at=now,
            refresh_expires_at=now,
            reauth_due_at=now + timedelta(days=policy.reauth_period_days),
        )
        state = _GrantState(grant)
        if len(self._grants) >= self._sweep_grants_at:
            self._purge_grants(now)
            self._sweep_grants_at = max(SWEEP_MIN, 2 * len(self._grants))
        self._grants[grant.grant_id] = state
        return state

    def _purge_grants(self, now: datetime) -> None:
        """Forget grants whose refresh token expired over a day ago, with all their tokens.

        Revoked but unexpired grants stay: a rotated refresh token presented later must still
        be recognised as reuse. Under a frozen clock nothing expires, so each linkage keeps
        about 1 KB until reset.
        """
        horizon = now - USED_CODE_MEMORY
        for gid in [g for g, st in self._grants.items() if st.grant.refresh_expires_at < horizon]:
            state = self._grants.pop(gid)
            for key in state.access:
                self._access.pop(key, None)
            for key in state.refresh:
                self._refresh.pop(key, None)
        # A grant's older access tokens that have expired are of no use to anyone.
        for state in self._grants.values():
            stale = {k for k in state.access if self._access[k].expires_at < horizon}
            for key in stale:
                del self._access[key]
            state.access -= stale

    def _issue_tokens(self, state: _GrantState, now: datetime) -> dict[str, object]:
        """Mint an access and a refresh token for ``state`` (lock held)."""
        policy = self._policy
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        access_exp = now + timedelta(seconds=policy.access_token_ttl_seconds)
        refresh_exp = now + timedelta(seconds=policy.refresh_token_ttl_seconds)
        gid = state.grant.grant_id
        self._access[token_hash(access)] = _Token(gid, now, access_exp)
        self._refresh[token_hash(refresh)] = _Token(gid, now, refresh_exp)
        state.access.add(token_hash(access))
        state.refresh.add(token_hash(refresh))
        state.grant = replace(
            state.grant, access_expires_at=access_exp, refresh_expires_at=refresh_exp
        )
        return {
            "access_token": access,
            "token_type": TOKEN_TYPE,
            "expires_in": policy.access_token_ttl_seconds,
            "refresh_token": refresh,
            "refresh_token_expires_in": policy.refresh_token_ttl_seconds,
            "scope": state.grant.scope,
        }

    def refresh(
        self, client: Client, refresh_token: str, scope: str | None, now: datetime
    ) -> dict[str, object]:
        """Rotate a refresh token (grant_type=refresh_token)."""
        with self._lock:
            record = self._refresh.get(token_hash(refresh_token))
            state = self._grants.get(record.grant_id) if record is not None else None
            if record is None or state is None or state.grant.client_id != client.client_id:
                raise TokenError("invalid_grant", "refresh token is unknown")
            if state.revoked:
                raise TokenError("invalid_grant", "refresh token has been revoked")
            if not record.active:
                self._revoke_grant(state.grant.grant_id)
                raise TokenError(
                    "invalid_grant",
                    "refresh token was already used; the linkage is revoked, authorise again",
                )
            if now >= state.grant.reauth_due_at:
                raise TokenError(
                    "invalid_grant",
                    "re-authentication required: the periodic re-authentication period has "
                    "passed; send the customer through API linkage authentication again",
                )
            if now >= record.expires_at:
                raise TokenError("invalid_grant", "refresh token has expired")
            if scope is not None and not self._scope_within(scope, state.grant.scope):
                raise TokenError("invalid_scope", "scope exceeds the scope of the grant")
            record.active = False
            return self._issue_tokens(state, now)

    @staticmethod
    def _scope_within(requested: str, granted: str) -> bool:
        tokens = _scope_tokens(requested)
        return bool(tokens) and set(tokens) <= set(_scope_tokens(granted))

    # --- revocation and introspection ----------------------------------------------------

    def revoke(
        self, client: Client, token: str, token_type_hint: str | None, now: datetime
    ) -> None:
        """RFC 7009: unknown tokens and other clients' tokens are silently ignored."""
        key = token_hash(token)
        with self._lock:
            order = (
                (self._access, self._refresh)
                if token_type_hint != "refresh_token"
                else (self._refresh, self._access)
            )
            for table in order:
                record = table.get(key)
                if record is None:
                    continue
                state = self._grants.get(record.grant_id)
                if state is None or state.grant.client_id != client.client_id:
                    return
                if table is self._refresh:
                    self._revoke_grant(record.grant_id)
                else:
                    record.active = False
                return

    def introspect(self, client: Client, token: str, now: datetime) -> dict[str, object]:
        """RFC 7662: active tokens of this client describe themselves; all else is inactive."""
        key = token_hash(token)
        with self._lock:
            for table, token_type in ((self._access, TOKEN_TYPE), (self._refresh, "refresh_token")):
                record = table.get(key)
                if record is None:
                    continue
                state = self._grants.get(record.grant_id)
                if state is None or state.grant.client_id != client.client_id:
                    break
                if not self._usable(record, state, now):
                    break
                grant = state.grant
                described: dict[str, object] = {
                    "active": True,
                    "scope": grant.scope,
                    "client_id": grant.client_id,
                    "exp": int(record.expires_at.timestamp()),
                    "iat": int(record.issued_at.timestamp()),
                    "sub": grant.customer_id,
                    "accounts": list(grant.account_refs),
                    "auth_time": int(grant.auth_time.timestamp()),
                }
                if token_type == TOKEN_TYPE:
                    # RFC 7662 token_type is the access token's type; a refresh token has none.
                    described["token_type"] = TOKEN_TYPE
                return described
        return {"active": False}

    @staticmethod
    def _usable(record: _Token, state: _GrantState, now: datetime) -> bool:
        return (
            record.active
            and not state.revoked
            and now < record.expires_at
            and now < state.grant.reauth_due_at
        )

    # --- resource server side ------------------------------------------------------------

    def authenticate_bearer(
        self, access_token: str, now: datetime, scope: str = "accounts"
    ) -> Grant:
        """The grant behind a usable access token; BearerError otherwise."""
        with self._lock:
            record = self._access.get(token_hash(access_token))
            state = self._grants.get(record.grant_id) if record is not None else None
            if record is None or state is None or state.revoked or not record.active:
                raise BearerError("invalid_token")
            if now >= state.grant.reauth_due_at:
                raise BearerError("reauth_required")
            if now >= record.expires_at:
                raise BearerError("invalid_token")
            if scope not in _scope_tokens(state.grant.scope):
                raise BearerError("insufficient_scope")
            return replace(state.grant, access_expires_at=record.expires_at)

    def revoke_account(self, account_ref: str) -> int:
        """Revoke every live grant that includes ``account_ref`` (移管); returns how many."""
        with self._lock:
            hits = [
                gid
                for gid, state in self._grants.items()
                if not state.revoked and account_ref in state.grant.account_refs
            ]
            for gid in hits:
                self._revoke_grant(gid)
            return len(hits)

    def grants(self) -> list[Grant]:
        """Live (not revoked) grants, for the control API and tests."""
        with self._lock:
            return [s.grant for s in self._grants.values() if not s.revoked]

    def _revoke_grant(self, grant_id: str) -> None:
        """Revoke a grant and every token it holds (lock held)."""
        state = self._grants.get(grant_id)
        if state is None:
            return
        state.revoked = True
        for key in state.access:
            self._access[key].active = False
        for key in state.refresh:
            self._refresh[key].active = False

    def reset(self) -> None:
        """Forget every code, token and grant."""
        with self._lock:
            self._codes.clear()
            self._access.clear()
            self._refresh.clear()
            self._grants.clear()
