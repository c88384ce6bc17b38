"""``GET /_sandbox/conformance?client_id=X``: the conformance report, as JSON or JUnit XML."""

from __future__ import annotations

from aiohttp import web

from sandbox.domain.conformance import junit
from sandbox.tenant.workspaces import client_id_in
from sandbox.web.common import NO_STORE, ControlError, control_tenant, ok
from sandbox.web.hosted import caller_workspace


async def conformance(request: web.Request) -> web.StreamResponse:
    tenant = await control_tenant(request)
    client_id = request.query.get("client_id")
    if not client_id:
        raise ControlError("give ?client_id=... (the client the report is about)")
    workspace = caller_workspace(request)
    if workspace:
        client_id = client_id_in(workspace, client_id)
    report = await tenant.conformance(client_id)
    wanted = request.query.get("format", "json")
    if wanted == "junit":
        return web.Response(
            text=junit(report), content_type="application/xml", headers=dict(NO_STORE)
        )
    if wanted != "json":
        raise ControlError("format must be json or junit")
    return ok({"bank": tenant.bank_code, **report.as_dict()})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/_sandbox/conformance", conformance, name="conformance")
