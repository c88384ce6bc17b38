"""The aiohttp application factory: state, routes, sessions, templates and middlewares."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from aiohttp import web

from sandbox.scenario.model import ClientModel
from sandbox.scenario.sources import Loaded, served_scenarios
from sandbox.settings import Settings
from sandbox.store import open_store
from sandbox.tenant.registry import Registry
from sandbox.web import routing
from sandbox.web.errors import error_middleware
from sandbox.web.hosted import SCENARIOS, hosted_guard
from sandbox.web.hosted import add_routes as hosted_routes
from sandbox.web.keys import REGISTRY, SETTINGS
from sandbox.web.middleware import KNOWN_HOSTS, finish_headers, journal_middleware
from sandbox.web.quotas import RATE_LIMITS, RateLimits
from sandbox.web.session import SECURE, SESSION_KEY, session_key

__all__ = ["REGISTRY", "SETTINGS", "Loaded", "create_app", "scenario_files"]

log = logging.getLogger("sandbox")


def scenario_files(paths: Sequence[Path], clients: Sequence[ClientModel] = ()) -> list[Loaded]:
    """The scenarios of ``paths`` (files or bundled names, or the embedded default), one
    bank code each, with ``clients`` (``--client``) added to each."""
    return served_scenarios(paths, clients)


def create_app(
    settings: Settings | None = None,
    registry: Registry | None = None,
    scenarios: Sequence[Loaded] | None = None,
) -> web.Application:
    """The sandbox web application.

    State lives in ``registry`` (by default a new one over ``settings.store_url``); the
    ``scenarios`` (by default ``settings.scenario_paths``, or the embedded one when the
    registry is new) are loaded when the app starts.
    """
    settings = settings or Settings()
    hosted = settings.hosted
    owned = registry is None
    if registry is None:
        caps = (
            {"journal_cap": settings.quotas.journal, "outbox_cap": settings.quotas.outbox}
            if hosted
            else {}
        )
        registry = Registry(open_store(settings.store_url, **caps))
    if scenarios is None:
        scenarios = (
            scenario_files(settings.scenario_paths, settings.clients) if owned or hosted else []
        )
    middlewares = [journal_middleware, error_middleware]  # the journal records the answer
    if hosted:
        middlewares.append(hosted_guard)
    app = web.Application(middlewares=middlewares, client_max_size=2 * 1024 * 1024)
    app[SETTINGS] = settings
    app[REGISTRY] = registry
    # Hosted: the scenarios are what each new workspace starts with; nothing loads at start.
    to_load = [] if hosted else list(scenarios)
    if hosted:
        app[SCENARIOS] = list(scenarios)
        app[RATE_LIMITS] = RateLimits(settings.quotas)

    async def state(app: web.Application) -> AsyncIterator[None]:
        if owned:
            await registry.store.open()
        for scenario, source in to_load:
            outcome = await registry.ensure(scenario, source)
            if outcome != "loaded":
                log.info("bank %s: %s from the store (%s)", scenario.bank.code, outcome, source)
        yield
        if owned:
            await registry.store.close()

    app.cleanup_ctx.append(state)
    app[SESSION_KEY] = session_key(settings.secret_key)
    app[KNOWN_HOSTS] = {}
    app[SECURE] = (settings.public_url or "").startswith("https://")
    app.on_response_prepare.append(finish_headers)
    app.router.add_static("/static/", Path(__file__).parent / "static", name="static")
    from sandbox.web import (
        authorize,
        conformance,
        console,
        control,
        data_api,
        docs,
        links,
        metrics,
        oauth_routes,
        postings,
        screens,
        transfer,
    )

    modules = (
        control,
        conformance,
        console,
        transfer,
        postings,
        links,
        # The bank's routes share one prefix, so aiohttp tries them in this order: the data
        # API first (what clients call most), then the screens (a dozen requests per
        # linkage), then the OAuth endpoints (one or two).
        data_api,
        screens,
        oauth_routes,
        authorize,
        docs,
        metrics,
    )
    for module in modules:
        module.add_routes(app)
    if hosted:
        hosted_routes(app)
    routing.install(app.router)  # the bank's routes found by their shape, not one by one
    return app
