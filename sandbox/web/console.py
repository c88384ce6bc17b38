"""The console at /_sandbox/console: see and drive one bank from a browser.

Server-rendered panels (clock, customers, linkages in progress, journal, outbox, rules,
coverage, scenario, conformance); one small script of our own (static/console.js) follows
the journal and the linkages live over server-sent events. Every change is a POST with the
console's CSRF token, answered with a redirect back (or the page with the problems).
Locally the Host and Origin checks guard it like the control API; in hosted mode the
workspace key, given once on the login form, is kept in an HttpOnly cookie.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import yaml
from aiohttp import web

from sandbox.clock import next_midnight, parse_iso, to_jst
from sandbox.domain.bank import AccountType, Customer
from sandbox.domain.conformance import report as conformance_report
from sandbox.domain.records import JournalEntry
from sandbox.errors import CATALOG, INJECTABLE
from sandbox.steps import RULE_STEPS
from sandbox.tenant.tenant import Tenant
from sandbox.tenant.workspaces import workspace_of_key
from sandbox.web.common import ControlError, control_tenant
from sandbox.web.control import arm_rule, check_clock_range, upload_scenario
from sandbox.web.hosted import CONSOLE_COOKIE, caller_workspace
from sandbox.web.keys import REGISTRY, SETTINGS
from sandbox.web.render import render_page
from sandbox.web.session import SECURE, SESSION_KEY

CONSOLE = "/_sandbox/console"
KEY_COOKIE = CONSOLE_COOKIE
STREAM_SECONDS = 600  # one event stream; EventSource reconnects with Last-Event-ID
MAX_FORM = 600 * 1024


def csrf_token(request: web.Request) -> str:
    """The console's CSRF token: an HMAC of the app's key and the caller's workspace."""
    message = f"console-csrf\x00{caller_workspace(request)}".encode()
    return hmac.new(request.app[SESSION_KEY], message, hashlib.sha256).hexdigest()[:32]


def _page(name: str, context: dict[str, Any], status: int = 200) -> web.Response:
    """A console page. Its forms post to the same origin and send that Origin (under the
    screens' no-referrer policy browsers send "Origin: null", which the check refuses)."""
    response = render_page(name, context, status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _url(request: web.Request, tenant: Tenant, fragment: str = "", **params: str) -> str:
    query = urlencode({"bank": tenant.bank_code, **params})
    return f"{CONSOLE}?{query}" + (f"#{fragment}" if fragment else "")


def _back(request: web.Request, tenant: Tenant, fragment: str, **params: str) -> web.Response:
    return web.Response(status=303, headers={"Location": _url(request, tenant, fragment, **params)})


# --- the page -------------------------------------------------------------------------------


def _seconds_left(deadline: datetime | None, now: datetime) -> int | None:
    return None if deadline is None else max(0, int((deadline - now).total_seconds()))


async def _linkages(tenant: Tenant, now: datetime) -> list[dict[str, Any]]:
    out = []
    for linkage in await tenant.linkage.linkages():
        if now >= linkage.expires_at:
            continue
        deadline = None
        if linkage.challenge_id is not None and str(linkage.step) in ("phone", "confirm"):
            challenge = await tenant.phone.get(linkage.challenge_id)
            deadline = challenge.deadline if challenge is not None else None
        out.append(
            {
                "linkage_id": linkage.linkage_id,
                "step": str(linkage.step),
                "client_id": linkage.client_id,
                "account": linkage.rule_account or "",
                "window_left": _seconds_left(deadline, now),
                "callable": deadline is not None and now <= deadline,
            }
        )
    return out


def _journal_row(entry: JournalEntry) -> dict[str, Any]:
    return entry.as_dict()


def _keep(entry: JournalEntry, query: Any) -> bool:
    client, status, code = query.get("client"), query.get("status"), query.get("code")
    if client and entry.client_id != client:
        return False
    if status and str(entry.status) != status:
        return False
    return not (code and entry.error_code != code)


def _by_number(tenant: Tenant, number: str) -> list[Customer]:
    """Customers (generated ones too) holding an account with this 7-digit number."""
    found: list[Customer] = []
    for branch in tenant.profile.branch_codes:
        for kind in AccountType:
            hit = tenant.directory.find_account(branch, kind, number)
            if hit is not None and all(c.customer_id != hit[0].customer_id for c in found):
                found.append(hit[0])
    return found


def _customers(tenant: Tenant, q: str) -> list[dict[str, Any]]:
    wanted = q.strip().lower()
    out = []
    pool = tenant.directory.sample(200)
    if re.fullmatch(r"\d{7}", wanted):  # an account number: look it up among all customers
        held = _by_number(tenant, wanted)
        ids = {c.customer_id for c in held}
        pool = held + [c for c in pool if c.customer_id not in ids]
    for c in pool:
        accounts = [
            {
                "branch": a.branch_code,
                "type": a.account_type.value,
                "number": a.number,
                "pin": a.pin,
                "triggers": a.triggers,
                "eligible": a.eligible,
            }
            for a in c.accounts
        ]
        haystack = " ".join(
            [c.customer_id, c.name_kanji, c.name_kana, c.phone]
            + [f"{a['branch']} {a['number']} {a['triggers'] or ''}" for a in accounts]
        ).lower()
        if wanted and wanted not in haystack:
            continue
        out.append(
            {
                "id": c.customer_id,
                "name_kanji": c.name_kanji,
                "name_kana": c.name_kana,
                "birth_date": c.birth_date.isoformat(),
                "phone": c.phone,
                "accounts": accounts,
                "triggers": next((a["triggers"] for a in accounts if a["triggers"]), None),
            }
        )
    return out[:50]


def _coverage_matrix(report: dict[str, Any], clients: list[str]) -> list[dict[str, Any]]:
    served = report["served"]
    rows = []
    for code, entry in CATALOG.items():
        if not entry.documented:
            continue
        by_client = served.get(code, {}).get("by_client", {})
        rows.append({"code": code, "cells": [by_client.get(c, 0) for c in clients]})
    return rows


async def console_page(request: web.Request) -> web.Response:
    """GET /_sandbox/console: every panel of one bank."""
    tenant = await control_tenant(request)
    state, now = await tenant.clock.read()
    closed = tenant.calendar.closed_window(now)
    upcoming = tenant.calendar.next_closed_window(now)
    journal = [e for e in await tenant.store.journal() if _keep(e, request.query)]
    clients = [c.client_id for c in tenant.scenario.clients]
    coverage = await tenant.coverage()
    workspace = caller_workspace(request)
    context = {
        "tenant": tenant,
        "bank_code": tenant.bank_code,
        "bank_name": tenant.profile.name,
        "banks": [t.bank_code for t in await request.app[REGISTRY].tenants(workspace)],
        "workspace": workspace,
        "csrf": csrf_token(request),
        "now": now,
        "frozen": state.frozen,
        "closed": closed,
        "upcoming": upcoming,
        "q": request.query.get("q", ""),
        "customers": _customers(tenant, request.query.get("q", "")),
        "linkages": await _linkages(tenant, now),
        "journal": [_journal_row(e) for e in journal[-50:]][::-1],
        "journal_since": journal[-1].seq if journal else 0,
        "filters": {k: request.query.get(k, "") for k in ("client", "status", "code")},
        "mails": [m.as_dict() for m in await tenant.store.mails()][-20:][::-1],
        "rules": await tenant.rules.describe(),
        "steps": [str(s) for s in RULE_STEPS],
        "injectable": sorted(INJECTABLE),
        "clients": clients,
        "coverage": _coverage_matrix(coverage, clients),
        "scenario_yaml": _scenario_yaml(tenant),
        "upload": request.get(_UPLOAD),
        "done": request.query.get("done", ""),
    }
    return _page("console/index.html", context, 422 if request.get(_UPLOAD) else 200)


def _scenario_yaml(tenant: Tenant) -> str:
    data = tenant.scenario.model_dump(mode="json", exclude_defaults=True)
    return str(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100))


_UPLOAD = web.RequestKey("console_upload", dict)


# --- actions --------------------------------------------------------------------------------


async def _form(request: web.Request) -> dict[str, str]:
    if request.content_length is not None and request.content_length > MAX_FORM:
        raise ControlError("the form is too large", 413)
    posted = await request.post()
    form = {k: v for k, v in posted.items() if isinstance(v, str)}
    given = form.get("csrf_token", "").encode("utf-8", "surrogatepass")
    if not hmac.compare_digest(given, csrf_token(request).encode()):
        raise ControlError("the console's CSRF token is missing or wrong", 403, error="csrf")
    return form


async def console_action(request: web.Request) -> web.StreamResponse:
    """POST /_sandbox/console/{action}: clock, call, rule, clear-rules, scenario, reset."""
    tenant = await control_tenant(request)
    form = await _form(request)
    action = request.match_info["action"]
    now = await tenant.clock.now()
    if action == "clock":
        return await _clock(request, tenant, form, now)
    if action == "call":
        return await _call(request, tenant, form, now)
    if action == "rule":
        return await _rule(request, tenant, form)
    if action == "clear-rules":
        await tenant.rules.clear_runtime()
        return _back(request, tenant, "rules", done="rules cleared")
    if action == "reset":
        tenant = await request.app[REGISTRY].reset(tenant.bank_code, caller_workspace(request))
        return _back(request, tenant, "clock", done="reset")
    if action == "scenario":
        return await _scenario(request, tenant, form)
    raise web.HTTPNotFound()


async def _clock(
    request: web.Request, tenant: Tenant, form: dict[str, str], now: datetime
) -> web.Response:
    jump = form.get("jump", "")
    if jump == "freeze":
        await tenant.clock.freeze(True)
    elif jump == "resume":
        await tenant.clock.freeze(False)
    elif jump == "plus2min":
        await tenant.clock.advance(120)
    elif jump == "midnight":
        await tenant.clock.set(next_midnight(now))
    elif jump == "off_hours":
        await tenant.clock.set(tenant.calendar.next_closed_window(now).start)
    elif jump == "past_off_hours":
        await tenant.clock.set(tenant.calendar.next_closed_window(now).end)
    elif jump == "set":
        try:
            moment = parse_iso(form.get("moment", ""))
        except ValueError:
            raise ControlError("give the time as 2026-11-25T10:00:00+09:00") from None
        check_clock_range(moment)
        await tenant.clock.set(moment)
    else:
        raise ControlError(f"unknown clock action {jump[:20]!r}")
    return _back(request, tenant, "clock", done=f"clock: {jump}")


async def _call(
    request: web.Request, tenant: Tenant, form: dict[str, str], now: datetime
) -> web.Response:
    wanted = form.get("linkage", "")
    held = await tenant.linkage.linkages()
    found = next((one for one in held if one.linkage_id == wanted), None)
    if found is None or found.customer_id is None:
        raise ControlError("no such linkage waiting for a call", 404)
    customer = tenant.directory.get_customer(found.customer_id)
    if customer is None:
        raise ControlError("the linkage's customer is unknown", 404)
    result = await tenant.phone.record_call(customer.phone, tenant.profile.auth_phone_number, now)
    return _back(request, tenant, "linkages", done=f"call: {result.outcome}")


async def _rule(request: web.Request, tenant: Tenant, form: dict[str, str]) -> web.Response:
    when = {k: form[f"when_{k}"] for k in ("account", "client") if form.get(f"when_{k}")}
    body: dict[str, Any] = {"on": form.get("on", ""), "error": form.get("error", "")}
    if when:
        body["when"] = when
    times = form.get("times", "once")
    body["times"] = int(times) if times.isascii() and times.isdigit() and len(times) < 7 else times
    index = await arm_rule(request, tenant, body)
    return _back(request, tenant, "rules", done=f"rule {index} armed")


async def _scenario(
    request: web.Request, tenant: Tenant, form: dict[str, str]
) -> web.StreamResponse:
    text = form.get("yaml", "")
    try:
        loaded = await upload_scenario(request, text.encode("utf-8"))
    except ControlError as exc:
        problems = exc.extra.get("problems") or [{"line": 1, "message": exc.message}]
        by_line: dict[int, list[str]] = {}
        for problem in problems:
            line = int(problem.get("line", 1))
            field = problem.get("field")
            message = f"{field}: {problem['message']}" if field else problem["message"]
            by_line.setdefault(line, []).append(message)
        lines = [
            {"number": n, "text": t, "problems": by_line.get(n, [])}
            for n, t in enumerate(text.splitlines() or [""], 1)
        ]
        request[_UPLOAD] = {"lines": lines, "count": len(problems)}
        return await console_page(request)
    registry = request.app[REGISTRY]
    loaded_tenant = await registry.get(str(loaded["bank"]), caller_workspace(request))
    assert loaded_tenant is not None
    return _back(request, loaded_tenant, "scenario", done=f"scenario {loaded['name']} loaded")


# --- live: server-sent events ---------------------------------------------------------------


async def console_events(request: web.Request) -> web.StreamResponse:
    """GET /_sandbox/console/events: ``journal`` entries as they come, and every second the
    ``linkages`` in progress (with the seconds left of their 120 s window)."""
    tenant = await control_tenant(request)
    since_text = request.headers.get("Last-Event-ID") or request.query.get("since", "0")
    since = int(since_text) if since_text.isascii() and since_text.isdigit() else 0
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    loop = asyncio.get_running_loop()
    ends = loop.time() + STREAM_SECONDS
    registry = request.app[REGISTRY]
    workspace = caller_workspace(request)
    try:
        while loop.time() < ends:
            current = await registry.get(tenant.bank_code, workspace)
            if current is None:
                break
            tenant = current
            for entry in await tenant.store.journal(since):
                since = entry.seq
                if _keep(entry, request.query):
                    data = json.dumps(_journal_row(entry), ensure_ascii=False)
                    await response.write(
                        f"id: {entry.seq}\nevent: journal\ndata: {data}\n\n".encode()
                    )
            now = await tenant.clock.now()
            snapshot = {"now": to_jst(now).isoformat(), "linkages": await _linkages(tenant, now)}
            data = json.dumps(snapshot, ensure_ascii=False)
            await response.write(f"event: linkages\ndata: {data}\n\n".encode())
            await asyncio.sleep(1)
    except ConnectionResetError:
        pass  # the browser closed the page: the stream simply ends
    return response


# --- conformance page and the hosted login --------------------------------------------------


async def console_conformance(request: web.Request) -> web.Response:
    """GET /_sandbox/console/conformance?client_id=X: the report as a page."""
    tenant = await control_tenant(request)
    client_id = request.query.get("client_id") or (
        tenant.scenario.clients[0].client_id if tenant.scenario.clients else ""
    )
    made = conformance_report(client_id, await tenant.store.journal())
    context = {
        "tenant": tenant,
        "bank_code": tenant.bank_code,
        "bank_name": tenant.profile.name,
        "client_id": client_id,
        "clients": [c.client_id for c in tenant.scenario.clients],
        "report": made,
        "workspace": caller_workspace(request),
    }
    return _page("console/conformance.html", context)


async def login_page(request: web.Request) -> web.Response:
    """GET /_sandbox/console/login (hosted mode): the form that takes the workspace key."""
    return _page("console/login.html", {"error": request.query.get("error", "")})


async def login(request: web.Request) -> web.Response:
    """POST /_sandbox/console/login: a valid workspace key goes into an HttpOnly cookie."""
    posted = await request.post()
    key = posted.get("api_key")
    if not isinstance(key, str) or await workspace_of_key(request.app[REGISTRY], key) is None:
        return web.Response(status=303, headers={"Location": f"{CONSOLE}/login?error=1"})
    response = web.Response(status=303, headers={"Location": CONSOLE})
    response.set_cookie(
        KEY_COOKIE,
        key,
        httponly=True,
        secure=request.app[SECURE],
        samesite="Strict",
        path="/_sandbox/",
        max_age=int(timedelta(hours=12).total_seconds()),
    )
    return response


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get(CONSOLE, console_page, name="console")
    r.add_get(f"{CONSOLE}/events", console_events, name="console_events")
    r.add_get(f"{CONSOLE}/conformance", console_conformance, name="console_conformance")
    r.add_post(CONSOLE + "/{action:clock|call|rule|clear-rules|reset|scenario}", console_action)
    if app[SETTINGS].hosted:
        r.add_get(f"{CONSOLE}/login", login_page, name="console_login")
        r.add_post(f"{CONSOLE}/login", login)


__all__ = ["CONSOLE", "KEY_COOKIE", "add_routes", "csrf_token"]
