"""The control API under /_sandbox: health, reset, scenario, clock, calls, outbox, journal."""

from __future__ import annotations

import asyncio
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from sandbox import __version__
from sandbox.clock import JST, parse_iso
from sandbox.scenario.bundled import bundled_scenarios
from sandbox.scenario.edit import with_client
from sandbox.scenario.loader import load_scenario_text, scenario_warnings
from sandbox.scenario.model import ClientModel, RuleModel, Scenario
from sandbox.scenario.problems import ScenarioError
from sandbox.scenario.yaml_source import MAX_NODES
from sandbox.tenant.tenant import Tenant
from sandbox.tenant.workspaces import (
    WorkspaceError,
    client_in,
    clients_of,
    rule_in,
    scenario_in,
)
from sandbox.web.common import (
    JSON_TYPES,
    NO_STORE,
    YAML_TYPES,
    ControlError,
    check_body_type,
    control_tenant,
    is_hosted,
    json_body,
    json_response,
)
from sandbox.web.hosted import caller_workspace, check_owned
from sandbox.web.keys import REGISTRY, SETTINGS
from sandbox.web.quotas import check_scenario, check_upload_size

# Scenario uploads are parsed by one thread: a burst of them queues instead of starving
# the event loop, and the size limits of the YAML reader bound each one.
_PARSER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scenario-parser")
PARSE_SECONDS = 10


def _bad(message: str, status: int = 400, **extra: Any) -> ControlError:
    return ControlError(message, status, **extra)


def _field_problems(exc: ValidationError) -> list[dict[str, str]]:
    """A JSON body's validation errors, one ``{field, message}`` each."""
    return [
        {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
    ]


async def health(request: web.Request) -> web.Response:
    """Liveness plus which banks are loaded (hosted mode: liveness only, no tenant named)."""
    if is_hosted(request):
        return json_response(
            {"status": "ok", "version": __version__, "mode": "hosted"}, headers=NO_STORE
        )
    banks = [
        {
            "bank": t.bank_code,
            "scenario": t.scenario.name,
            "source": t.source,
            "now": (await t.clock.now()).isoformat(),
        }
        for t in await request.app[REGISTRY].tenants()
    ]
    return json_response({"status": "ok", "version": __version__, "banks": banks}, headers=NO_STORE)


async def reset(request: web.Request) -> web.Response:
    """Back to the scenario's start: clock, locks, codes, tokens, mails, rules, journal."""
    tenant = await request.app[REGISTRY].reset(
        (await control_tenant(request)).bank_code, caller_workspace(request)
    )
    return json_response(
        {
            "status": "reset",
            "bank": tenant.bank_code,
            "now": (await tenant.clock.now()).isoformat(),
        },
        headers=NO_STORE,
    )


async def _clock_state(tenant: Tenant) -> dict[str, Any]:
    state = await tenant.clock.state()
    now = await tenant.clock.now()
    closed = tenant.calendar.closed_window(now)
    return {
        "bank": tenant.bank_code,
        "now": now.isoformat(),
        "frozen": state.frozen,
        "timezone": "Asia/Tokyo",
        "service_open": closed is None,
        "closed_window": None
        if closed is None
        else {
            "start": closed.start.isoformat(),
            "end": closed.end.isoformat(),
            "reason": closed.reason,
        },
    }


# Japan time has been +09:00 since 1888 (before that zoneinfo gives local mean time, which is
# no valid RFC 3339 offset); the far future would overflow datetime when advanced.
_CLOCK_MIN = datetime(1970, 1, 1, tzinfo=JST)
_CLOCK_MAX = datetime(3000, 1, 1, tzinfo=JST)
_CLOCK_RANGE = "the clock must stay between 1970-01-01 and 2999-12-31 (Japan time)"


def check_clock_range(moment: datetime) -> None:
    """ControlError unless ``moment`` is a time the clock may be set to."""
    if not _CLOCK_MIN <= moment < _CLOCK_MAX:
        raise _bad(_CLOCK_RANGE)


async def get_clock(request: web.Request) -> web.Response:
    return json_response(await _clock_state(await control_tenant(request)), headers=NO_STORE)


async def post_clock(request: web.Request) -> web.Response:
    """``{"set": iso}``, ``{"advance_seconds": n}`` and/or ``{"frozen": bool}``."""
    tenant = await control_tenant(request)
    body = await json_body(request)
    unknown = set(body) - {"set", "advance_seconds", "frozen"}
    if unknown or not body:
        raise _bad(
            "expected one of: set (ISO 8601), advance_seconds (number), frozen (bool)",
            unknown=sorted(unknown),
        )
    if "set" in body and "advance_seconds" in body:
        raise _bad("give either set or advance_seconds, not both")
    frozen = body.get("frozen")
    if frozen is not None and not isinstance(frozen, bool):
        raise _bad("frozen must be true or false")
    if "set" in body:
        if not isinstance(body["set"], str):
            raise _bad("set must be an ISO 8601 date-time string, e.g. 2026-12-01T09:00:00+09:00")
        try:
            moment = parse_iso(body["set"])
        except ValueError:
            raise _bad(
                "set must be an ISO 8601 date-time string, e.g. 2026-12-01T09:00:00+09:00"
            ) from None
        check_clock_range(moment)
    if "advance_seconds" in body:
        seconds = body["advance_seconds"]
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not math.isfinite(seconds)
            or abs(seconds) > 3.2e9
        ):
            raise _bad("advance_seconds must be a number of seconds (may be negative)")
        if not _CLOCK_MIN <= await tenant.clock.now() + timedelta(seconds=seconds) < _CLOCK_MAX:
            raise _bad(_CLOCK_RANGE)
    # Freeze (or thaw) first, so that a frozen clock shows exactly the time that was set.
    if frozen is not None:
        await tenant.clock.freeze(frozen)
    if "set" in body:
        await tenant.clock.set(moment)
    if "advance_seconds" in body:
        await tenant.clock.advance(float(body["advance_seconds"]))
    return json_response(await _clock_state(tenant), headers=NO_STORE)


async def calls(request: web.Request) -> web.Response:
    """Simulate an inbound call ``{"from": phone, "to": auth_number}``."""
    tenant = await control_tenant(request)
    body = await json_body(request)
    caller, callee = body.get("from"), body.get("to", tenant.scenario.bank.auth_phone_number)
    if not isinstance(caller, str) or not isinstance(callee, str):
        raise _bad('expected {"from": "090-1234-5678", "to": "<auth number>"} as strings')
    result = await tenant.phone.record_call(caller, callee, await tenant.clock.now())
    status = 200 if result.outcome == "verified" else 409
    body = {
        "outcome": result.outcome,
        "verified": result.verified,
        "linkages": len(result.challenge_ids),
    }
    return json_response(body, status, NO_STORE)


async def outbox(request: web.Request) -> web.Response:
    tenant = await control_tenant(request)
    to = request.query.get("to")
    return json_response(
        {"mails": [m.as_dict() for m in await tenant.store.mails(to)]}, headers=NO_STORE
    )


async def journal(request: web.Request) -> web.Response:
    tenant = await control_tenant(request)
    try:
        since = int(request.query.get("since", "0"))
    except ValueError:
        raise _bad("since must be an integer sequence number") from None
    return json_response(
        {"entries": [e.as_dict() for e in await tenant.store.journal(since)]}, headers=NO_STORE
    )


async def coverage(request: web.Request) -> web.Response:
    tenant = await control_tenant(request)
    report = await tenant.coverage()
    return json_response({"bank": tenant.bank_code, **report}, headers=NO_STORE)


async def scenarios(request: web.Request) -> web.Response:
    """Bundled scenarios with descriptions, and what each bank runs now."""
    loaded = [
        {"bank": t.bank_code, "name": t.scenario.name, "source": t.source}
        for t in await request.app[REGISTRY].tenants(caller_workspace(request))
    ]
    bundled = [{"name": name, "description": desc} for name, desc in bundled_scenarios()]
    return json_response({"bundled": bundled, "loaded": loaded}, headers=NO_STORE)


async def put_scenario(request: web.Request) -> web.Response:
    """Load a scenario (YAML body) for its bank code; nothing changes if it is invalid."""
    check_body_type(request, YAML_TYPES | JSON_TYPES)
    return json_response(await upload_scenario(request, await request.read()), headers=NO_STORE)


async def upload_scenario(request: web.Request, raw: bytes) -> dict[str, Any]:
    """Validate and load an uploaded scenario (the caller's workspace's, within its quotas);
    ControlError with every problem, line:column, if it is invalid (nothing changes then)."""
    settings = request.app[SETTINGS]
    workspace = caller_workspace(request)
    quotas = settings.quotas if workspace else None
    if quotas is not None:
        check_upload_size(quotas, len(raw))
    max_nodes = quotas.scenario_nodes if quotas is not None else MAX_NODES
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = {
            "file": "<request body>",
            "line": 1,
            "column": 1,
            "field": "",
            "message": f"the body is not UTF-8 (byte {exc.start})",
        }
        raise _bad("invalid scenario", 422, problems=[problem]) from None
    try:
        # Off the event loop, one at a time, with a deadline: other banks keep being served.
        loop = asyncio.get_running_loop()
        parsing = loop.run_in_executor(
            _PARSER, load_scenario_text, text, "<request body>", max_nodes
        )
        scenario = await asyncio.wait_for(parsing, PARSE_SECONDS)
    except ScenarioError as exc:
        problems = [asdict(p) for p in exc.problems]
        raise _bad("invalid scenario", 422, problems=problems, omitted=exc.omitted) from None
    except TimeoutError:
        raise _bad(
            f"the scenario took more than {PARSE_SECONDS} s to read; make it smaller", 422
        ) from None
    registry = request.app[REGISTRY]
    if quotas is not None:
        held = await registry.tenants(workspace)
        replaces = any(t.bank_code == scenario.bank.code for t in held)
        check_scenario(quotas, scenario, len(held), replaces)
        try:
            scenario = scenario_in(workspace, scenario, settings.secret_key)
        except WorkspaceError as exc:
            raise _bad(str(exc), 422, error=exc.reason) from None
    tenant, replaced = await registry.load(scenario, "<control API>", workspace)
    return {
        "status": "loaded",
        "bank": tenant.bank_code,
        "name": scenario.name,
        "replaced": replaced,
        "customers": len(tenant.directory),
        "clients": len(scenario.clients),
        "rules": len(scenario.rules),
        "registered_clients": clients_of(tenant),
        "warnings": [asdict(w) for w in scenario_warnings(text, "<request body>")],
    }


async def post_client(request: web.Request) -> web.Response:
    """Add or replace a client at run time (validated like a scenario's); kept by reset."""
    tenant = await control_tenant(request)
    body = await json_body(request)
    workspace = caller_workspace(request)
    if workspace:  # the secret is generated in hosted mode
        check_owned(
            request,
            body.get("client_id") if isinstance(body.get("client_id"), str) else None,
            "client_id",
        )
        body = {**body, "client_secret": "generated-by-the-sandbox"}
    try:
        client = ClientModel.model_validate(body)
    except ValidationError as exc:
        problems = _field_problems(exc)
        raise _bad("invalid client", 422, problems=problems) from None
    if workspace:
        try:
            client = client_in(
                workspace, tenant.bank_code, client, request.app[SETTINGS].secret_key
            )
        except WorkspaceError as exc:
            raise _bad(str(exc), 422, error=exc.reason) from None
    replaced: list[bool] = []

    def change(scenario: Scenario) -> Scenario:
        updated, was_there = with_client(scenario, client)
        replaced[:] = [was_there]
        return updated

    tenant = await request.app[REGISTRY].update_scenario(tenant.bank_code, workspace, change)
    (registered,) = [c for c in clients_of(tenant) if c["client_id"] == client.client_id]
    status = 200 if replaced and replaced[0] else 201
    return json_response({"bank": tenant.bank_code, **registered}, status, NO_STORE)


async def get_clients(request: web.Request) -> web.Response:
    """The bank's registered clients with their secrets and redirect URIs."""
    tenant = await control_tenant(request)
    return json_response(
        {"bank": tenant.bank_code, "clients": clients_of(tenant)}, headers=NO_STORE
    )


async def get_rules(request: web.Request) -> web.Response:
    tenant = await control_tenant(request)
    return json_response({"rules": await tenant.rules.describe()}, headers=NO_STORE)


async def post_rule(request: web.Request) -> web.Response:
    """Arm a rule at run time (same fields as a scenario rule); reset clears it."""
    tenant = await control_tenant(request)
    index = await arm_rule(request, tenant, await json_body(request))
    return json_response({"status": "armed", "index": index}, 201, NO_STORE)


async def arm_rule(request: web.Request, tenant: Tenant, body: dict[str, Any]) -> int:
    """Validate and arm a run-time rule (hosted: the workspace's client ids, its quota)."""
    try:
        rule = RuleModel.model_validate(body)
    except ValidationError as exc:
        problems = _field_problems(exc)
        raise _bad("invalid rule", 422, problems=problems) from None
    workspace = caller_workspace(request)
    if workspace:
        limit = request.app[SETTINGS].quotas.rules
        if len(await tenant.rules.all()) >= limit:
            raise ControlError(
                f"this bank already has {limit} rules, the workspace's quota "
                "(SANDBOX_QUOTA_RULES); DELETE /_sandbox/rules clears those armed at run time",
                422,
                error="quota_exceeded",
                quota="rules",
                limit=limit,
            )
        rule = rule_in(workspace, rule)
    return await tenant.rules.add(rule)


async def delete_rules(request: web.Request) -> web.Response:
    tenant = await control_tenant(request)
    await tenant.rules.clear_runtime()
    return json_response({"status": "cleared"}, headers=NO_STORE)


async def customers(request: web.Request) -> web.Response:
    """A few customers to try (explicit ones first), PINs included: it is a tenant."""
    tenant = await control_tenant(request)
    text = request.query.get("limit", "20")
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 200):
        raise _bad("limit must be a whole number from 1 to 200")
    limit = int(text)
    out = []
    for c in tenant.directory.sample(limit):
        magic = next((a.triggers for a in c.accounts if a.triggers is not None), None)
        out.append(
            {
                **({"triggers": magic} if magic is not None else {}),
                "customer_id": c.customer_id,
                "name_kanji": c.name_kanji,
                "name_kana": c.name_kana,
                "birth_date": c.birth_date.isoformat(),
                "phone": c.phone,
                "email": c.email,
                "accounts": [
                    {
                        "branch_code": a.branch_code,
                        "account_type": a.account_type.value,
                        "account_number": a.number,
                        "pin": a.pin,
                        "cash_card": a.cash_card,
                        "eligible": a.eligible,
                        **({"triggers": a.triggers} if a.triggers is not None else {}),
                    }
                    for a in c.accounts
                ],
            }
        )
    return json_response({"total": len(tenant.directory), "customers": out}, headers=NO_STORE)


def add_routes(app: web.Application) -> None:
    """Register the control API."""
    r = app.router
    r.add_get("/_sandbox/health", health, name="health")
    r.add_post("/_sandbox/reset", reset, name="reset")
    r.add_get("/_sandbox/clock", get_clock, name="clock")
    r.add_post("/_sandbox/clock", post_clock)
    r.add_post("/_sandbox/calls", calls, name="calls")
    r.add_get("/_sandbox/outbox", outbox, name="outbox")
    r.add_get("/_sandbox/journal", journal, name="journal")
    r.add_get("/_sandbox/coverage", coverage, name="coverage")
    r.add_get("/_sandbox/scenarios", scenarios, name="scenarios")
    r.add_put("/_sandbox/scenario", put_scenario, name="scenario")
    r.add_get("/_sandbox/rules", get_rules, name="rules")
    r.add_post("/_sandbox/rules", post_rule)
    r.add_delete("/_sandbox/rules", delete_rules)
    r.add_get("/_sandbox/customers", customers, name="customers")
    r.add_get("/_sandbox/clients", get_clients, name="clients")
    r.add_post("/_sandbox/clients", post_client)
