"""``POST /_sandbox/accounts/{account_id}/transactions``: post a statement line now."""

from __future__ import annotations

from aiohttp import web

from sandbox.domain.postings import InsufficientBalance
from sandbox.domain.refs import account_id
from sandbox.domain.transfer import AlreadyTransferred
from sandbox.web.common import ControlError, control_tenant, json_body, now_of, ok
from sandbox.web.views import transaction_json


async def post_transaction(request: web.Request) -> web.StreamResponse:
    """201 with the line as the statement shows it and the balance after it."""
    tenant = await control_tenant(request)
    body = await json_body(request)
    unknown = set(body) - {"type", "amount", "description"}
    if unknown:
        raise ControlError(
            "expected type (deposit or withdrawal), amount (yen) and description (摘要)",
            unknown=sorted(unknown),
        )
    wanted = request.match_info["account_id"]
    try:
        _, account = await tenant.find_account(wanted)
    except AlreadyTransferred as exc:
        raise ControlError(exc.detail, 409, error="account_transferred") from None
    now = await now_of(request, tenant)
    try:
        posting, balance = await tenant.post(
            account, body.get("type", ""), body.get("amount"), body.get("description"), now
        )
    except InsufficientBalance as exc:
        raise ControlError(
            str(exc), 409, error="insufficient_balance", balance=exc.balance
        ) from None
    except ValueError as exc:
        raise ControlError(str(exc), 422) from None
    return ok(
        {
            "account_id": account_id(tenant.bank_code, posting.account),
            "transaction": transaction_json(posting.line(balance)),
            "balance": balance,
        },
        201,
    )


def add_routes(app: web.Application) -> None:
    app.router.add_post(
        "/_sandbox/accounts/{account_id}/transactions", post_transaction, name="post_transaction"
    )
