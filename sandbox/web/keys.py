"""Typed application keys shared by the web modules (what a request learned: web/trace)."""

from __future__ import annotations

from aiohttp import web

from sandbox.settings import Settings
from sandbox.tenant.registry import Registry

REGISTRY = web.AppKey("registry", Registry)
SETTINGS = web.AppKey("settings", Settings)
