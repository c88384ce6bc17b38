"""The aiohttp application factory: routes, sessions, templates and middlewares."""

from __future__ import annotations

import hashlib
from pathlib import Path

from aiohttp import web
from aiohttp_session import setup as setup_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from sandbox.scenario.loader import default_scenario, load_scenario
from sandbox.settings import Settings
from sandbox.state import Registry, Sandbox
from sandbox.web.keys import REGISTRY, SETTINGS
from sandbox.web.middleware import error_middleware, journal_middleware, security_middleware

__all__ = ["REGISTRY", "SETTINGS", "build_registry", "create_app"]


def build_registry(paths: tuple[Path, ...]) -> Registry:
    """A registry with one sandbox per scenario file (or the embedded default)."""
    registry = Registry()
    if not paths:
        registry.put(Sandbox(default_scenario()))
        return registry
    for path in paths:
        sandbox = Sandbox(load_scenario(path), source=str(path))
        if registry.put(sandbox) is not None:
            raise ValueError(f"{path}: bank code {sandbox.bank_code} is already loaded")
    return registry


def create_app(
    settings: Settings | None = None, registry: Registry | None = None
) -> web.Application:
    """The sandbox web application for ``settings`` (scenarios loaded from its paths)."""
    settings = settings or Settings()
    app = web.Application(
        # journal outside error: the journal records what the error middleware answered.
        middlewares=[security_middleware, journal_middleware, error_middleware],
        client_max_size=2 * 1024 * 1024,
    )
    app[SETTINGS] = settings
    app[REGISTRY] = registry if registry is not None else build_registry(settings.scenario_paths)
    key = hashlib.sha256(settings.secret_key).digest()
    setup_session(
        app,
        EncryptedCookieStorage(
            key,
            cookie_name="SANDBOX_SESSION",
            httponly=True,
            samesite="Lax",
            path="/parasol/",
        ),
    )
    app.router.add_static("/static/", Path(__file__).parent / "static", name="static")
    # Imported here: the route modules import REGISTRY from this module.
    from sandbox.web import api, control, oauth_routes, screens

    for module in (control, oauth_routes, screens, api):
        module.add_routes(app)
    return app
