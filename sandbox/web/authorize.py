"""The authorize endpoint: check the OAuth request, pass the gate, start a linkage at ①."""

from __future__ import annotations

from aiohttp import web

from sandbox import ui_text
from sandbox.domain.linkage import redirect_url
from sandbox.domain.oauth.errors import AuthorizeError
from sandbox.errors import SandboxError
from sandbox.steps import Step
from sandbox.tenant.tenant import Tenant
from sandbox.web.common import BANK_PATH, bank_tenant, fact, is_hosted, issuer, now_of
from sandbox.web.errors import note, page
from sandbox.web.faults import enforce
from sandbox.web.keys import SETTINGS
from sandbox.web.metrics import recorders
from sandbox.web.quotas import limit_rate
from sandbox.web.screens import redirect, screen_url
from sandbox.web.session import bind
from sandbox.web.trace import trace_of


async def authorize(request: web.Request) -> web.StreamResponse:
    """Start a linkage: check the OAuth request, then show screen ①."""
    trace_of(request).step = Step.AUTHORIZE
    client_id = request.query.get("client_id")
    tenant = await bank_tenant(request, client_id)
    if tenant is None:
        if not is_hosted(request):
            raise SandboxError("not_found", "unknown bank code")
        # Hosted: no workspace of this client has this bank, as if the client were unknown.
        unknown = AuthorizeError(
            "invalid_request",
            f"unknown client_id for bank {request.match_info['bank'][:8]!r} "
            "(hosted mode: a client_id starts with its workspace's name)",
            redirectable=False,
        )
        return _authorize_error(request, None, unknown)
    limit_rate(request, tenant.workspace, "auth", request.remote or "")
    try:
        # A MultiDict: the domain sees repeated parameters and refuses them.
        auth = tenant.oauth.validate_authorize(request.query)
    except AuthorizeError as exc:
        return _authorize_error(request, tenant, exc)
    trace_of(request).client_id = auth.client_id
    fact(request, pkce=auth.code_challenge_method or "none", state_length=len(auth.state or ""))
    now = await now_of(request, tenant)
    verdict = await tenant.gate(Step.AUTHORIZE, now, client_id=auth.client_id)
    broken = await enforce(request, verdict)
    if broken is not None:
        return broken
    iss = issuer(request, tenant.bank_code)
    if verdict.error:
        entry = await note(request, verdict.error)
        params = {
            "error": entry.oauth_error,
            "error_description": entry.code,
            "state": auth.state,
            "iss": iss,
        }
        return redirect(redirect_url(auth.redirect_uri, params))
    linkage = await tenant.linkage.start(auth, now, iss, _linkage_quota(request))
    for metrics in recorders(request, tenant.workspace):
        metrics.linkages_started.inc(tenant.bank_code)
    await bind(request, linkage.linkage_id)
    return redirect(screen_url(request, linkage, Step.ACCOUNT))


def _linkage_quota(request: web.Request) -> int | None:
    """Hosted mode: how many linkages one client may have in progress."""
    settings = request.app[SETTINGS]
    return settings.quotas.linkages_per_client if settings.hosted else None


def _authorize_error(
    request: web.Request, tenant: Tenant | None, exc: AuthorizeError
) -> web.Response:
    if tenant is not None and exc.redirectable and exc.redirect_uri:
        params = {**exc.query(), "iss": issuer(request, tenant.bank_code)}
        return redirect(redirect_url(exc.redirect_uri, params))
    return page(
        tenant,
        "error_page.html",
        400,
        title=ui_text.ERROR_TITLE,
        error_message=ui_text.REQUEST_REFUSED,
        error_code=exc.error,
        detail=f"{exc.error}: {exc.description}",
    )


def add_routes(app: web.Application) -> None:
    """Register the authorize endpoint."""
    app.router.add_get(f"{BANK_PATH}/oauth/auth", authorize, name="authorize")
