"""The bank data API (Bearer token, JSON) and the 移管 control endpoint."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

from sandbox.clock import jst_date
from sandbox.domain import accounts as views
from sandbox.domain.bank import Account, Customer
from sandbox.domain.directory import account_ref
from sandbox.domain.ledger import time_deposit_interest
from sandbox.domain.oauth import BearerError, Grant
from sandbox.errors import CATALOG, SandboxError
from sandbox.state import Sandbox, gate
from sandbox.web.common import NO_STORE, catalog_json, control_sandbox, json_response
from sandbox.web.faults import enforce
from sandbox.web.keys import CLIENT_ID, REGISTRY, STEP

BASE = "/parasol/v1/banks/{bank}"
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*", re.ASCII)

Linked = tuple[str, Customer, Account]


class ApiError(Exception):
    """An error response of the data API, rendered from the catalog."""

    def __init__(
        self,
        code: str,
        detail: str = "",
        headers: Mapping[str, str] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})
        self.retry_after = retry_after


def _ok(data: Any, status: int = 200) -> web.Response:
    """A JSON response encoded with orjson, never cached."""
    return json_response(data, status, dict(NO_STORE))


def error_response(request: web.Request, error: ApiError) -> web.Response:
    """The catalog body of ``error`` (plus an English ``detail``), noted for coverage."""
    sandbox = request.app[REGISTRY].get(request.match_info.get("bank", ""))
    if sandbox is None and request.path.startswith("/_sandbox/"):
        sandbox = control_sandbox(request)
    return catalog_json(
        request, sandbox, error.code, error.detail or None, error.headers, error.retry_after
    )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _guarded(handler: Handler) -> Handler:
    """Render ApiError/SandboxError raised by ``handler`` as catalog JSON."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as exc:
            return error_response(request, exc)
        except SandboxError as exc:
            return error_response(request, ApiError(exc.code, exc.detail))

    wrapper.__name__ = handler.__name__
    wrapper.__doc__ = handler.__doc__
    return wrapper


# --- request context -------------------------------------------------------------------


def _sandbox(request: web.Request) -> Sandbox:
    sandbox = request.app[REGISTRY].get(request.match_info["bank"])
    if sandbox is None:
        raise ApiError("not_found", "unknown bank code")
    return sandbox


def _realm(sandbox: Sandbox) -> str:
    return f"parasol/v1/banks/{sandbox.bank_code}"


def _challenge(sandbox: Sandbox, error: str | None = None, description: str = "") -> str:
    """A WWW-Authenticate value per RFC 6750 §3."""
    value = f'Bearer realm="{_realm(sandbox)}", scope="accounts"'
    if error is not None:
        value += f', error="{error}", error_description="{description}"'
    return value


_BEARER_DESCRIPTIONS = {
    "invalid_token": "The access token is unknown, expired or revoked",
    "reauth_required": "Periodic re-authentication is due; run the linkage again",
    "insufficient_scope": "The access token lacks the accounts scope",
}


def _bearer(request: web.Request, sandbox: Sandbox, now: datetime) -> Grant:
    """The grant of the request's Bearer token (ApiError 401/403 otherwise)."""
    header = request.headers.getall("Authorization", [])
    if not header:
        raise ApiError(
            "invalid_token",
            "send Authorization: Bearer <access_token>",
            {"WWW-Authenticate": _challenge(sandbox)},
        )
    scheme, _, token = header[0].strip().partition(" ")
    token = token.strip()
    if len(header) > 1 or scheme.lower() != "bearer" or not _B64TOKEN.fullmatch(token):
        raise ApiError(
            "invalid_token",
            "the Authorization header must be exactly one 'Bearer <access_token>'",
            {"WWW-Authenticate": _challenge(sandbox, "invalid_token", "Malformed Bearer token")},
        )
    try:
        grant = sandbox.oauth.authenticate_bearer(token, now)
    except BearerError as exc:
        code = exc.code if exc.code in CATALOG else "invalid_token"
        oauth_error = "insufficient_scope" if code == "insufficient_scope" else "invalid_token"
        challenge = _challenge(sandbox, oauth_error, _BEARER_DESCRIPTIONS.get(code, ""))
        detail = _BEARER_DESCRIPTIONS.get(code, "")
        raise ApiError(code, detail, {"WWW-Authenticate": challenge}) from None
    request[CLIENT_ID] = grant.client_id
    return grant


async def _apply_rules(
    request: web.Request,
    sandbox: Sandbox,
    now: datetime,
    endpoint: str,
    grant: Grant,
    account: Account | None,
) -> web.Response | None:
    """Scenario rules on step ``api``: a fault's broken response, or raise the rule's error."""
    verdict = gate(
        sandbox,
        "api",
        now,
        account=f"{account.branch_code}-{account.number}" if account is not None else None,
        client_id=grant.client_id,
        endpoint=endpoint,
    )
    broken = await enforce(request, verdict)
    if broken is not None:
        broken.headers.update(NO_STORE)
        return broken
    if verdict.error is not None:
        raise ApiError(
            verdict.error, "injected by a scenario rule", retry_after=verdict.retry_after
        )
    return None


async def _context(request: web.Request, endpoint: str) -> tuple[Sandbox, Grant, datetime]:
    """Bank, open hours and Bearer token checks every data endpoint shares."""
    request[STEP] = "api"
    sandbox = _sandbox(request)
    now = sandbox.clock.now()
    if sandbox.calendar.closed_window(now) is not None:
        retry = max(1, sandbox.calendar.retry_after_seconds(now))
        raise ApiError("off_hours", "outside service hours", retry_after=retry)
    grant = _bearer(request, sandbox, now)
    return sandbox, grant, now


def _linked(sandbox: Sandbox, grant: Grant) -> list[Linked]:
    """The accounts the grant covers that still exist, in consent order."""
    out: list[Linked] = []
    for ref in grant.account_refs:
        key = views.parse_ref(ref)
        found = sandbox.directory.find_account(*key) if key is not None else None
        if found is not None and found[0].customer_id == grant.customer_id:
            out.append((ref, found[0], found[1]))
    return out


def _live(linked: list[Linked]) -> list[Linked]:
    """Linked accounts not moved away; ApiError account_transferred if all were."""
    live = [item for item in linked if item[2].transferred_to is None]
    if linked and not live:
        raise ApiError("account_transferred", "every linked account was moved to a new branch")
    return live


def _one(sandbox: Sandbox, grant: Grant, wanted: str) -> Linked:
    """The linked account with account_id ``wanted`` (404/403 otherwise)."""
    for item in _linked(sandbox, grant):
        if views.account_id(sandbox.bank_code, item[0]) == wanted:
            if item[2].transferred_to is not None:
                raise ApiError("account_transferred", "the account was moved to a new branch")
            return item
    raise ApiError("account_not_found", "account_id is not linked to this access token")


def _branch_names(sandbox: Sandbox) -> dict[str, str]:
    return {b.code: b.name for b in sandbox.scenario.bank.branches}


def _account_body(sandbox: Sandbox, item: Linked, now: datetime) -> dict[str, Any]:
    _, customer, account = item
    balance = sandbox.ledger.balance_at(
        sandbox.directory.ledger_seed(account), account.balance, sandbox.anchor_time, now
    )
    return views.account_json(
        bank_code=sandbox.bank_code,
        customer=customer,
        account=account,
        branch_name=_branch_names(sandbox).get(account.branch_code, ""),
        balance=balance,
        now=now,
    )


# --- handlers --------------------------------------------------------------------------


@_guarded
async def list_accounts(request: web.Request) -> web.StreamResponse:
    """GET .../accounts: balances of the linked accounts."""
    sandbox, grant, now = await _context(request, "accounts")
    live = _live(_linked(sandbox, grant))
    broken = await _apply_rules(request, sandbox, now, "accounts", grant, None)
    if broken is not None:
        return broken
    body = {
        "accounts": [_account_body(sandbox, item, now) for item in live],
        "base_date_time": views.base_stamp(now)[2],
    }
    return _ok(body)


@_guarded
async def get_account(request: web.Request) -> web.StreamResponse:
    """GET .../accounts/{account_id}: one linked account."""
    sandbox, grant, now = await _context(request, "accounts")
    item = _one(sandbox, grant, request.match_info["account_id"])
    broken = await _apply_rules(request, sandbox, now, "accounts", grant, item[2])
    return broken or _ok(_account_body(sandbox, item, now))


@_guarded
async def list_transactions(request: web.Request) -> web.StreamResponse:
    """GET .../accounts/{account_id}/transactions: 入出金明細, ascending, paginated."""
    sandbox, grant, now = await _context(request, "transactions")
    item = _one(sandbox, grant, request.match_info["account_id"])
    ref, _, account = item
    query = views.parse_statement_query(
        list(request.query.items()),
        today=jst_date(now),
        held_from=sandbox.ledger.held_from(now),
        max_days=sandbox.scenario.bank.policy.max_statement_days,
    )
    broken = await _apply_rules(request, sandbox, now, "transactions", grant, account)
    if broken is not None:
        return broken
    lines = sandbox.ledger.transactions(
        sandbox.directory.ledger_seed(account),
        account.balance,
        sandbox.anchor_time,
        query.date_from,
        query.date_to,
        now,
    )
    body = views.statement_page(views.account_id(sandbox.bank_code, ref), query, lines, now)
    return _ok(body)


@_guarded
async def list_term_deposits(request: web.Request) -> web.StreamResponse:
    """GET .../term_deposits: 定期預金 certificates of the linked accounts."""
    sandbox, grant, now = await _context(request, "term_deposits")
    broken = await _apply_rules(request, sandbox, now, "term_deposits", grant, None)
    if broken is not None:
        return broken
    rows: list[dict[str, Any]] = []
    for ref, _, account in _live(_linked(sandbox, grant)):
        acc_id = views.account_id(sandbox.bank_code, ref)
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
    return _ok(body)


# --- control: 移管 ---------------------------------------------------------------------


def _find_for_transfer(sandbox: Sandbox, wanted: str) -> tuple[Customer, Account]:
    """The account named by ref or opaque id (explicit or linked accounts)."""
    key = views.parse_ref(wanted)
    if key is None and views.looks_like_id(wanted):
        refs = [account_ref(a) for c in sandbox.directory.explicit() for a in c.accounts]
        refs += [ref for grant in sandbox.oauth.grants() for ref in grant.account_refs]
        ref = views.resolve_ref(sandbox.bank_code, refs, wanted)
        key = views.parse_ref(ref) if ref is not None else None
    found = sandbox.directory.find_account(*key) if key is not None else None
    if found is None:
        raise ApiError(
            "account_not_found",
            "no such account; use the account_id or the ref branch-type-number",
        )
    return found


def _describe(bank_code: str, account: Account) -> dict[str, str]:
    ref = account_ref(account)
    return {
        "account_id": views.account_id(bank_code, ref),
        "account_ref": ref,
        "branch_code": account.branch_code,
        "account_type": account.account_type.value,
        "account_number": account.number,
    }


@_guarded
async def transfer_account(request: web.Request) -> web.StreamResponse:
    """POST /_sandbox/accounts/{account_id}/transfer: move an account to a new branch (移管)."""
    sandbox = control_sandbox(request)
    raw = await request.read()
    try:
        body = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError:
        raise ApiError("invalid_parameter", "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ApiError("invalid_parameter", "the body must be a JSON object")
    with sandbox.lock:
        customer, account = _find_for_transfer(sandbox, request.match_info["account_id"])
        if account.transferred_to is not None:
            new_branch, new_number = account.transferred_to
            return _ok(
                {
                    **CATALOG["account_transferred"].api_body(),
                    "detail": f"already moved to {new_branch}-{new_number}",
                },
                status=409,
            )
        branches = [b.code for b in sandbox.scenario.bank.branches]
        new_branch, new_number = views.plan_transfer(sandbox.directory, branches, account, body)
        new = sandbox.directory.transfer(customer, account, new_branch, new_number)
        revoked = sandbox.oauth.revoke_account(account_ref(account))
    return _ok(
        {
            "bank_code": sandbox.bank_code,
            "customer_id": customer.customer_id,
            "old": _describe(sandbox.bank_code, account),
            "new": _describe(sandbox.bank_code, new),
            "revoked_grants": revoked,
        }
    )


def add_routes(app: web.Application) -> None:
    """Register the data API, the 移管 control endpoint and the API docs."""
    from sandbox.web import docs

    app.router.add_get(f"{BASE}/accounts", list_accounts, name="api_accounts")
    app.router.add_get(f"{BASE}/accounts/{{account_id}}", get_account, name="api_account")
    app.router.add_get(
        f"{BASE}/accounts/{{account_id}}/transactions",
        list_transactions,
        name="api_transactions",
    )
    app.router.add_get(f"{BASE}/term_deposits", list_term_deposits, name="api_term_deposits")
    app.router.add_post(
        "/_sandbox/accounts/{account_id}/transfer", transfer_account, name="control_transfer"
    )
    docs.add_routes(app)
