"""One bank's authorisation server: the rules of domain/oauth applied over the store."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime

from sandbox.domain.oauth import tokens
from sandbox.domain.oauth.authorize import AuthRequest, validate_authorize
from sandbox.domain.oauth.clients import Client, authenticate_client
from sandbox.domain.oauth.errors import TokenError
from sandbox.domain.oauth.policy import OAuthPolicy
from sandbox.domain.oauth.tokens import Grant, GrantRecord, Refusal, token_hash
from sandbox.store.base import GrantStore


@functools.lru_cache(maxsize=4096)
def _remembered_hash(token: str) -> str:
    return token_hash(token)


def bearer_hash(token: str) -> str:
    """token_hash of a presented access token, remembered for the 4,096 latest (a client
    sends the same token with every call). A token longer than any the sandbox issues is
    hashed, never kept."""
    return _remembered_hash(token) if len(token) <= _LONGEST_KEPT else token_hash(token)


_LONGEST_KEPT = 128  # characters; issued tokens are 43, 76 with a workspace's prefix


def _new_tokens(prefix: str = "") -> tuple[str, str, tuple[str, str]]:
    access, refresh = prefix + secrets.token_urlsafe(32), prefix + secrets.token_urlsafe(32)
    return access, refresh, (token_hash(access), token_hash(refresh))


class AuthorizationServer:
    """Clients, codes, grants and tokens of one bank."""

    def __init__(
        self,
        clients: Iterable[Client],
        policy: OAuthPolicy,
        store: GrantStore,
        *,
        id_prefix: str = "",
    ) -> None:
        self._clients = {c.client_id: c for c in clients}
        # Hosted mode: tokens start with "<workspace>." (the data API finds the workspace).
        self._id_prefix = id_prefix
        self.policy = policy
        self._store = store

    # --- clients and the authorization request (no state) ------------------------------

    def client(self, client_id: str) -> Client | None:
        """The registered client, or None."""
        return self._clients.get(client_id)

    def authenticate_client(self, client_id: str | None, secret: str | None) -> Client:
        """The client whose id and secret match; TokenError invalid_client otherwise."""
        return authenticate_client(self._clients, client_id, secret)

    def validate_authorize(self, params: Mapping[str, str]) -> AuthRequest:
        """Check an authorization request; raises AuthorizeError."""
        return validate_authorize(self._clients, params)

    # --- codes and tokens --------------------------------------------------------------

    async def issue_code(
        self, request: AuthRequest, customer_id: str, account_refs: tuple[str, ...], now: datetime
    ) -> str:
        """A fresh single-use authorization code for a consented request."""
        code = secrets.token_urlsafe(32)
        record = tokens.new_code(request, customer_id, account_refs, now, self.policy)
        await self._store.put_code(token_hash(code), record, now)
        return code

    async def linked_account(self, grant_type: str | None, form: Mapping[str, str]) -> str | None:
        """The account ref a token request is about (its code's, or its refresh token's
        grant's), for rules; None when the code or token is unknown. Changes nothing."""
        if grant_type == "authorization_code" and form.get("code"):
            code = await self._store.get_code(token_hash(form["code"]))
            refs = code.account_refs if code is not None else ()
        elif grant_type == "refresh_token" and form.get("refresh_token"):
            record = await self._store.grant_of_token(token_hash(form["refresh_token"]))
            refs = record.grant.account_refs if record is not None else ()
        else:
            return None
        return refs[0] if refs else None

    async def exchange_code(
        self,
        client: Client,
        code: str,
        redirect_uri: str | None,
        code_verifier: str | None,
        now: datetime,
    ) -> dict[str, object]:
        """Redeem an authorization code (grant_type=authorization_code)."""
        grant_id = "g_" + secrets.token_hex(8)
        outcome = await self._store.update_code(
            token_hash(code),
            lambda record: tokens.redeem(
                record, client.client_id, redirect_uri, code_verifier, now, grant_id
            ),
        )
        policy = self.policy
        if isinstance(outcome, Refusal):
            replayed = outcome.revoke
            if replayed is not None and replayed.grant_id is not None:
                await self._store.update_grant(
                    replayed.grant_id,
                    lambda existing: tokens.revoked_grant(existing, replayed, now, policy),
                )
            raise outcome.error
        access, refresh, hashes = _new_tokens(self._id_prefix)
        fresh = tokens.mint(tokens.new_grant(outcome, grant_id, now, policy), *hashes, now, policy)
        # A replay may have revoked the grant already: then it is stored (and born) revoked.
        stored = await self._store.update_grant(
            grant_id, lambda existing: tokens.stored_grant(existing, fresh)
        )
        return tokens.token_response(access, refresh, stored.grant.scope, policy)

    async def refresh(
        self, client: Client, refresh_token: str, scope: str | None, now: datetime
    ) -> dict[str, object]:
        """Rotate a refresh token (grant_type=refresh_token)."""
        presented = token_hash(refresh_token)
        held = await self._store.grant_of_token(presented)
        if held is None:
            raise TokenError("invalid_grant", "refresh token is unknown")
        access, refresh, hashes = _new_tokens(self._id_prefix)
        policy = self.policy
        outcome = await self._store.update_grant(
            held.grant.grant_id,
            lambda record: tokens.rotate(
                record, client.client_id, presented, scope, hashes, now, policy
            ),
        )
        if isinstance(outcome, Refusal):
            raise outcome.error
        return tokens.token_response(access, refresh, outcome.grant.scope, policy)

    async def revoke(
        self, client: Client, token: str, token_type_hint: str | None, now: datetime
    ) -> None:
        """RFC 7009: unknown tokens and other clients' tokens are silently ignored."""
        hashed = token_hash(token)
        held = await self._store.grant_of_token(hashed)
        if held is None:
            return
        await self._store.update_grant(
            held.grant.grant_id,
            lambda record: (
                tokens.revoke_token(record, client.client_id, hashed, token_type_hint),
                None,
            ),
        )

    async def introspect(self, client: Client, token: str, now: datetime) -> dict[str, object]:
        """RFC 7662: active tokens of this client describe themselves; all else is inactive."""
        hashed = token_hash(token)
        return tokens.describe(
            await self._store.grant_of_token(hashed), client.client_id, hashed, now
        )

    async def authenticate_bearer(
        self, access_token: str, now: datetime, scope: str = "accounts"
    ) -> Grant:
        """The grant behind a usable access token; BearerError otherwise."""
        hashed = bearer_hash(access_token)
        return tokens.bearer(await self._store.grant_of_token(hashed), hashed, now, scope)

    async def client_of_token(self, token: str) -> str | None:
        """The client a token was issued to, whatever its state (to attribute a request)."""
        record = await self._store.grant_of_token(token_hash(token))
        return record.grant.client_id if record is not None else None

    async def grants_linking(self, account_ref: str) -> int:
        """How many live grants include ``account_ref`` (after 移管 their tokens answer
        account_transferred for it, as the bank's catalog says)."""
        return sum(
            1
            for r in await self._store.grants()
            if not r.revoked and account_ref in r.grant.account_refs
        )

    async def grants(self) -> list[Grant]:
        """Live (not revoked) grants, for the control API and tests."""
        return [r.grant for r in await self._store.grants() if not r.revoked]

    async def _revoke_grant(self, grant_id: str) -> None:
        def revoke(record: GrantRecord | None) -> tuple[GrantRecord | None, None]:
            return (tokens.revoke_all(record) if record is not None else None), None

        await self._store.update_grant(grant_id, revoke)
