"""The journal middleware (one log line and journal entry per request, cross-site refusal)
and the security headers every response carries."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web
from multidict import istr

from sandbox import logs
from sandbox.clock import wall_seconds
from sandbox.domain.records import JournalEntry
from sandbox.redact import REDACTED, redact_text, redacted_query
from sandbox.settings import Settings
from sandbox.web.common import SECURITY_HEADERS, json_response
from sandbox.web.errors import catalog_error, html_error, surface
from sandbox.web.keys import REGISTRY, SETTINGS
from sandbox.web.metrics import METRICS, recorders, route_of
from sandbox.web.session import set_cookie
from sandbox.web.trace import Trace, start_trace

log = logging.getLogger("sandbox.access")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def allowed_host(request: web.Request, app: web.Application) -> bool:
    """Whether the Host header names this sandbox (``app``): an IP address, localhost, the
    public URL's host or a configured name. A DNS-rebinding page names its own domain."""
    host = request.host or ""
    seen = app[KNOWN_HOSTS]
    known = seen.get(host)
    if known is None:
        if len(seen) > 256:
            seen.clear()
        known = seen[host] = _allowed(host.lower(), app[SETTINGS])
    return known


# Host header -> allowed, per application (computed once per name).
KNOWN_HOSTS = web.AppKey("known_hosts", dict[str, bool])


def _allowed(host: str, settings: Settings) -> bool:
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]")
    if name in ("localhost", "localhost.") or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        pass
    if settings.public_url and name == (urlsplit(settings.public_url).hostname or ""):
        return True
    return name in settings.allowed_hosts


_MISDIRECTED = {
    "error": "misdirected_request",
    "message": "this sandbox does not answer for that Host name; "
    "add it to SANDBOX_ALLOWED_HOSTS if it is yours",
}


def _cross_site_control(request: web.Request) -> bool:
    """A browser page of another origin trying to change the sandbox (CSRF on /_sandbox)."""
    if not request.path.startswith("/_sandbox/") or request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return False  # curl, test clients and server-side code send no Origin
    return origin == "null" or urlsplit(origin).netloc != request.host


async def finish_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: frame, referrer and sniffing protection on every response, and
    the session cookie when a screen bound a linkage."""
    headers = response.headers
    for name, value in _SECURITY:  # each kept if the handler set it (a data answer: all)
        headers.setdefault(name, value)
    if surface(request) == "html":
        headers.setdefault("Cache-Control", "no-store")
    set_cookie(request, response)


# The security headers with case-insensitive names made once (each setdefault is cheaper).
_SECURITY = tuple((istr(name), value) for name, value in SECURITY_HEADERS.items())

_NUL = {"error": "invalid_request", "message": "a URL may not contain a NUL character (%00)"}
CLIENT_GONE = 499  # journaled for a request whose client disconnected (nginx's code)
_REFUSAL = {
    "error": "forbidden_origin",
    "message": "control calls from another origin's web page are refused",
}


@web.middleware
async def journal_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One JSON log line and one journal entry per request (secrets redacted); no control
    call from another origin's web page."""
    started = time.perf_counter()
    trace = start_trace(request)
    status = 500
    answered: web.StreamResponse | None = None
    try:
        if not allowed_host(request, trace.app):
            response: web.StreamResponse = json_response(
                _MISDIRECTED, 421, {"Cache-Control": "no-store"}
            )
        elif _cross_site_control(request):
            response = json_response(_REFUSAL, 403, {"Cache-Control": "no-store"})
        elif "%00" in request.raw_path or "\x00" in request.path:
            # No name, id or parameter holds a NUL (and PostgreSQL text cannot).
            response = await _refuse_nul(request)
        else:
            response = await handler(request)
        status = response.status
        answered = response
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except (asyncio.CancelledError, ConnectionResetError):
        status = CLIENT_GONE  # the client went away: nothing was answered, nothing failed
        raise
    finally:
        await _record(request, trace, status, started, answered)


_TOKEN_NAMES = ("access_token", "refresh_token")


def _facts(request: web.Request, trace: Trace) -> dict[str, str | int | bool]:
    """The request's facts, plus whether it carried a token in its query string."""
    facts = trace.facts or {}
    if request.query_string and any(name in request.query for name in _TOKEN_NAMES):
        facts = {**facts, "token_in_query": True}
    return facts


async def _refuse_nul(request: web.Request) -> web.Response:
    """400 in the request's surface's own shape."""
    kind = surface(request)
    if kind == "control":
        return json_response(_NUL, 400, {"Cache-Control": "no-store"})
    if kind == "html":
        return await html_error(request, "invalid_form", _NUL["message"], 400)
    return await catalog_error(request, "invalid_parameter", _NUL["message"], 400)


MAX_ANSWER = 2048  # bytes of an error body the journal keeps


def _answer(response: web.StreamResponse | None, held: frozenset[str]) -> str:
    """The JSON body of an error answer, secrets masked, or "" (successes are not kept:
    a token response is one)."""
    if not isinstance(response, web.Response) or response.status < 400:
        return ""
    body = response.body
    if not isinstance(body, bytes) or len(body) > MAX_ANSWER:
        return ""
    if response.content_type != "application/json":
        return ""
    text = redact_text(body.decode("utf-8", "replace"))
    for secret in held:
        text = text.replace(secret, REDACTED)
    return text


# Not journaled: files, probes and scrapes (they would drown what a client did).
_UNJOURNALED = ("/static/", "/_sandbox/health", "/metrics")


async def _record(
    request: web.Request,
    trace: Trace,
    status: int,
    started: float,
    answered: web.StreamResponse | None,
) -> None:
    path = request.path
    if path.startswith(_UNJOURNALED):
        return
    bank = request.match_info.get("bank")
    tenant = trace.tenant
    if tenant is None and bank and not trace.hosted:
        # Answered before the handler found its bank (a body that never arrived, a client
        # gone): locally the path names the bank, so the journal still has it.
        tenant = await trace.app[REGISTRY].get(bank)
    if trace.hosted:
        sinks = recorders(request, tenant.workspace if tenant is not None else trace.workspace)
    else:
        sinks = (trace.app[METRICS],)
    elapsed, route, method = time.perf_counter() - started, route_of(request), request.method
    for metrics in sinks:
        metrics.answered(route, method, status, elapsed)
    params = (
        redacted_query(request.query, tenant.secrets if tenant is not None else ())
        if request.query_string
        else {}
    )
    logs.access(
        f"{method} {path} {status}",
        {
            "bank": bank,
            "method": method,
            "path": path,
            "status": status,
            "ms": round(elapsed * 100_000) / 100,  # two decimals (round(x, 2) is slow)
            "client_id": trace.client_id,
            "step": trace.step,
            "error_code": trace.error_code,
            "rule": trace.rule,
            "params": params,
        },
    )
    # The bank's own requests, and control calls that act as a customer would (a step).
    if tenant is not None and (trace.step is not None or tenant.bank_code == bank):
        entry = JournalEntry(
            at=trace.now or await tenant.clock.now(),
            method=method,
            path=path,
            status=status,
            client_id=trace.client_id,
            step=trace.step,
            error_code=trace.error_code,
            rule=trace.rule,
            params=params,
            wall=wall_seconds(),
            facts=_facts(request, trace),
            response=_answer(answered, tenant.secrets),
        )
        writing = time.perf_counter()
        await tenant.store.record_request(entry)
        wrote = time.perf_counter() - writing
        for metrics in sinks:
            metrics.store_write_seconds.observe(wrote)
