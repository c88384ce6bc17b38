"""The authorize endpoint and the six linkage screens (GET shows, POST acts)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp_session import get_session

from sandbox.domain.linkage import Linkage, Step, StepError, redirect_url
from sandbox.domain.oauth import AuthorizeError
from sandbox.errors import CATALOG, FIELD_REQUIRED, SandboxError
from sandbox.state import Sandbox, gate
from sandbox.web.common import bank_sandbox, issuer, note_error
from sandbox.web.faults import enforce
from sandbox.web.keys import CLIENT_ID, STEP
from sandbox.web.render import render_page

BASE = "/parasol/v1/banks/{bank}"
TITLES = {
    Step.ACCOUNT: "ご利用口座情報入力",
    Step.IDENTITY: "お客様情報入力",
    Step.PHONE: "電話番号の確認",
    Step.CONFIRM: "電話番号認証",
    Step.PIN: "キャッシュカード暗証番号認証",
    Step.CONSENT: "情報連携認可",
}
_ENDS_LINKAGE = frozenset({"locked_now", "locked", "pin_locked_now", "pin_locked"})
SESSION_KEY = "linkages"
MAX_FIELD = 256  # characters of one form field kept (the longest real one is an e-mail)
MAX_LINKAGES_PER_SESSION = 8


def screen_url(sandbox: Sandbox, linkage: Linkage, step: Step | str) -> str:
    return f"/parasol/v1/banks/{sandbox.bank_code}/linkage/{linkage.linkage_id}/{step}"


def _page(
    request: web.Request,
    sandbox: Sandbox | None,
    template: str,
    status: int = 200,
    **context: Any,
) -> web.Response:
    base: dict[str, Any] = {
        "bank_name": sandbox.scenario.bank.name if sandbox else "金融機関API サンドボックス",
        "bank_code": sandbox.bank_code if sandbox else "",
        "error_message": None,
        "error_code": None,
        "field_errors": {},
        "missing": False,
        "values": {},
        "screen": template.removesuffix(".html"),
    }
    base.update(context)
    response = render_page(template, base, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def error_page(
    request: web.Request,
    sandbox: Sandbox | None,
    code: str,
    detail: str = "",
    status: int | None = None,
) -> web.Response:
    """A page that only shows a catalog message (nothing to go back to)."""
    entry = note_error(request, sandbox, code)
    return _page(
        request,
        sandbox,
        "error_page.html",
        status or entry.http_status,
        title="エラー",
        error_message=entry.message,
        error_code=code,
        detail=detail,
    )


# Authorize -------------------------------------------------------------------


async def authorize(request: web.Request) -> web.StreamResponse:
    """Start a linkage: check the OAuth request, then show screen ①."""
    sandbox = bank_sandbox(request)
    request[STEP] = "authorize"
    if sandbox is None:
        return error_page(request, None, "not_found", "unknown bank code", 404)
    try:
        # A MultiDict: the domain sees repeated parameters and refuses them.
        auth = sandbox.oauth.validate_authorize(request.query)
    except AuthorizeError as exc:
        return _authorize_error(request, sandbox, exc)
    request[CLIENT_ID] = auth.client_id
    now = sandbox.clock.now()
    verdict = gate(sandbox, "authorize", now, client_id=auth.client_id)
    broken = await enforce(request, verdict)
    if broken is not None:
        return broken
    if verdict.error:
        entry = note_error(request, sandbox, verdict.error)
        return _redirect(
            redirect_url(
                auth.redirect_uri,
                {
                    "error": entry.oauth_error,
                    "error_description": entry.code,
                    "state": auth.state,
                    "iss": issuer(request, sandbox.bank_code),
                },
            )
        )
    linkage = sandbox.linkage.start(auth, now, issuer(request, sandbox.bank_code))
    await _bind(request, linkage.linkage_id)
    return _redirect(screen_url(sandbox, linkage, Step.ACCOUNT))


def _authorize_error(
    request: web.Request, sandbox: Sandbox, exc: AuthorizeError
) -> web.StreamResponse:
    if exc.redirectable and exc.redirect_uri:
        return _redirect(
            redirect_url(
                exc.redirect_uri,
                {
                    "error": exc.error,
                    "error_description": exc.description,
                    "state": exc.state,
                    "iss": issuer(request, sandbox.bank_code),
                },
            )
        )
    return _page(
        request,
        sandbox,
        "error_page.html",
        400,
        title="エラー",
        error_message="このリクエストは受け付けられません。アプリ提供事業者へお問合せ下さい。",
        error_code=exc.error,
        detail=f"{exc.error}: {exc.description}",
    )


def _redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


# Session binding ---------------------------------------------------------------


async def _bind(request: web.Request, linkage_id: str, replaces: str | None = None) -> None:
    """Remember in the (encrypted) session cookie that this browser owns the linkage."""
    session = await get_session(request)
    owned = [lid for lid in session.get(SESSION_KEY, []) if lid != replaces]
    owned.append(linkage_id)
    session[SESSION_KEY] = owned[-MAX_LINKAGES_PER_SESSION:]


async def _owned(request: web.Request, linkage_id: str) -> bool:
    session = await get_session(request)
    return linkage_id in session.get(SESSION_KEY, [])


async def _rotate(request: web.Request, sandbox: Sandbox, linkage: Linkage) -> None:
    """New linkage id and CSRF token (session renewal after identity and at consent)."""
    old = linkage.linkage_id
    sandbox.linkage.rotate(linkage)
    await _bind(request, linkage.linkage_id, replaces=old)


# Screens -----------------------------------------------------------------------


Action = Callable[[web.Request, Sandbox, Linkage, dict[str, str]], Awaitable[web.StreamResponse]]


async def _load(request: web.Request) -> tuple[Sandbox, Linkage] | web.Response:
    sandbox = bank_sandbox(request)
    if sandbox is None:
        return error_page(request, None, "not_found", "unknown bank code", 404)
    linkage_id = request.match_info["linkage"]
    # Ownership first: another session's linkage looks exactly like an unknown one.
    if not await _owned(request, linkage_id):
        return error_page(request, sandbox, "session_expired", "unknown or expired linkage")
    try:
        linkage = sandbox.linkage.get(linkage_id, sandbox.clock.now())
    except SandboxError as exc:
        return error_page(request, sandbox, exc.code, "unknown or expired linkage")
    request[CLIENT_ID] = linkage.request.client_id
    return sandbox, linkage


async def show(request: web.Request) -> web.StreamResponse:
    """GET a screen: the linkage's current screen, wherever the browser asked."""
    loaded = await _load(request)
    if isinstance(loaded, web.Response):
        return loaded
    sandbox, linkage = loaded
    wanted = request.match_info["screen"]
    if linkage.step == Step.DONE:
        return _terminal(request, sandbox, linkage)
    if wanted != linkage.step:
        return _redirect(screen_url(sandbox, linkage, linkage.step))
    return render(request, sandbox, linkage)


def render(
    request: web.Request,
    sandbox: Sandbox,
    linkage: Linkage,
    status: int = 200,
    **extra: Any,
) -> web.Response:
    """The linkage's current screen with what the customer entered."""
    step = linkage.step
    context: dict[str, Any] = {
        "title": TITLES[step],
        "csrf_token": linkage.csrf_token,
        "action": screen_url(sandbox, linkage, step),
        "values": linkage.values,
    }
    bank = sandbox.scenario.bank
    if step == Step.ACCOUNT:
        context["branches"] = bank.branches
    elif step == Step.IDENTITY:
        this_year = sandbox.clock.now().year
        context["years"] = list(range(this_year, 1899, -1))
    elif step in (Step.PHONE, Step.CONFIRM):
        customer = sandbox.linkage.customer(linkage)
        context.update(
            auth_number=bank.auth_phone_number,
            auth_number_digits="".join(ch for ch in bank.auth_phone_number if ch.isdigit()),
            phone_tail=customer.phone[-4:],
            window_seconds=bank.policy.phone_window_seconds,
            waiting=linkage.waiting_for_call,
            call_button=bank.policy.sandbox_call_button,
            call_message=None,
        )
    elif step == Step.CONSENT:
        _, account = sandbox.linkage.customer_account(linkage)
        client = sandbox.oauth.client(linkage.request.client_id)
        branch_names = {b.code: b.name for b in bank.branches}
        context.update(
            client_name=client.name if client else linkage.request.client_id,
            account_label=f"{branch_names.get(account.branch_code, account.branch_code)} "
            f"{account.account_type.japanese} {account.number}",
        )
    context.update(extra)
    return _page(request, sandbox, f"{step}.html", status, screen=str(step), **context)


def _terminal(request: web.Request, sandbox: Sandbox, linkage: Linkage) -> web.StreamResponse:
    """A finished linkage: a terminal error page with the way back, or the redirect."""
    if linkage.error_code is None:
        # Finished normally: the code went out once; never send it again.
        return error_page(request, sandbox, "session_expired", "this linkage has finished")
    code = linkage.error_code or "session_expired"
    entry = CATALOG[code]
    return _page(
        request,
        sandbox,
        "terminal.html",
        entry.http_status,
        title="エラー",
        error_message=entry.message,
        error_code=code,
        restart=entry.restart,
        back_url=f"{screen_url(sandbox, linkage, 'finish')}",
    )


async def finish(request: web.Request) -> web.StreamResponse:
    """「アプリに戻る」 from a terminal error: the redirect to the app."""
    loaded = await _load(request)
    if isinstance(loaded, web.Response):
        return loaded
    sandbox, linkage = loaded
    if linkage.step != Step.DONE:
        return _redirect(screen_url(sandbox, linkage, linkage.step))
    if linkage.outcome_url is None:
        # Finished with a code: it went out once and is never sent again.
        return error_page(request, sandbox, "session_expired", "this linkage has finished")
    return _redirect(linkage.outcome_url)


async def act(request: web.Request) -> web.StreamResponse:
    """POST a screen: CSRF, step, gate, then the screen's action."""
    loaded = await _load(request)
    if isinstance(loaded, web.Response):
        return loaded
    sandbox, linkage = loaded
    try:
        posted = await request.post()
    except (UnicodeDecodeError, ValueError):
        return error_page(request, sandbox, "invalid_form", "the form is not valid UTF-8", 400)
    form = {k: v[:MAX_FIELD] for k, v in posted.items() if isinstance(v, str)}
    wanted = request.match_info["screen"]
    request[STEP] = wanted
    try:
        sandbox.linkage.check_csrf(linkage, form.get("csrf_token"))
    except SandboxError as exc:
        return error_page(request, sandbox, exc.code, "CSRF token missing or wrong")
    if linkage.step == Step.DONE:
        return _terminal(request, sandbox, linkage)
    if wanted != linkage.step and not (wanted == Step.PHONE and linkage.step == Step.CONFIRM):
        return error_page(
            request,
            sandbox,
            "invalid_form",
            f"this form belongs to screen {wanted}, the linkage is at {linkage.step}",
            409,
        )
    if "abort" in form and linkage.step in (Step.ACCOUNT, Step.IDENTITY):
        return _redirect(sandbox.linkage.abort(linkage))
    now = sandbox.clock.now()
    entered = linkage.account_input
    verdict = gate(
        sandbox,
        str(linkage.step if linkage.step != Step.CONFIRM else Step.PHONE),
        now,
        client_id=linkage.request.client_id,
        account=f"{entered.branch_code}-{entered.account_number}" if entered else None,
    )
    broken = await enforce(request, verdict)
    if broken is not None:
        return broken
    if verdict.error:
        return _served(request, sandbox, linkage, verdict.error, verdict.retry_after)
    try:
        return await ACTIONS[linkage.step](request, sandbox, linkage, form)
    except StepError as exc:
        return error_page(request, sandbox, "invalid_form", str(exc), 409)
    except SandboxError as exc:
        return _served(request, sandbox, linkage, exc.code)


def _served(
    request: web.Request,
    sandbox: Sandbox,
    linkage: Linkage,
    code: str,
    retry_after: int | None = None,
) -> web.Response:
    """Show a catalog error on the current screen (or the terminal page if it ended)."""
    entry = note_error(request, sandbox, code)
    # A rule-injected error must look like the real one: locks end the linkage,
    # wrong_account sends the customer back to screen ① (as LinkageService does).
    if (entry.restart or code in _ENDS_LINKAGE) and linkage.step != Step.DONE:
        linkage.error_code = code
        sandbox.linkage.abort(linkage, code)
    elif code == "wrong_account" and linkage.step == Step.IDENTITY:
        linkage.step = Step.ACCOUNT
    if linkage.step == Step.DONE:
        response = _terminal(request, sandbox, linkage)
        assert isinstance(response, web.Response)
    else:
        response = render(
            request,
            sandbox,
            linkage,
            entry.http_status,
            error_message=entry.message,
            error_code=code,
        )
    wait = retry_after if retry_after is not None else entry.retry_after
    if wait is not None and entry.http_status == 503:
        response.headers["Retry-After"] = str(wait)
    return response


async def _account(
    request: web.Request, sandbox: Sandbox, linkage: Linkage, form: dict[str, str]
) -> web.StreamResponse:
    problems = sandbox.linkage.submit_account(linkage, form)
    if problems:
        return _with_field_errors(request, sandbox, linkage, problems)
    return _redirect(screen_url(sandbox, linkage, Step.IDENTITY))


async def _identity(
    request: web.Request, sandbox: Sandbox, linkage: Linkage, form: dict[str, str]
) -> web.StreamResponse:
    if "back" in form:
        sandbox.linkage.back_to_account(linkage)
        return _redirect(screen_url(sandbox, linkage, Step.ACCOUNT))
    problems = sandbox.linkage.submit_identity(linkage, form, sandbox.clock.now())
    if problems:
        return _with_field_errors(request, sandbox, linkage, problems)
    await _rotate(request, sandbox, linkage)
    return _redirect(screen_url(sandbox, linkage, Step.PHONE))


async def _phone(
    request: web.Request, sandbox: Sandbox, linkage: Linkage, form: dict[str, str]
) -> web.StreamResponse:
    sandbox.linkage.to_confirm(linkage)
    return _redirect(screen_url(sandbox, linkage, Step.CONFIRM))


async def _confirm(
    request: web.Request, sandbox: Sandbox, linkage: Linkage, form: dict[str, str]
) -> web.StreamResponse:
    now = sandbox.clock.now()
    if "simulate_call" in form:
        if not sandbox.scenario.bank.policy.sandbox_call_button:
            return error_page(request, sandbox, "invalid_form", "the call button is disabled", 403)
        outcome = sandbox.linkage.simulate_call(linkage, now)
        if outcome == "expired":
            return _served(request, sandbox, linkage, "phone_window_expired")
        message = "お届け電話番号からの着信を受け付けました(模擬)。「確定する」を押して下さい。"
        return render(request, sandbox, linkage, call_message=message)
    if sandbox.linkage.confirm_phone(linkage, now):
        return _redirect(screen_url(sandbox, linkage, Step.PIN))
    return render(request, sandbox, linkage)


async def _pin(
    request: web.Request, sandbox: Sandbox, linkage: Linkage, form: dict[str, str]
) -> web.StreamResponse:
    problems = sandbox.linkage.submit_pin(linkage, form, sandbox.clock.now())
    if problems:
        return _with_field_errors(request, sandbox, linkage, problems, missing=False)
    await _rotate(request, sandbox, linkage)
    return _redirect(screen_url(sandbox, linkage, Step.CONSENT))


async def _consent(
    request: web.Request, sandbox: Sandbox, linkage: Linkage, form: dict[str, str]
) -> web.StreamResponse:
    approve = "approve" in form and "deny" not in form
    return _redirect(sandbox.linkage.decide(linkage, approve, sandbox.clock.now()))


def _with_field_errors(
    request: web.Request,
    sandbox: Sandbox,
    linkage: Linkage,
    problems: dict[str, str],
    missing: bool | None = None,
) -> web.Response:
    any_missing = any(msg == FIELD_REQUIRED for msg in problems.values())
    return render(
        request,
        sandbox,
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
    """Register the authorize endpoint and the screens."""
    r = app.router
    r.add_get(f"{BASE}/oauth/auth", authorize, name="authorize")
    r.add_get(f"{BASE}/linkage/{{linkage}}/finish", finish, name="finish")
    r.add_get(f"{BASE}/linkage/{{linkage}}/{{screen}}", show, name="screen")
    r.add_post(f"{BASE}/linkage/{{linkage}}/{{screen}}", act)
