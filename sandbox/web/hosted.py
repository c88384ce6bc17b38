"""Hosted mode on the web: who may call the control API, and the workspaces endpoint.

Every ``/_sandbox/*`` call but ``/_sandbox/health`` carries ``Authorization: Bearer <key>``:
a workspace's API key (the call then sees only that workspace), or for
``/_sandbox/workspaces`` and ``/metrics`` the admin key. Without a key: 401; with the wrong
kind of key, or naming another workspace's client or linkage: 403. ``/metrics`` with a
workspace's key shows that workspace's figures only.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from sandbox.scenario.model import Scenario
from sandbox.tenant.workspaces import (
    WorkspaceError,
    clients_of,
    create_workspace,
    workspace_of,
    workspace_of_key,
)
from sandbox.web.common import NO_STORE, ControlError, json_body, json_response
from sandbox.web.keys import REGISTRY, SETTINGS
from sandbox.web.metrics import METRICS_WORKSPACE
from sandbox.web.trace import trace_of

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# What every new workspace starts with: the server's scenarios (or the embedded one).
SCENARIOS = web.AppKey("hosted_scenarios", list[tuple[Scenario, str]])
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="sandbox"', **NO_STORE}
_OPEN = ("/_sandbox/health", "/_sandbox/console/login")
CONSOLE_COOKIE = "sandbox_console"  # the console's login keeps the key here (HttpOnly)
_ADMIN = ("/_sandbox/workspaces", "/metrics")  # admin key (/metrics: or a workspace's)
# Control parameters that name a workspace's object.
_NAMED = ("client_id", "client", "linkage")


def _refuse(status: int, error: str, message: str) -> web.Response:
    headers = _CHALLENGE if status == 401 else dict(NO_STORE)
    return json_response({"error": error, "message": message}, status, headers)


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() == "bearer" and key.strip():
        return key.strip()
    if request.path.startswith("/_sandbox/console"):  # the browser's console session
        return request.cookies.get(CONSOLE_COOKIE) or None
    return None


def _is_admin(request: web.Request, key: str) -> bool:
    admin = request.app[SETTINGS].admin_key or ""
    # Header values may hold undecodable bytes (surrogates): compare bytes, never fail.
    given = key.encode("utf-8", "surrogatepass")
    return bool(admin) and hmac.compare_digest(given, admin.encode("utf-8", "surrogatepass"))


@web.middleware
async def hosted_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """401/403 unless the call carries the key it needs; remembers the caller's workspace."""
    path = request.path
    admin_path = path.startswith(_ADMIN)
    if path in _OPEN or not (admin_path or path.startswith("/_sandbox/")):
        return await handler(request)
    key = _bearer(request)
    if key is None and path == "/_sandbox/console":  # a person with a browser: sign in
        return web.Response(status=303, headers={"Location": "/_sandbox/console/login"})
    if key is None:
        kind = "the admin key" if admin_path else "your workspace's API key"
        return _refuse(401, "unauthorized", f"send Authorization: Bearer <{kind}> (hosted mode)")
    if _is_admin(request, key):
        if admin_path:
            return await handler(request)
        return _refuse(
            403, "forbidden", "the admin key manages workspaces; call with a workspace's API key"
        )
    workspace = await workspace_of_key(request.app[REGISTRY], key)
    if workspace is None and path == "/_sandbox/console":  # a stale console cookie
        return web.Response(status=303, headers={"Location": "/_sandbox/console/login?error=1"})
    if workspace is None:
        return _refuse(401, "unauthorized", "unknown API key")
    if path == "/metrics":  # a workspace sees its own figures
        request[METRICS_WORKSPACE] = workspace
        return await handler(request)
    if admin_path:
        return _refuse(403, "forbidden", "this call needs the admin key")
    for name in _NAMED:
        named = workspace_of(request.query.get(name))
        if named is not None and named != workspace:
            return _refuse(403, "forbidden", f"{name} belongs to another workspace")
    trace_of(request).workspace = workspace
    return await handler(request)


def caller_workspace(request: web.Request) -> str:
    """The workspace of this control call ("" in local mode)."""
    return trace_of(request).workspace


def check_owned(request: web.Request, identifier: str | None, what: str) -> None:
    """ControlError 403 if ``identifier`` (from a control body) is another workspace's."""
    workspace = caller_workspace(request)
    named = workspace_of(identifier)
    if workspace and named is not None and named != workspace:
        raise ControlError(f"{what} belongs to another workspace", 403, error="forbidden")


async def post_workspace(request: web.Request) -> web.Response:
    """Create a workspace (admin key): 201 with its API key, shown this once."""
    body = await json_body(request)
    name = body.get("name")
    if not isinstance(name, str) or set(body) - {"name"}:
        raise ControlError('expected {"name": "acme"}')
    settings = request.app[SETTINGS]
    starting: list[tuple[Scenario, str]] = request.app[SCENARIOS]
    try:
        created = await create_workspace(request.app[REGISTRY], name, starting, settings.secret_key)
    except WorkspaceError as exc:
        status = 409 if exc.reason == "workspace_exists" else 400
        raise ControlError(str(exc), status, error=exc.reason) from None
    return json_response(
        {
            "workspace": created.name,
            "api_key": created.api_key,
            "banks": [
                {"bank": t.bank_code, "scenario": t.scenario.name, "clients": clients_of(t)}
                for t in created.tenants
            ],
        },
        201,
        NO_STORE,
    )


async def get_workspaces(request: web.Request) -> web.Response:
    """The workspaces (admin key): names and creation times, never keys."""
    records = await request.app[REGISTRY].store.workspaces()
    return json_response(
        {"workspaces": [{"workspace": r.name, "created": r.created} for r in records]},
        headers=NO_STORE,
    )


def add_routes(app: web.Application) -> None:
    """The workspaces endpoint (hosted mode only)."""
    app.router.add_post("/_sandbox/workspaces", post_workspace, name="workspaces")
    app.router.add_get("/_sandbox/workspaces", get_workspaces)
