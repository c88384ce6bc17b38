"""Typed application and request keys shared by the web modules."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from sandbox.clock import ClockState
from sandbox.settings import Settings
from sandbox.tenant.registry import Registry
from sandbox.tenant.tenant import Tenant

REGISTRY = web.AppKey("registry", Registry)
SETTINGS = web.AppKey("settings", Settings)

# What a handler learned about a request, for the journal, the logs and the error renderers.
TENANT = web.RequestKey("tenant", Tenant)
CLIENT_ID = web.RequestKey("client_id", str)
STEP = web.RequestKey("step", str)
ERROR_CODE = web.RequestKey("error_code", str)
RULE = web.RequestKey("rule", int)
# The bank's clock as one request sees it: read once, so a request is one moment.
CLOCK = web.RequestKey("clock", ClockState)
NOW = web.RequestKey("now", datetime)
# What a request showed about its client, journaled for the conformance report.
FACTS = web.RequestKey("facts", dict[str, str | int | bool])
# Hosted mode: the workspace a control call's API key belongs to ("" in local mode).
WORKSPACE = web.RequestKey("workspace", str)
