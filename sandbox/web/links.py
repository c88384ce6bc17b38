"""``POST /_sandbox/links``: a linked account without the screens (a code, or tokens)."""

from __future__ import annotations

from aiohttp import web

from sandbox.tenant.links import LinkRefused, link
from sandbox.tenant.workspaces import client_id_in
from sandbox.web.common import ControlError, control_tenant, json_body, now_of, ok
from sandbox.web.hosted import caller_workspace, check_owned
from sandbox.web.metrics import recorders
from sandbox.web.trace import trace_of


async def post_link(request: web.Request) -> web.Response:
    """201 with a single-use code for the client's redirect URI (or, with tokens, tokens)."""
    tenant = await control_tenant(request)
    body = await json_body(request)
    trace_of(request).step = "links"
    workspace = caller_workspace(request)
    client_id = body.get("client_id")
    if workspace and isinstance(client_id, str):
        check_owned(request, client_id, "client_id")
        body = {**body, "client_id": client_id_in(workspace, client_id)}
    try:
        linked = await link(tenant, body, await now_of(request, tenant))
    except LinkRefused as exc:
        raise ControlError(str(exc), exc.status, error=exc.reason) from None
    trace_of(request).client_id = str(body["client_id"])
    for metrics in recorders(request, workspace or None):
        metrics.linkages_started.inc(tenant.bank_code)
        metrics.linkages_finished.inc(tenant.bank_code, "approved")
    return ok(linked.as_dict(tenant.bank_code), 201)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/_sandbox/links", post_link, name="links")
