"""What one request learned on its way through the sandbox, kept in one object.

The journal middleware starts a Trace for every request; handlers, the rule gate and the
error renderers fill it in (the tenant, the client, the step, the error, the rule, the one
clock read), and the journal entry and the access line are written from it. One object
read by attribute, where separate request keys cost a mapping look-up each, on every
request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from sandbox.clock import ClockState
from sandbox.tenant.tenant import Tenant
from sandbox.web.keys import SETTINGS


@dataclass(slots=True)
class Trace:
    # The application (``request.app`` is two Python calls, and a request reads it often).
    app: web.Application
    hosted: bool = False  # the sandbox runs in hosted mode (many workspaces)
    tenant: Tenant | None = None  # the bank the request was for, once found
    client_id: str | None = None
    step: str | None = None  # the step of the linkage or API call (sandbox.steps)
    error_code: str | None = None  # the catalog error answered
    rule: int | None = None  # the scenario rule that decided the answer
    # The bank's clock as the request sees it: read once, so a request is one moment.
    clock: ClockState | None = None
    now: datetime | None = None
    # What the request showed about its client, journaled for the conformance report.
    facts: dict[str, str | int | bool] | None = None
    workspace: str = ""  # hosted mode: the workspace a control call's API key belongs to
    # The linkages this browser owns (its session cookie), and whether a screen bound one.
    owned: list[str] | None = None
    owned_changed: bool = False


TRACE = web.RequestKey("trace", Trace)


def start_trace(request: web.Request) -> Trace:
    """A new trace for ``request`` (the journal middleware starts one per request)."""
    app = request.app
    settings = app.get(SETTINGS)
    trace = request[TRACE] = Trace(app, hosted=settings is not None and settings.hosted)
    return trace


def trace_of(request: web.Request) -> Trace:
    """The request's trace (a request no middleware saw, as in a unit test, gets one)."""
    try:
        return request[TRACE]
    except KeyError:
        return start_trace(request)
