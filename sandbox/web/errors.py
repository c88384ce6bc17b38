"""One renderer per surface for every error, and the middleware that picks it.

Surfaces: the data API (catalog JSON), the OAuth endpoints (RFC 6749 5.2 JSON), the
screens (an HTML page) and the control API (``{"error", "message"}`` JSON). Retry-After and
WWW-Authenticate are written here only.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from aiohttp import web

from sandbox import ui_text
from sandbox.domain.linkage import LinkageFailed, StepError
from sandbox.domain.oauth.errors import TokenError
from sandbox.errors import CATALOG, CatalogError, SandboxError
from sandbox.tenant.tenant import Tenant
from sandbox.web.common import NO_STORE, ControlError, fact, json_response, realm
from sandbox.web.metrics import recorders
from sandbox.web.render import render_screen
from sandbox.web.trace import trace_of

log = logging.getLogger("sandbox.web")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Surface = Literal["api", "oauth", "html", "control"]

_OAUTH_ENDPOINTS = ("/oauth/token", "/oauth/revoke", "/oauth/introspect")
_BEARER_DESCRIPTIONS = {
    "invalid_token": "The access token is unknown, expired or revoked",
    "reauth_required": "Periodic re-authentication is due; run the linkage again",
    "insufficient_scope": "The access token lacks the accounts scope",
}


def surface(request: web.Request) -> Surface:
    """Which kind of client the route answers: screens, OAuth clients, API clients, tools.

    Read from the matched route's template, so that no path parameter (which may hold an
    encoded "/linkage/") can change how an error is rendered.
    """
    resource = request.match_info.route.resource
    if resource is None:
        return _surface_of(request.rel_url.raw_path)
    return _template_surface(resource.canonical)


def _surface_of(path: str) -> Surface:
    if "/linkage/" in path or path.endswith("/oauth/auth") or path in ("/", "/docs"):
        return "html"
    if path.endswith(_OAUTH_ENDPOINTS):
        return "oauth"
    if path.startswith("/_sandbox/"):
        return "control"
    return "api"


# A route template's surface (templates are few and never change; raw paths are not cached).
_template_surface = functools.lru_cache(maxsize=512)(_surface_of)


async def note(request: web.Request, code: str) -> CatalogError:
    """Record that catalog error ``code`` was served (journal, coverage); its entry."""
    trace = trace_of(request)
    trace.error_code = code
    tenant = trace.tenant
    if tenant is not None:
        await tenant.served(code, trace.client_id)
    bank = tenant.bank_code if tenant is not None else "-"
    for metrics in recorders(request, tenant.workspace if tenant is not None else None):
        metrics.catalog_errors.inc(bank, code)
    return CATALOG[code]


def retry_fact(request: web.Request, headers: dict[str, str]) -> dict[str, str]:
    """Journal the Retry-After the client was given (the conformance report checks it)."""
    wait = headers.get("Retry-After")
    if wait is not None:
        fact(request, retry_after=int(wait))
    return headers


def retry_headers(entry: CatalogError, wait: int | None) -> dict[str, str]:
    """Retry-After for a 429/503 catalog error: the real wait, else the entry's default."""
    seconds = wait if wait is not None else entry.retry_after
    if seconds is None or entry.http_status not in (429, 503):
        return {}
    return {"Retry-After": str(max(1, seconds))}


def bearer_challenge(bank_code: str, code: str | None = None, description: str = "") -> str:
    """A WWW-Authenticate value per RFC 6750 §3 (``code``: the catalog code refused)."""
    value = f'Bearer realm="{realm(bank_code)}", scope="accounts"'
    if code is None:
        return value
    error = "insufficient_scope" if code == "insufficient_scope" else "invalid_token"
    text = description or _BEARER_DESCRIPTIONS.get(code, code)
    return value + f', error="{error}", error_description="{text}"'


def basic_challenge(request: web.Request) -> str:
    """The challenge every 401 of the OAuth endpoints carries (RFC 7235 4.1)."""
    return f'Basic realm="{realm(request.match_info.get("bank", ""))}", charset="UTF-8"'


class BearerRefused(SandboxError):
    """A Bearer token the data API refuses, with the challenge to send back."""

    def __init__(self, code: str, detail: str, challenge: str) -> None:
        super().__init__(code, detail)
        self.challenge = challenge


# Renderers -------------------------------------------------------------------------------


async def api_error(
    request: web.Request,
    code: str,
    detail: str = "",
    *,
    retry_after: int | None = None,
    challenge: str | None = None,
) -> web.Response:
    """The data API's catalog JSON; every 401/403 carries a Bearer challenge."""
    entry = await note(request, code)
    body: dict[str, Any] = entry.api_body()
    if detail:
        body["detail"] = detail
    headers = dict(NO_STORE) | retry_fact(request, retry_headers(entry, retry_after))
    if entry.http_status in (401, 403) and not request.path.startswith("/_sandbox/"):
        bank = request.match_info.get("bank", "")
        if challenge is None:
            known = code in _BEARER_DESCRIPTIONS or entry.oauth_error == "invalid_token"
            challenge = bearer_challenge(bank, code if known else None)
        headers["WWW-Authenticate"] = challenge
    return json_response(body, entry.http_status, headers)


async def oauth_error(request: web.Request, exc: TokenError) -> web.Response:
    """RFC 6749 5.2 error body, with WWW-Authenticate after a failed Basic attempt."""
    trace_of(request).error_code = exc.error
    if exc.reason is not None:
        fact(request, reason=exc.reason)
    headers = dict(NO_STORE)
    if exc.basic or exc.status == 401:
        headers["WWW-Authenticate"] = basic_challenge(request)
    body = {"error": exc.error, "error_description": exc.description}
    return json_response(body, exc.status, headers)


async def oauth_catalog_error(
    request: web.Request, code: str, retry_after: int | None = None
) -> web.Response:
    """A catalog error at the token endpoint: RFC 6749 5.2 fields plus the catalog's own."""
    entry = await note(request, code)
    headers = dict(NO_STORE) | retry_fact(request, retry_headers(entry, retry_after))
    if entry.http_status == 401:
        headers["WWW-Authenticate"] = basic_challenge(request)
    # error_description stays ASCII (RFC 6749 5.2): the stable code; the Japanese text
    # goes in the catalog's own fields, as on the data API.
    body = {"error": entry.oauth_error, "error_description": entry.code, **entry.api_body()}
    return json_response(body, entry.http_status, headers)


def page(tenant: Tenant | None, template: str, status: int = 200, **context: Any) -> web.Response:
    """An HTML page of the screens, never cached."""
    base: dict[str, Any] = {
        "bank_name": tenant.profile.name if tenant else ui_text.SANDBOX_NAME,
        "bank_code": tenant.bank_code if tenant else "",
        "error_message": None,
        "error_code": None,
        "field_errors": {},
        "missing": False,
        "values": {},
        "screen": template.removesuffix(".html"),
    }
    base.update(context)
    response = render_screen(template, base, status)
    response.headers["Cache-Control"] = "no-store"
    return response


async def html_error(
    request: web.Request, code: str, detail: str = "", status: int | None = None
) -> web.Response:
    """A page that only shows a catalog message (nothing to go back to)."""
    entry = await note(request, code)
    tenant = trace_of(request).tenant
    response = page(
        tenant,
        "error_page.html",
        status or entry.http_status,
        title=ui_text.ERROR_TITLE,
        error_message=entry.message,
        error_code=code,
        detail=detail,
        bank_code=tenant.bank_code if tenant else request.match_info.get("bank", ""),
    )
    response.headers.update(retry_fact(request, retry_headers(entry, None)))
    return response


def control_error(exc: ControlError) -> web.Response:
    """The control API's refusal body."""
    body = {"error": exc.error, "message": exc.message, **exc.extra}
    return json_response(body, exc.status, dict(NO_STORE))


async def catalog_error(
    request: web.Request,
    code: str,
    detail: str = "",
    status: int | None = None,
    retry_after: int | None = None,
) -> web.Response:
    """Catalog error ``code`` rendered for the request's surface."""
    kind = surface(request)
    if kind == "html":
        return await html_error(request, code, detail, status)
    if kind == "oauth":
        if status is None or status == CATALOG[code].http_status:
            return await oauth_catalog_error(request, code, retry_after)
        return await oauth_error(request, TokenError("invalid_request", detail, status))
    response = await api_error(request, code, detail, retry_after=retry_after)
    if status is not None:
        response.set_status(status)
    return response


# The middleware ----------------------------------------------------------------------


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Typed errors become their surface's answer; an unexpected one is internal_error."""
    try:
        if request.body_exists and not await _body_in_time(request):
            body = {
                "error": "request_timeout",
                "message": f"the request body did not arrive within {BODY_SECONDS:g} s",
            }
            response = json_response(body, 408, dict(NO_STORE))
            response.force_close()  # the rest of the body may still come: not a request
            return response
        return await handler(request)
    except LinkageFailed:
        raise  # the screens render these themselves (they need the linkage)
    except BearerRefused as exc:
        return await api_error(request, exc.code, exc.detail, challenge=exc.challenge)
    except SandboxError as exc:
        return await catalog_error(request, exc.code, exc.detail, retry_after=exc.retry_after)
    except StepError as exc:
        return await catalog_error(request, "invalid_form", str(exc), 409)
    except TokenError as exc:
        return await oauth_error(request, exc)
    except ControlError as exc:
        return control_error(exc)
    except web.HTTPException as exc:
        if exc.status == 404 and exc.text and exc.text.startswith("404: Not Found"):
            return await _http_error(request, 404, "not_found", "no such path")
        if exc.status == 405:
            response = await _http_error(request, 405, "method_not_allowed", exc.reason)
            response.headers["Allow"] = exc.headers.get("Allow", "")
            return response
        if exc.status == 413:
            code = "invalid_form" if surface(request) == "html" else "invalid_parameter"
            return await _http_error(request, 413, code, "request body too large")
        raise
    except ConnectionResetError:
        raise  # the client went away: not the sandbox's failure, nothing to answer
    except Warning as exc:
        # Only raised when warnings are errors: a test suite's filterwarnings=error reached
        # a server running in its process. Not the bank's system_error: say what happened.
        log.warning(
            "a %s was raised as an error on %s %s (warnings are errors in this process, e.g. "
            "pytest's filterwarnings=error); the sandbox_url fixture runs the server apart: %s",
            type(exc).__name__,
            request.method,
            request.path,
            exc,
        )
        return await _http_error(request, 500, "internal_error", "a warning raised as an error")
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return await _http_error(request, 500, "internal_error", "internal error")


BODY_SECONDS = 10.0  # a body (at most client_max_size) must arrive within this


async def _body_in_time(request: web.Request) -> bool:
    """Read the body now, with a deadline (a slow client cannot hold a handler open)."""
    if request.content.is_eof():  # it all came with the headers (a form): nothing to wait for
        await request.read()
        return True
    try:
        async with asyncio.timeout(BODY_SECONDS):
            await request.read()
    except TimeoutError:
        return False
    return True


async def _http_error(request: web.Request, status: int, code: str, reason: str) -> web.Response:
    """A routing or server error: pages and OAuth bodies show the status with the reason."""
    if surface(request) in ("html", "oauth"):
        return await catalog_error(request, code, f"{status} {reason}", status)
    return await catalog_error(request, code, reason, status)
