"""Helpers every handler uses: the bank path, finding the tenant, JSON responses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from aiohttp import web
from multidict import CIMultiDict

from sandbox.tenant.tenant import Tenant
from sandbox.tenant.workspaces import workspace_of
from sandbox.web.keys import REGISTRY, SETTINGS
from sandbox.web.trace import trace_of

BANK_PATH = "/parasol/v1/banks/{bank}"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# On every response (finish_headers): no framing, no referrer, no sniffing, own origin only.
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'; default-src 'self'; "
    "style-src 'self'; img-src 'self' data:; script-src 'self'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def bank_path(bank_code: str) -> str:
    """The path every bank-facing URL of ``bank_code`` starts with."""
    return BANK_PATH.format(bank=bank_code)


def realm(bank_code: str) -> str:
    """The authentication realm of a bank's endpoints (its path, without the slash)."""
    return bank_path(bank_code[:8]).lstrip("/")


class ControlError(Exception):
    """A refused control API call: ``{"error": ..., "message": ...}`` with ``status``."""

    def __init__(
        self, message: str, status: int = 400, error: str = "invalid_request", **extra: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error = error
        self.extra = extra


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON response encoded with orjson (Japanese kept as UTF-8)."""
    return web.Response(
        body=orjson.dumps(data),
        status=status,
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


def ok(data: Any, status: int = 200) -> web.Response:
    """A JSON response that is never cached."""
    return web.Response(body=orjson.dumps(data), status=status, headers=_OK_HEADERS)


# What json_response(data, status, NO_STORE) sends, with the security headers finish_headers
# would add, made once (every data answer is one).
_OK_HEADERS = CIMultiDict(
    {"Content-Type": "application/json; charset=utf-8", **NO_STORE, **SECURITY_HEADERS}
)


def fact(request: web.Request, **observed: str | int | bool) -> None:
    """Note what the request showed about its client (journaled; see domain/conformance)."""
    trace = trace_of(request)
    if trace.facts is None:
        trace.facts = {}
    trace.facts.update(observed)


def is_hosted(request: web.Request) -> bool:
    """Whether the sandbox runs in hosted mode (many workspaces)."""
    return trace_of(request).hosted


async def bank_tenant(request: web.Request, carried: str | None = None) -> Tenant | None:
    """The tenant of the ``{bank}`` in the path, if loaded (remembered on the request).

    In hosted mode the bank is the one of the workspace that ``carried`` (the request's
    client id, linkage id or token) names; without one there is no tenant.
    """
    trace, workspace = trace_of(request), ""
    if trace.hosted:
        found = workspace_of(carried)
        if found is None:
            return None
        workspace = found
    tenant = await trace.app[REGISTRY].get(request.match_info.get("bank", ""), workspace)
    if tenant is not None:
        trace.tenant = tenant
    return tenant


async def control_tenant(request: web.Request) -> Tenant:
    """The tenant a control call is for: ``?bank=``, ``X-Sandbox-Bank`` or the default
    (always of the caller's workspace in hosted mode)."""
    registry = request.app[REGISTRY]
    workspace = trace_of(request).workspace
    code = request.query.get("bank") or request.headers.get("X-Sandbox-Bank")
    tenant = await registry.get(code, workspace) if code else await registry.default(workspace)
    if tenant is None:
        banks = [t.bank_code for t in await registry.tenants(workspace)]
        raise ControlError(
            f"no scenario is loaded for bank {(code or '')[:16]!r}",
            404,
            error="unknown_bank",
            banks=banks,
        )
    trace_of(request).tenant = tenant
    return tenant


MAX_JSON_DEPTH = 32  # control bodies are flat; a rule nests three levels


JSON_TYPES = frozenset({"application/json"})
YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"})


# What a cross-site page can send without a CORS preflight and still shape as JSON or YAML
# (a urlencoded form body percent-encodes the quotes and braces, so it never parses).
_CROSS_SITE_TYPES = frozenset({"text/plain", "multipart/form-data"})


def check_body_type(request: web.Request, accepted: frozenset[str]) -> None:
    """415 for a control body of the wrong type: never text/plain or multipart (what a
    cross-site form sends); in hosted mode nothing but ``accepted``. Locally curl's default
    (``-d``: application/x-www-form-urlencoded) and raw bytes stay accepted."""
    kind = request.content_type
    if kind not in accepted and (kind in _CROSS_SITE_TYPES or is_hosted(request)):
        names = ", ".join(sorted(accepted))
        raise ControlError(
            f"send the body as {names} (not {kind})", 415, error="unsupported_media_type"
        )


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object body (ControlError otherwise), nested at most 32 deep."""
    check_body_type(request, JSON_TYPES)
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ControlError("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object")
    if _depth(body) > MAX_JSON_DEPTH:
        raise ControlError(f"the body is nested more than {MAX_JSON_DEPTH} levels deep")
    return body


def _depth(value: Any) -> int:
    """How deeply ``value`` nests (iteratively: a hostile body cannot overflow the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_JSON_DEPTH:
            break
        if isinstance(item, dict):
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)
    return deepest


async def now_of(request: web.Request, tenant: Tenant) -> datetime:
    """The bank's virtual time for this request (the clock is read once per request)."""
    trace = trace_of(request)
    now = trace.now
    if now is None:
        trace.clock, now = await tenant.clock.read()
        trace.now = now
    return now


def issuer(request: web.Request, bank_code: str) -> str:
    """The authorisation server's issuer identifier for ``bank_code`` (RFC 8414, RFC 9207)."""
    settings = request.app.get(SETTINGS)
    public = settings.public_url if settings is not None else None
    base = public or f"{request.scheme}://{request.host}"
    return f"{base}{bank_path(bank_code)}"
