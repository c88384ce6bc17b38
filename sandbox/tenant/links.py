"""Links without the screens: a consented linkage made by a control call (Plaid's
``/sandbox/public_token/create``), for CI that just needs a linked account.

The same rules hold as at the screens' end: the client and its exact redirect URI, PKCE
for a client that requires it, an account that can be linked and is not locked; the code is
a real single-use code of the authorisation server, and the customer gets the completion
mail.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox.domain.bank import Account, AccountType, Customer
from sandbox.domain.directory import account_ref
from sandbox.domain.oauth import pkce
from sandbox.domain.oauth.authorize import AuthRequest
from sandbox.domain.refs import account_id
from sandbox.domain.transfer import named_account
from sandbox.tenant.linkages import lock_key
from sandbox.tenant.tenant import Tenant


class LinkRefused(ValueError):
    """A link the bank would not make: ``reason`` is a stable code, ``status`` the HTTP one."""

    def __init__(self, message: str, reason: str, status: int = 422) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status


@dataclass(frozen=True, slots=True)
class Linked:
    """A link made: its code (or tokens), and what was linked."""

    code: str
    redirect_uri: str
    expires_in: int
    state: str | None
    customer: Customer
    account: Account
    tokens: Mapping[str, object] | None = None

    def as_dict(self, bank_code: str) -> dict[str, Any]:
        ref = account_ref(self.account)
        linked = {
            "customer_id": self.customer.customer_id,
            "account_id": account_id(bank_code, ref),
            "account_ref": ref,
        }
        if self.tokens is not None:
            return {**self.tokens, **linked}
        body: dict[str, Any] = {
            "code": self.code,
            "redirect_uri": self.redirect_uri,
            "expires_in": self.expires_in,
            **linked,
        }
        if self.state is not None:
            body["state"] = self.state
        return body


def _text(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > 256:
        raise LinkRefused(f"{name} must be a non-empty string", "invalid_request", 400)
    return value


def find_account(tenant: Tenant, body: Mapping[str, Any]) -> tuple[Customer, Account]:
    """The account a link names: ``customer`` (its first linkable account), ``account_id``
    (or a ref ``001-ordinary-1234567``), or ``branch_code`` + ``account_number``
    (+ ``account_type``, default ordinary)."""
    directory = tenant.directory
    customer_name, wanted = _text(body, "customer"), _text(body, "account_id")
    branch, number = _text(body, "branch_code"), _text(body, "account_number")
    given = [x for x in (customer_name, wanted, branch or number) if x is not None]
    if len(given) != 1:
        raise LinkRefused(
            "name the account by one of: customer, account_id, branch_code + account_number",
            "invalid_request",
            400,
        )
    if customer_name is not None:
        customer = directory.get_customer(customer_name)
        if customer is None:
            raise LinkRefused(f"no customer {customer_name!r}", "unknown_customer", 404)
        for account in customer.accounts:
            if account.eligible:
                return customer, account
        raise LinkRefused(
            f"customer {customer_name!r} has no account that can be linked (wrong_account)",
            "wrong_account",
        )
    if wanted is not None:
        found = named_account(directory, tenant.bank_code, (), wanted)
    else:
        if branch is None or number is None:
            raise LinkRefused("give branch_code and account_number", "invalid_request", 400)
        kind = _text(body, "account_type") or "ordinary"
        try:
            account_type = AccountType(kind)
        except ValueError:
            raise LinkRefused(
                "account_type must be ordinary or savings", "invalid_request", 400
            ) from None
        found = directory.find_account(branch, account_type, number)
    if found is None:
        raise LinkRefused("no such account", "account_not_found", 404)
    return found


async def link(tenant: Tenant, body: Mapping[str, Any], now: datetime) -> Linked:
    """Make the link ``body`` asks for; LinkRefused if the bank would refuse it."""
    client_id = _text(body, "client_id")
    if client_id is None:
        raise LinkRefused("client_id is required", "invalid_request", 400)
    client = tenant.oauth.client(client_id)
    if client is None:
        raise LinkRefused(f"unknown client_id {client_id!r}", "unknown_client", 404)
    redirect_uri = _text(body, "redirect_uri") or client.redirect_uris[0]
    if redirect_uri not in client.redirect_uris:
        raise LinkRefused(
            "redirect_uri must be one the client registered, exactly", "invalid_redirect_uri"
        )
    tokens = body.get("tokens", False)
    if not isinstance(tokens, bool):
        raise LinkRefused("tokens must be true or false", "invalid_request", 400)
    challenge, method = _text(body, "code_challenge"), _text(body, "code_challenge_method")
    verifier = None
    if tokens:  # the sandbox redeems the code itself, with a verifier of its own
        if challenge is not None:
            raise LinkRefused("give code_challenge or tokens, not both", "invalid_request", 400)
        verifier = secrets.token_urlsafe(48)
        challenge, method = pkce.s256(verifier), "S256"
    elif challenge is not None:
        if (method or "S256") != "S256":
            raise LinkRefused("code_challenge_method must be S256", "invalid_request", 400)
        if not pkce.is_valid_challenge(challenge):
            raise LinkRefused(pkce.CHALLENGE_RULE, "invalid_request", 400)
        method = "S256"
    elif client.pkce_required:
        raise LinkRefused(
            f"client {client_id!r} requires PKCE: give code_challenge (S256), or tokens: true",
            "pkce_required",
        )
    customer, account = find_account(tenant, body)
    if not account.eligible:
        raise LinkRefused("this account cannot be linked (wrong_account)", "wrong_account")
    lock = await tenant.lockout.lock_state(lock_key(account), now)
    if lock is not None:
        code = "pin_locked" if lock.kind == "pin" else "locked"
        raise LinkRefused(f"the account is locked today ({code})", code, 409)
    state = _text(body, "state")
    request = AuthRequest(client_id, redirect_uri, state, "accounts", challenge, method)
    code = await tenant.linkage.complete(
        request, customer, account_ref(account), customer.email, now
    )
    issued = None
    if tokens:
        issued = await tenant.oauth.exchange_code(client, code, redirect_uri, verifier, now)
    expires = tenant.oauth.policy.code_ttl_seconds
    return Linked(code, redirect_uri, expires, state, customer, account, issued)
