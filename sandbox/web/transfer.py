"""The 移管 (account transfer) control endpoint: move an account to a new branch/number."""

from __future__ import annotations

import orjson
from aiohttp import web

from sandbox.domain.bank import Account
from sandbox.domain.directory import account_ref
from sandbox.domain.refs import account_id
from sandbox.domain.transfer import AlreadyTransferred
from sandbox.errors import SandboxError
from sandbox.web.common import JSON_TYPES, check_body_type, control_tenant, now_of, ok


def _describe(bank_code: str, account: Account) -> dict[str, str]:
    ref = account_ref(account)
    return {
        "account_id": account_id(bank_code, ref),
        "account_ref": ref,
        "branch_code": account.branch_code,
        "account_type": account.account_type.value,
        "account_number": account.number,
    }


async def transfer_account(request: web.Request) -> web.StreamResponse:
    """POST /_sandbox/accounts/{account_id}/transfer: move an account to a new branch (移管)."""
    tenant = await control_tenant(request)
    raw = await request.read()
    if raw.strip():
        check_body_type(request, JSON_TYPES)
    try:
        body = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError:
        raise SandboxError("invalid_parameter", "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise SandboxError("invalid_parameter", "the body must be a JSON object")
    try:
        moved = await tenant.transfer(
            request.match_info["account_id"], body, await now_of(request, tenant)
        )
    except AlreadyTransferred as exc:
        return ok({**exc.entry.api_body(), "detail": exc.detail}, status=409)
    return ok(
        {
            "bank_code": tenant.bank_code,
            "customer_id": moved.customer.customer_id,
            "old": _describe(tenant.bank_code, moved.old),
            "new": _describe(tenant.bank_code, moved.new),
            "affected_grants": moved.affected_grants,
            # Before tokens answered account_transferred they were revoked; kept, always 0.
            "revoked_grants": 0,
        }
    )


def add_routes(app: web.Application) -> None:
    """Register POST /_sandbox/accounts/{account_id}/transfer."""
    app.router.add_post(
        "/_sandbox/accounts/{account_id}/transfer", transfer_account, name="control_transfer"
    )
