"""OAuth endpoints: token, revoke, introspect and the RFC 8414 metadata document.

The authorize endpoint (``/oauth/auth``) lives with the screens; its validation is in
``sandbox.domain.oauth``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from aiohttp import web

from sandbox.domain.oauth.clients import Client
from sandbox.domain.oauth.errors import TokenError
from sandbox.domain.refs import rule_account
from sandbox.steps import Step
from sandbox.tenant.tenant import Tenant
from sandbox.web.client_auth import (
    Form,
    authenticate,
    carried_client_id,
    parse_form,
    required,
)
from sandbox.web.common import (
    BANK_PATH,
    NO_STORE,
    bank_tenant,
    fact,
    is_hosted,
    issuer,
    json_response,
    now_of,
)
from sandbox.web.errors import oauth_catalog_error
from sandbox.web.faults import enforce
from sandbox.web.quotas import limit_rate
from sandbox.web.trace import trace_of

KNOWN_GRANTS = frozenset({"authorization_code", "refresh_token"})


def add_routes(app: web.Application) -> None:
    """Register the token, revoke, introspect and metadata endpoints."""
    app.router.add_post(f"{BANK_PATH}/oauth/token", token, name="oauth_token")
    app.router.add_post(f"{BANK_PATH}/oauth/revoke", revoke, name="oauth_revoke")
    app.router.add_post(f"{BANK_PATH}/oauth/introspect", introspect, name="oauth_introspect")
    app.router.add_get(
        f"/.well-known/oauth-authorization-server{BANK_PATH}", metadata, name="oauth_metadata"
    )


# --- handlers ------------------------------------------------------------------------------


async def token(request: web.Request) -> web.Response:
    """POST .../oauth/token: authorization_code and refresh_token grants; closed off-hours."""
    return await _client_call(request, _grant, apply_rules=True)


async def revoke(request: web.Request) -> web.Response:
    """POST .../oauth/revoke (RFC 7009): always 200 once the client is authenticated."""

    async def act(request: web.Request, tenant: Tenant, client: Client, form: Form) -> web.Response:
        value = required(form, "token")
        now = await now_of(request, tenant)
        await tenant.oauth.revoke(client, value, form.get("token_type_hint"), now)
        return web.Response(status=200, headers=NO_STORE)

    return await _client_call(request, act)


async def introspect(request: web.Request) -> web.Response:
    """POST .../oauth/introspect (RFC 7662): only the caller's own tokens are active."""

    async def act(request: web.Request, tenant: Tenant, client: Client, form: Form) -> web.Response:
        value = required(form, "token")
        described = await tenant.oauth.introspect(client, value, await now_of(request, tenant))
        return json_response(described, headers=NO_STORE)

    return await _client_call(request, act)


_BANK_CODE = re.compile(r"\d{4}", re.ASCII)


async def metadata(request: web.Request) -> web.Response:
    """GET /.well-known/oauth-authorization-server/parasol/v1/banks/{bank} (RFC 8414)."""
    bank = request.match_info["bank"]
    if is_hosted(request):
        # The same for every workspace (the issuer is the public URL's): no tenant needed.
        if not _BANK_CODE.fullmatch(bank):
            return _unknown_bank(request)
    elif await bank_tenant(request) is None:
        return _unknown_bank(request)
    base = issuer(request, bank)
    auth_methods = ["client_secret_basic", "client_secret_post"]
    return json_response(
        {
            "issuer": base,
            "authorization_endpoint": f"{base}/oauth/auth",
            "token_endpoint": f"{base}/oauth/token",
            "revocation_endpoint": f"{base}/oauth/revoke",
            "introspection_endpoint": f"{base}/oauth/introspect",
            "authorization_response_iss_parameter_supported": True,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": auth_methods,
            "revocation_endpoint_auth_methods_supported": auth_methods,
            "introspection_endpoint_auth_methods_supported": auth_methods,
            "scopes_supported": ["accounts"],
            "ui_locales_supported": ["ja"],
        }
    )


# --- the shared request pipeline ------------------------------------------------------------

Action = Callable[[web.Request, Tenant, Client, Form], Awaitable[web.Response]]


async def _client_call(
    request: web.Request, action: Action, *, apply_rules: bool = False
) -> web.Response:
    """Parse the form, authenticate the client, pass the gate, run ``action``."""
    trace_of(request).step = Step.TOKEN
    if is_hosted(request):
        # The client names its workspace: read the form first, then find the bank.
        form = parse_form(request.content_type, request.charset, await request.read())
        tenant = await bank_tenant(request, carried_client_id(request, form))
        if tenant is None:
            basic = "Authorization" in request.headers
            raise TokenError("invalid_client", "client authentication failed", basic=basic)
        try:
            client = authenticate(request, tenant, form)
        except TokenError:
            # Not the workspace's request until its client is authenticated: a stranger
            # naming the client writes nothing into the workspace's journal or coverage.
            trace_of(request).tenant = None
            raise
        limit_rate(request, tenant.workspace, "token")
    else:
        tenant = await bank_tenant(request)
        if tenant is None:
            return _unknown_bank(request)
        form = parse_form(request.content_type, request.charset, await request.read())
        client = authenticate(request, tenant, form)
    trace_of(request).client_id = client.client_id
    if apply_rules:

        async def account_of() -> str | None:
            return rule_account(await tenant.oauth.linked_account(form.get("grant_type"), form))

        verdict = await tenant.gate(
            Step.TOKEN,
            await now_of(request, tenant),
            client_id=client.client_id,
            account_of=account_of,
        )
        broken = await enforce(request, verdict)
        if broken is not None:
            return broken
        if verdict.error is not None:
            return await oauth_catalog_error(request, verdict.error, verdict.retry_after)
    return await action(request, tenant, client, form)


async def _grant(request: web.Request, tenant: Tenant, client: Client, form: Form) -> web.Response:
    """Dispatch on grant_type and render the token response."""
    grant_type = required(form, "grant_type")
    fact(request, grant_type=grant_type[:32])
    now = await now_of(request, tenant)
    if grant_type in KNOWN_GRANTS and grant_type not in client.grant_types:
        raise TokenError("unauthorized_client", f"this client may not use grant_type={grant_type}")
    if grant_type == "authorization_code":
        body = await tenant.oauth.exchange_code(
            client,
            required(form, "code"),
            form.get("redirect_uri"),
            form.get("code_verifier"),
            now,
        )
    elif grant_type == "refresh_token":
        body = await tenant.oauth.refresh(
            client, required(form, "refresh_token"), form.get("scope"), now
        )
    else:
        raise TokenError("unsupported_grant_type", "use authorization_code or refresh_token")
    fact(request, outcome="issued")
    return json_response(body, headers=NO_STORE)


# --- client authentication ------------------------------------------------------------------


def _unknown_bank(request: web.Request) -> web.Response:
    bank = request.match_info.get("bank", "")[:16]
    body = {"error": "invalid_request", "error_description": f"no bank {bank!r} in this sandbox"}
    trace_of(request).error_code = "not_found"
    return json_response(body, 404, NO_STORE)
