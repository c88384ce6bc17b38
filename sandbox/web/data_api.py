"""The bank data API: accounts, statements and term deposits (Bearer token, JSON)."""

from __future__ import annotations

import functools
import re
from datetime import datetime
from typing import Any

from aiohttp import web

from sandbox.clock import jst_date
from sandbox.domain.bank import Account, Customer
from sandbox.domain.ledger import time_deposit_interest
from sandbox.domain.oauth.errors import BearerError
from sandbox.domain.oauth.tokens import Grant
from sandbox.domain.refs import account_id, parse_ref, rule_account
from sandbox.domain.statements import parse_statement_query
from sandbox.errors import CATALOG, SandboxError
from sandbox.steps import Step
from sandbox.tenant.tenant import Tenant
from sandbox.web import views
from sandbox.web.common import (
    BANK_PATH,
    NO_STORE,
    bank_tenant,
    is_hosted,
    now_of,
    ok,
)
from sandbox.web.errors import BearerRefused, bearer_challenge
from sandbox.web.faults import enforce
from sandbox.web.trace import trace_of

_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*", re.ASCII)

Linked = tuple[str, Customer, Account]


# --- request context -------------------------------------------------------------------


async def _tenant(request: web.Request, token: str | None) -> Tenant:
    tenant = await bank_tenant(request, token)
    if tenant is None:
        if is_hosted(request):  # the token names no workspace holding this bank
            bank = request.match_info["bank"]
            raise BearerRefused(
                "invalid_token",
                _DETAILS["invalid_token"],
                bearer_challenge(bank, "invalid_token"),
            )
        raise SandboxError("not_found", "unknown bank code")
    return tenant


async def _query_token(request: web.Request, tenant: Tenant) -> None:
    """A token in the URL is refused (it ends up in logs and histories), and journaled
    under the client it belongs to, so the conformance report can name the client.
    (Called for a request with a query string and no Authorization header.)"""
    token = request.query.get("access_token")
    if token is None:
        return
    client_id = await tenant.oauth.client_of_token(token[:512])
    if client_id is not None:
        trace_of(request).client_id = client_id
    raise BearerRefused(
        "invalid_token",
        "send the access token as Authorization: Bearer, never in the query string",
        bearer_challenge(tenant.bank_code, "invalid_token", "Token in the query string"),
    )


def _bearer_token(request: web.Request, bank: str) -> str:
    """The access token of the request's one ``Authorization: Bearer`` header."""
    header = request.headers.getall("Authorization", [])
    if not header:
        raise BearerRefused(
            "invalid_token", "send Authorization: Bearer <access_token>", bearer_challenge(bank)
        )
    token = None
    if len(header) == 1:
        value = header[0]  # (one longer than any the sandbox issues is read, not remembered)
        token = _bearer_of(value) if len(value) <= 256 else _bearer_of.__wrapped__(value)
    if token is None:
        raise BearerRefused(
            "invalid_token",
            "the Authorization header must be exactly one 'Bearer <access_token>'",
            bearer_challenge(bank, "invalid_token", "Malformed Bearer token"),
        )
    return token


@functools.lru_cache(maxsize=1024)  # a client sends the same header with every call
def _bearer_of(value: str) -> str | None:
    """The token of an ``Authorization`` value ``Bearer <token>`` (RFC 6750 2.1), or None."""
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and _B64TOKEN.fullmatch(token) else None


async def _context(request: web.Request) -> tuple[Tenant, Grant, datetime]:
    """Bank, open hours and Bearer token checks every data endpoint shares."""
    trace = trace_of(request)
    trace.step = Step.API
    if trace.hosted:  # the token names the workspace
        token: str | None = _bearer_token(request, request.match_info["bank"])
        tenant = await _tenant(request, token)
    else:
        token, tenant = None, await _tenant(request, None)
    now = await now_of(request, tenant)
    if tenant.calendar.closed_window(now) is not None:
        retry = tenant.calendar.retry_after_seconds(now)
        raise SandboxError("off_hours", "outside service hours", retry_after=retry)
    if token is None:
        if request.query_string and "Authorization" not in request.headers:
            await _query_token(request, tenant)
        token = _bearer_token(request, tenant.bank_code)
    try:
        grant = await tenant.oauth.authenticate_bearer(token, now)
    except BearerError as exc:
        code = exc.code if exc.code in CATALOG else "invalid_token"
        challenge = bearer_challenge(tenant.bank_code, code)
        raise BearerRefused(code, _DETAILS.get(code, ""), challenge) from None
    trace.client_id = grant.client_id
    return tenant, grant, now


def _origin(request: web.Request) -> datetime:
    """The virtual time the bank started at, from the clock read _context made."""
    clock = trace_of(request).clock
    assert clock is not None, "_context reads the clock"
    return clock.origin


_DETAILS = {
    "invalid_token": "The access token is unknown, expired or revoked",
    "reauth_required": "Periodic re-authentication is due; run the linkage again",
    "insufficient_scope": "The access token lacks the accounts scope",
}


async def _apply_rules(
    request: web.Request,
    tenant: Tenant,
    now: datetime,
    endpoint: str,
    grant: Grant,
    account: Account | None,
) -> web.Response | None:
    """Scenario rules on step ``api``: a fault's broken response, or raise the rule's error."""
    verdict = await tenant.gate(
        Step.API,
        now,
        # The account of the path, or (on /accounts, /term_deposits) the grant's linked one.
        account=f"{account.branch_code}-{account.number}"
        if account is not None
        else rule_account(grant.account_refs[0] if grant.account_refs else None),
        client_id=grant.client_id,
        endpoint=endpoint,
    )
    broken = await enforce(request, verdict)
    if broken is not None:
        broken.headers.update(NO_STORE)
        return broken
    if verdict.error is not None:
        raise SandboxError(
            verdict.error, "injected by a scenario rule", retry_after=verdict.retry_after
        )
    return None


def _linked(tenant: Tenant, grant: Grant) -> list[Linked]:
    """The accounts the grant covers that still exist, in consent order."""
    out: list[Linked] = []
    for ref in grant.account_refs:
        key = parse_ref(ref)
        found = tenant.directory.find_account(*key) if key is not None else None
        if found is not None and found[0].customer_id == grant.customer_id:
            out.append((ref, found[0], found[1]))
    return out


def _live(linked: list[Linked]) -> list[Linked]:
    """Linked accounts not moved away; account_transferred if all were."""
    live = [item for item in linked if item[2].transferred_to is None]
    if linked and not live:
        raise SandboxError("account_transferred", "every linked account was moved to a new branch")
    return live


def _one(tenant: Tenant, grant: Grant, wanted: str) -> Linked:
    """The linked account with account_id ``wanted`` (404/403 otherwise)."""
    for item in _linked(tenant, grant):
        if account_id(tenant.bank_code, item[0]) == wanted:
            if item[2].transferred_to is not None:
                raise SandboxError("account_transferred", "the account was moved to a new branch")
            return item
    raise SandboxError("account_not_found", "account_id is not linked to this access token")


def _account_body(tenant: Tenant, item: Linked, now: datetime, origin: datetime) -> dict[str, Any]:
    _, customer, account = item
    balance = tenant.balance(account, origin, now)
    return views.account_json(
        bank_code=tenant.bank_code,
        customer=customer,
        account=account,
        branch_name=tenant.profile.branch_name(account.branch_code),
        balance=balance,
        now=now,
    )


# --- handlers --------------------------------------------------------------------------


async def list_accounts(request: web.Request) -> web.StreamResponse:
    """GET .../accounts: balances of the linked accounts."""
    tenant, grant, now = await _context(request)
    live = _live(_linked(tenant, grant))
    broken = await _apply_rules(request, tenant, now, "accounts", grant, None)
    if broken is not None:
        return broken
    origin = _origin(request)
    body = {
        "accounts": [_account_body(tenant, item, now, origin) for item in live],
        "base_date_time": views.base_stamp(now)[2],
    }
    return ok(body)


async def get_account(request: web.Request) -> web.StreamResponse:
    """GET .../accounts/{account_id}: one linked account."""
    tenant, grant, now = await _context(request)
    item = _one(tenant, grant, request.match_info["account_id"])
    broken = await _apply_rules(request, tenant, now, "accounts", grant, item[2])
    return broken or ok(_account_body(tenant, item, now, _origin(request)))


async def list_transactions(request: web.Request) -> web.StreamResponse:
    """GET .../accounts/{account_id}/transactions: 入出金明細, ascending, paginated."""
    tenant, grant, now = await _context(request)
    ref, _, account = _one(tenant, grant, request.match_info["account_id"])
    query = parse_statement_query(
        list(request.query.items()),
        today=jst_date(now),
        held_from=tenant.ledger.held_from(now),
        max_days=tenant.scenario.bank.policy.max_statement_days,
    )
    broken = await _apply_rules(request, tenant, now, "transactions", grant, account)
    if broken is not None:
        return broken
    lines = tenant.transactions(account, _origin(request), query.date_from, query.date_to, now)
    return ok(views.statement_page(account_id(tenant.bank_code, ref), query, lines, now))


async def list_term_deposits(request: web.Request) -> web.StreamResponse:
    """GET .../term_deposits: 定期預金 certificates of the linked accounts."""
    tenant, grant, now = await _context(request)
    broken = await _apply_rules(request, tenant, now, "term_deposits", grant, None)
    if broken is not None:
        return broken
    rows: list[dict[str, Any]] = []
    for ref, _, account in _live(_linked(tenant, grant)):
        acc_id = account_id(tenant.bank_code, ref)
        for deposit in account.time_deposits:
            interest = time_deposit_interest(
                deposit.principal, deposit.rate_percent, deposit.deposit_date, deposit.maturity_date
            )
            rows.append(views.term_deposit_json(acc_id, deposit, interest))
    body = {
        "term_deposits": rows,
        "count": len(rows),
        "base_date_time": views.base_stamp(now)[2],
    }
    return ok(body)


def add_routes(app: web.Application) -> None:
    """Register the data API."""
    r = app.router
    r.add_get(f"{BANK_PATH}/accounts", list_accounts, name="api_accounts")
    r.add_get(f"{BANK_PATH}/accounts/{{account_id}}", get_account, name="api_account")
    r.add_get(
        f"{BANK_PATH}/accounts/{{account_id}}/transactions",
        list_transactions,
        name="api_transactions",
    )
    r.add_get(f"{BANK_PATH}/term_deposits", list_term_deposits, name="api_term_deposits")
