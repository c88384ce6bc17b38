"""Middlewares: security headers, no tracebacks ever, one journal line per request."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import orjson
from aiohttp import web

from sandbox.errors import CATALOG
from sandbox.logs import FIELDS
from sandbox.redact import redacted_query
from sandbox.web.common import Answer, json_response
from sandbox.web.keys import CLIENT_ID, ERROR_CODE, REGISTRY, RULE, STEP
from sandbox.web.render import render_page

log = logging.getLogger("sandbox.access")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'; default-src 'self'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; script-src 'self' 'unsafe-inline'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


_OAUTH_ENDPOINTS = ("/oauth/token", "/oauth/revoke", "/oauth/introspect")


def wants_html(request: web.Request) -> bool:
    """Screens and the authorize endpoint answer in HTML; everything else in JSON."""
    path = request.path
    return "/linkage/" in path or path.endswith("/oauth/auth") or path in ("/", "/docs")


def _cross_site_control(request: web.Request) -> bool:
    """A browser page of another origin trying to change the sandbox (CSRF on /_sandbox)."""
    if not request.path.startswith("/_sandbox/") or request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return False  # curl, test clients and server-side code send no Origin
    return origin == "null" or urlsplit(origin).netloc != request.host


@web.middleware
async def security_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Frame, referrer and sniffing protection on every response; no cross-site control."""
    response: web.StreamResponse
    if _cross_site_control(request):
        refusal = {
            "error": "forbidden_origin",
            "message": "control calls from another origin's web page are refused",
        }
        response = json_response(refusal, 403, {"Cache-Control": "no-store"})
    else:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
    for name, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if wants_html(request):
        response.headers.setdefault("Cache-Control", "no-store")
    if isinstance(response, web.HTTPException):
        raise response
    return response


def _error_response(
    request: web.Request, status: int, code: str, reason: str, allow: str | None = None
) -> web.Response:
    entry = CATALOG[code]
    headers = {"Cache-Control": "no-store"}
    if allow:
        headers["Allow"] = allow
    if wants_html(request):
        page = render_page(
            "error_page.html",
            {
                "title": "エラー",
                "screen": "error_page",
                "bank_name": "金融機関API サンドボックス",
                "bank_code": request.match_info.get("bank", ""),
                "error_message": entry.message,
                "error_code": code,
                "detail": f"{status} {reason}",
            },
            status,
        )
        page.headers.update(headers)
        return page
    body: dict[str, str] = entry.api_body() | {"detail": reason}
    if request.path.endswith(_OAUTH_ENDPOINTS):
        # OAuth clients parse RFC 6749 5.2 bodies at these endpoints, whatever went wrong.
        body = {"error": "invalid_request", "error_description": f"{status} {reason}"}
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json", headers=headers
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Routing errors get a proper body; an unexpected exception is logged, never shown."""
    try:
        return await handler(request)
    except Answer as answer:
        return answer.response
    except web.HTTPException as exc:
        if exc.status == 404 and exc.text and exc.text.startswith("404: Not Found"):
            return _error_response(request, 404, "not_found", "no such path")
        if exc.status == 405:
            return _error_response(
                request, 405, "method_not_allowed", exc.reason, exc.headers.get("Allow")
            )
        if exc.status == 413:
            code = "invalid_form" if wants_html(request) else "invalid_parameter"
            return _error_response(request, 413, code, "request body too large")
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        request[ERROR_CODE] = "system_error"
        return _error_response(request, 500, "system_error", "internal error")


@web.middleware
async def journal_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One JSON log line and one journal entry per request; secrets redacted."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        _record(request, status, started)


def _record(request: web.Request, status: int, started: float) -> None:
    if request.path.startswith(("/static/", "/_sandbox/health")):
        return
    bank = request.match_info.get("bank")
    params = redacted_query(request.query)
    entry = {
        "bank": bank,
        "method": request.method,
        "path": request.path,
        "status": status,
        "ms": round((time.perf_counter() - started) * 1000, 2),
        "client_id": request.get(CLIENT_ID),
        "step": request.get(STEP),
        "error_code": request.get(ERROR_CODE),
        "rule": request.get(RULE),
        "params": params,
    }
    if log.isEnabledFor(logging.INFO):
        log.info("%s %s %s", request.method, request.path, status, extra={FIELDS: entry})
    sandbox = request.app[REGISTRY].get(bank) if bank else None
    if sandbox is not None:
        sandbox.journal.record(
            at=sandbox.clock.now(),
            method=request.method,
            path=request.path,
            status=status,
            client_id=entry["client_id"],
            step=entry["step"],
            error_code=entry["error_code"],
            rule=entry["rule"],
            params=params,
        )
