"""OAuth endpoints: token, revoke, introspect and the RFC 8414 metadata document.

The authorize endpoint (``/oauth/auth``) lives with the screens; its validation is in
``sandbox.domain.oauth``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl, unquote_plus

from aiohttp import web

from sandbox.domain.oauth.authorize import duplicate_keys
from sandbox.domain.oauth.clients import Client
from sandbox.domain.oauth.errors import TokenError
from sandbox.steps import Step
from sandbox.tenant.tenant import Tenant
from sandbox.web.common import BANK_PATH, NO_STORE, bank_tenant, issuer, json_response
from sandbox.web.errors import oauth_catalog_error
from sandbox.web.faults import enforce
from sandbox.web.keys import CLIENT_ID, ERROR_CODE, STEP

FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FIELDS = 50
Form = dict[str, str]


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

    async def act(tenant: Tenant, client: Client, form: Form) -> web.Response:
        value = _required(form, "token")
        now = await tenant.clock.now()
        await tenant.oauth.revoke(client, value, form.get("token_type_hint"), now)
        return web.Response(status=200, headers=NO_STORE)

    return await _client_call(request, act)


async def introspect(request: web.Request) -> web.Response:
    """POST .../oauth/introspect (RFC 7662): only the caller's own tokens are active."""

    async def act(tenant: Tenant, client: Client, form: Form) -> web.Response:
        value = _required(form, "token")
        described = await tenant.oauth.introspect(client, value, await tenant.clock.now())
        return json_response(described, headers=NO_STORE)

    return await _client_call(request, act)


async def metadata(request: web.Request) -> web.Response:
    """GET /.well-known/oauth-authorization-server/parasol/v1/banks/{bank} (RFC 8414)."""
    tenant = await bank_tenant(request)
    if tenant is None:
        return _unknown_bank(request)
    base = issuer(request, tenant.bank_code)
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

Action = Callable[[Tenant, Client, Form], Awaitable[web.Response]]


async def _client_call(
    request: web.Request, action: Action, *, apply_rules: bool = False
) -> web.Response:
    """Parse the form, authenticate the client, pass the gate, run ``action``."""
    request[STEP] = Step.TOKEN
    tenant = await bank_tenant(request)
    if tenant is None:
        return _unknown_bank(request)
    form = _parse_form(request.content_type, request.charset, await request.read())
    client = _authenticate(request, tenant, form)
    request[CLIENT_ID] = client.client_id
    if apply_rules:
        verdict = await tenant.gate(
            Step.TOKEN, await tenant.clock.now(), client_id=client.client_id
        )
        broken = await enforce(request, verdict)
        if broken is not None:
            return broken
        if verdict.error is not None:
            return await oauth_catalog_error(request, verdict.error, verdict.retry_after)
    return await action(tenant, client, form)


async def _grant(tenant: Tenant, client: Client, form: Form) -> web.Response:
    """Dispatch on grant_type and render the token response."""
    grant_type = _required(form, "grant_type")
    now = await tenant.clock.now()
    if grant_type in KNOWN_GRANTS and grant_type not in client.grant_types:
        raise TokenError("unauthorized_client", f"this client may not use grant_type={grant_type}")
    if grant_type == "authorization_code":
        body = await tenant.oauth.exchange_code(
            client,
            _required(form, "code"),
            form.get("redirect_uri"),
            form.get("code_verifier"),
            now,
        )
    elif grant_type == "refresh_token":
        body = await tenant.oauth.refresh(
            client, _required(form, "refresh_token"), form.get("scope"), now
        )
    else:
        raise TokenError("unsupported_grant_type", "use authorization_code or refresh_token")
    return json_response(body, headers=NO_STORE)


def _parse_form(content_type: str, charset: str | None, raw: bytes) -> Form:
    """The form parameters; blank ones count as absent (RFC 6749 3.1)."""
    if content_type != FORM_TYPE:
        raise TokenError("invalid_request", f"the body must be {FORM_TYPE}")
    if charset is not None and charset.lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise TokenError("invalid_request", "the body must be UTF-8")
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except ValueError:
        raise TokenError("invalid_request", "the body is not valid UTF-8 form data") from None
    dups = duplicate_keys(pairs)
    if dups:
        raise TokenError("invalid_request", f"parameters must not repeat: {', '.join(dups)}")
    return {key: value for key, value in pairs if value != ""}


def _required(form: Form, name: str) -> str:
    value = form.get(name)
    if value is None:
        raise TokenError("invalid_request", f"{name} is required")
    return value


# --- client authentication ------------------------------------------------------------------


def _authenticate(request: web.Request, tenant: Tenant, form: Form) -> Client:
    """HTTP Basic (client_secret_basic) or body credentials (client_secret_post), not both."""
    headers = request.headers.getall("Authorization", [])
    if len(headers) > 1:
        raise TokenError("invalid_request", "send one Authorization header")
    header = headers[0] if headers else None
    if header is None:
        return tenant.oauth.authenticate_client(form.get("client_id"), form.get("client_secret"))
    client_id, secret = _basic_credentials(header)
    if "client_secret" in form:
        raise TokenError("invalid_request", "use either HTTP Basic or client_secret, not both")
    if form.get("client_id", client_id) != client_id:
        raise TokenError("invalid_request", "client_id differs from the HTTP Basic user")
    try:
        return tenant.oauth.authenticate_client(client_id, secret)
    except TokenError as exc:
        raise TokenError(exc.error, exc.description, basic=True) from None


def _basic_credentials(header: str) -> tuple[str, str]:
    """client_id and secret from an Authorization header (RFC 6749 2.3.1)."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise TokenError("invalid_client", "use HTTP Basic or client_secret_post", basic=True)
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            raise ValueError("no colon")
        return unquote_plus(client_id, errors="strict"), unquote_plus(secret, errors="strict")
    except (binascii.Error, ValueError):
        raise TokenError(
            "invalid_request", "Authorization: Basic must be base64 of client_id:client_secret"
        ) from None


def _unknown_bank(request: web.Request) -> web.Response:
    bank = request.match_info.get("bank", "")[:16]
    body = {"error": "invalid_request", "error_description": f"no bank {bank!r} in this sandbox"}
    request[ERROR_CODE] = "not_found"
    return json_response(body, 404, NO_STORE)
