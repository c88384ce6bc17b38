"""The six linkage screens (GET shows, POST acts) and the way back to the app."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web

from sandbox import ui_text
from sandbox.domain.linkage import Linkage, LinkageFailed, StepError
from sandbox.errors import CATALOG, SandboxError
from sandbox.steps import Step
from sandbox.tenant.tenant import Tenant
from sandbox.web.common import BANK_PATH, bank_tenant, is_hosted, now_of
from sandbox.web.errors import html_error, note, page, retry_fact, retry_headers
from sandbox.web.faults import enforce
from sandbox.web.metrics import recorders
from sandbox.web.render import year_choices
from sandbox.web.session import bind, owns
from sandbox.web.trace import trace_of

MAX_FIELD = 256  # characters of one form field kept (the longest real one is an e-mail)


def screen_url(request: web.Request, linkage: Linkage, step: Step | str) -> str:
    """The URL of ``step`` of ``linkage`` (the "screen" route's, each part quoted as
    ``url_for`` quotes it; built directly, as every screen answer needs one or two)."""
    bank, linkage_id = request.match_info["bank"], linkage.linkage_id
    return f"{BANK_PREFIX}{_part(bank)}/linkage/{_part(linkage_id)}/{_part(str(step))}"


BANK_PREFIX = BANK_PATH.split("{", 1)[0]


@functools.lru_cache(maxsize=1024)
def _part(text: str) -> str:
    return quote(text, safe=_UNRESERVED_SUB_DELIMS)


# What yarl leaves unquoted in a path segment (RFC 3986 pchar without "/").
_UNRESERVED_SUB_DELIMS = "!$&'()*+,;=:@-._~"


def redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


async def tenant_or_404(
    request: web.Request, carried: str | None, unknown: tuple[str, str] | None = None
) -> Tenant:
    """The bank of the path (hosted: in the workspace ``carried`` names), or ``unknown``.

    ``unknown`` is the catalog code and detail answered in hosted mode when the request
    names no bank of a workspace (locally, and by default: not_found).
    """
    tenant = await bank_tenant(request, carried)
    if tenant is None:
        if unknown is not None and is_hosted(request):
            raise SandboxError(*unknown)
        raise SandboxError("not_found", "unknown bank code")
    return tenant


async def _rotate(request: web.Request, tenant: Tenant, linkage: Linkage) -> Linkage:
    """New linkage id and CSRF token (session renewal after identity and at consent)."""
    renewed = await tenant.linkage.rotate(linkage)
    await bind(request, renewed.linkage_id, replaces=linkage.linkage_id)
    return renewed


# Screens -----------------------------------------------------------------------


Action = Callable[[web.Request, Tenant, Linkage, dict[str, str]], Awaitable[web.StreamResponse]]


async def _load(request: web.Request) -> tuple[Tenant, Linkage]:
    linkage_id = request.match_info["linkage"]
    tenant = await tenant_or_404(
        request, linkage_id, ("session_expired", "unknown or expired linkage")
    )
    try:
        linkage = await tenant.linkage.get(linkage_id, await now_of(request, tenant))
    except SandboxError as exc:
        raise SandboxError(exc.code, "unknown or expired linkage") from None
    # A live linkage this browser's cookie does not name: another session's (a copied URL,
    # another browser), an improper screen operation in the catalog's words.
    if not await owns(request, linkage_id):
        raise SandboxError("invalid_form", "this linkage belongs to another browser session")
    trace_of(request).client_id = linkage.client_id
    return tenant, linkage


async def show(request: web.Request) -> web.StreamResponse:
    """GET a screen: the linkage's current screen, wherever the browser asked."""
    tenant, linkage = await _load(request)
    if linkage.step == Step.DONE:
        return await _terminal(request, tenant, linkage)
    if request.match_info["screen"] != linkage.step:
        return redirect(screen_url(request, linkage, linkage.step))
    return await render(request, tenant, linkage)


async def render(
    request: web.Request,
    tenant: Tenant,
    linkage: Linkage,
    status: int = 200,
    **extra: Any,
) -> web.Response:
    """The linkage's current screen with what the customer entered."""
    step = linkage.step
    profile = tenant.profile
    context: dict[str, Any] = {
        "title": ui_text.TITLES[step],
        "csrf_token": linkage.csrf_token,
        "action": screen_url(request, linkage, step),
        "values": linkage.values,
    }
    if step == Step.ACCOUNT:
        context["branches"] = profile.branches  # (code, name) pairs
    elif step == Step.IDENTITY:
        this_year = (await now_of(request, tenant)).year
        context["years"] = year_choices(this_year)
    elif step in (Step.PHONE, Step.CONFIRM):
        customer = tenant.linkage.customer(linkage)
        context.update(
            auth_number=profile.auth_phone_number,
            auth_number_digits="".join(ch for ch in profile.auth_phone_number if ch.isdigit()),
            phone_tail=customer.phone[-4:],
            window_seconds=profile.phone_window_seconds,
            waiting=linkage.waiting_for_call,
            call_button=profile.call_button,
            call_message=None,
        )
    elif step == Step.CONSENT:
        _, account = tenant.linkage.customer_account(linkage)
        client = tenant.oauth.client(linkage.client_id)
        context.update(
            client_name=client.name if client else linkage.client_id,
            account_label=f"{profile.branch_name(account.branch_code)} "
            f"{account.account_type.japanese} {account.number}",
        )
    context.update(extra)
    return page(tenant, f"{step}.html", status, screen=str(step), **context)


async def _terminal(request: web.Request, tenant: Tenant, linkage: Linkage) -> web.Response:
    """A finished linkage: a terminal error page with the way back, or the redirect."""
    if linkage.error_code is None:
        # Finished normally: the code went out once; never send it again.
        return await html_error(request, "session_expired", "this linkage has finished")
    entry = CATALOG[linkage.error_code]
    return page(
        tenant,
        "terminal.html",
        entry.http_status,
        title=ui_text.ERROR_TITLE,
        error_message=entry.message,
        error_code=entry.code,
        restart=entry.restart,
        back_url=screen_url(request, linkage, "finish"),
    )


async def finish(request: web.Request) -> web.StreamResponse:
    """「アプリに戻る」 from a terminal error: the redirect to the app."""
    _, linkage = await _load(request)
    if linkage.step != Step.DONE:
        return redirect(screen_url(request, linkage, linkage.step))
    if linkage.outcome_url is None:
        # Finished with a code: it went out once and is never sent again.
        return await html_error(request, "session_expired", "this linkage has finished")
    return redirect(linkage.outcome_url)


async def act(request: web.Request) -> web.StreamResponse:
    """POST a screen: CSRF, step, gate, then the screen's action."""
    tenant, linkage = await _load(request)
    try:
        posted = await request.post()
    except (UnicodeDecodeError, ValueError):
        return await html_error(request, "invalid_form", "the form is not valid UTF-8", 400)
    form = {k: v[:MAX_FIELD] for k, v in posted.items() if isinstance(v, str)}
    wanted = request.match_info["screen"]
    trace_of(request).step = wanted
    tenant.linkage.check_csrf(linkage, form.get("csrf_token"))
    if linkage.step == Step.DONE:
        return await _terminal(request, tenant, linkage)
    if wanted != linkage.step and not (wanted == Step.PHONE and linkage.step == Step.CONFIRM):
        raise StepError(f"this form belongs to screen {wanted}, the linkage is at {linkage.step}")
    if "abort" in form and linkage.step in (Step.ACCOUNT, Step.IDENTITY):
        _finished(request, tenant, "aborted")
        return redirect(await tenant.linkage.abort(linkage))
    account = linkage.rule_account
    if linkage.step == Step.ACCOUNT and form.get("branch_code") and form.get("account_number"):
        account = f"{form['branch_code']}-{form['account_number']}"  # what ① is sending
    verdict = await tenant.gate(
        Step(linkage.step),
        await now_of(request, tenant),
        client_id=linkage.client_id,
        account=account,
    )
    broken = await enforce(request, verdict)
    if broken is not None:
        return broken
    if verdict.error:
        return await _served(request, tenant, linkage, verdict.error, verdict.retry_after)
    try:
        return await ACTIONS[linkage.step](request, tenant, linkage, form)
    except LinkageFailed as exc:
        return await _served(request, tenant, exc.linkage, exc.code, exc.retry_after)


async def _served(
    request: web.Request,
    tenant: Tenant,
    linkage: Linkage,
    code: str,
    retry_after: int | None = None,
) -> web.Response:
    """Show a catalog error on the current screen (or the terminal page if it ended)."""
    entry = await note(request, code)
    linkage = await tenant.linkage.after_error(linkage, code)
    if linkage.step == Step.DONE:  # it ended in this request (act() answers finished ones)
        _finished(request, tenant, "failed")
    if linkage.step == Step.DONE:
        response = await _terminal(request, tenant, linkage)
    else:
        response = await render(
            request,
            tenant,
            linkage,
            entry.http_status,
            error_message=entry.message,
            error_code=code,
        )
    if entry.http_status == 503:
        response.headers.update(retry_fact(request, retry_headers(entry, retry_after)))
    return response


async def _account(
    request: web.Request, tenant: Tenant, linkage: Linkage, form: dict[str, str]
) -> web.StreamResponse:
    linkage, problems = await tenant.linkage.submit_account(linkage, form)
    if problems:
        return await _with_field_errors(request, tenant, linkage, problems)
    return redirect(screen_url(request, linkage, Step.IDENTITY))


async def _identity(
    request: web.Request, tenant: Tenant, linkage: Linkage, form: dict[str, str]
) -> web.StreamResponse:
    if "back" in form:
        linkage = await tenant.linkage.back_to_account(linkage)
        return redirect(screen_url(request, linkage, Step.ACCOUNT))
    now = await now_of(request, tenant)
    linkage, problems = await tenant.linkage.submit_identity(linkage, form, now)
    if problems:
        return await _with_field_errors(request, tenant, linkage, problems)
    linkage = await _rotate(request, tenant, linkage)
    return redirect(screen_url(request, linkage, Step.PHONE))


async def _phone(
    request: web.Request, tenant: Tenant, linkage: Linkage, form: dict[str, str]
) -> web.StreamResponse:
    linkage = await tenant.linkage.to_confirm(linkage)
    return redirect(screen_url(request, linkage, Step.CONFIRM))


async def _confirm(
    request: web.Request, tenant: Tenant, linkage: Linkage, form: dict[str, str]
) -> web.StreamResponse:
    now = await now_of(request, tenant)
    if "simulate_call" in form:
        if not tenant.profile.call_button:
            return await html_error(request, "invalid_form", "the call button is disabled", 403)
        linkage, outcome = await tenant.linkage.simulate_call(linkage, now)
        if outcome == "expired":
            return await _served(request, tenant, linkage, "phone_window_expired")
        return await render(request, tenant, linkage, call_message=ui_text.CALL_ACCEPTED)
    linkage, verified = await tenant.linkage.confirm_phone(linkage, now)
    if verified:
        return redirect(screen_url(request, linkage, Step.PIN))
    return await render(request, tenant, linkage)


async def _pin(
    request: web.Request, tenant: Tenant, linkage: Linkage, form: dict[str, str]
) -> web.StreamResponse:
    now = await now_of(request, tenant)
    linkage, problems = await tenant.linkage.submit_pin(linkage, form, now)
    if problems:
        return await _with_field_errors(request, tenant, linkage, problems, missing=False)
    linkage = await _rotate(request, tenant, linkage)
    return redirect(screen_url(request, linkage, Step.CONSENT))


async def _consent(
    request: web.Request, tenant: Tenant, linkage: Linkage, form: dict[str, str]
) -> web.StreamResponse:
    approve = "approve" in form and "deny" not in form
    url = await tenant.linkage.decide(linkage, approve, await now_of(request, tenant))
    _finished(request, tenant, "approved" if approve else "denied")
    return redirect(url)


def _finished(request: web.Request, tenant: Tenant, outcome: str) -> None:
    for metrics in recorders(request, tenant.workspace):
        metrics.linkages_finished.inc(tenant.bank_code, outcome)


async def _with_field_errors(
    request: web.Request,
    tenant: Tenant,
    linkage: Linkage,
    problems: dict[str, str],
    missing: bool | None = None,
) -> web.Response:
    any_missing = any(msg == ui_text.FIELD_REQUIRED for msg in problems.values())
    return await render(
        request,
        tenant,
        linkage,
        400,
        field_errors=problems,
        missing=any_missing if missing is None else missing,
    )


ACTIONS: dict[Step, Action] = {
    Step.ACCOUNT: _account,
    Step.IDENTITY: _identity,
    Step.PHONE: _phone,
    Step.CONFIRM: _confirm,
    Step.PIN: _pin,
    Step.CONSENT: _consent,
}


def add_routes(app: web.Application) -> None:
    """Register the screens."""
    r = app.router
    r.add_get(f"{BANK_PATH}/linkage/{{linkage}}/finish", finish, name="finish")
    # One resource for every method: a POST is matched by the resource the GET is, not by
    # trying the GET's first and going on to the next.
    screen = r.add_resource(f"{BANK_PATH}/linkage/{{linkage}}/{{screen}}", name="screen")
    screen.add_route("HEAD", show)  # as add_get adds it
    screen.add_route("GET", show)
    screen.add_route("POST", act)
