"""Typed application keys shared by the web modules."""

from __future__ import annotations

from aiohttp import web

from sandbox.settings import Settings
from sandbox.state import Registry

REGISTRY = web.AppKey("registry", Registry)
SETTINGS = web.AppKey("settings", Settings)

# What a handler learned about a request, for the journal and the logs.
CLIENT_ID = web.RequestKey("client_id", str)
STEP = web.RequestKey("step", str)
ERROR_CODE = web.RequestKey("error_code", str)
RULE = web.RequestKey("rule", int)
