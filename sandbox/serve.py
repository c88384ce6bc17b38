"""Running the server: checks before the start, the store prepared once, N worker processes."""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import re
import signal
import sys
from types import FrameType
from urllib.parse import urlencode

from sandbox.settings import Settings
from sandbox.store import StoreError, is_sql, open_store

log = logging.getLogger("sandbox")


def problem(settings: Settings, workers: int, secret_given: bool) -> str | None:
    """Why this combination cannot start (one line), or None."""
    if not 0 <= settings.port <= 65535:
        return f"--port must be 0-65535 (0: any free port), not {settings.port}"
    if workers < 1:
        return "--workers must be at least 1"
    if workers > 1 and not is_sql(settings.store_url):
        return (
            f"--workers {workers} needs a SQL store (--store sqlite:///FILE or "
            "postgresql://...): with the memory store each worker would hold its own state"
        )
    if settings.event_loop not in EVENT_LOOPS:
        names = ", ".join(EVENT_LOOPS)
        return f"SANDBOX_EVENT_LOOP must be one of {names}, not {settings.event_loop!r}"
    if settings.event_loop == "uvloop" and not _has_uvloop():
        return "SANDBOX_EVENT_LOOP=uvloop, but uvloop is not installed (pip install uvloop)"
    if settings.hosted:
        from sandbox.settings import hosted_problem

        hosted = hosted_problem(settings)
        if hosted is not None:
            return hosted
    if is_sql(settings.store_url) and not secret_given:
        return (
            "a SQL store needs SANDBOX_SECRET_KEY (any long random string), so that session "
            "cookies stay valid on every worker and after a restart"
        )
    return None


EVENT_LOOPS = ("auto", "uvloop", "asyncio")


def _has_uvloop() -> bool:
    import importlib.util

    return importlib.util.find_spec("uvloop") is not None


def event_loop(settings: Settings) -> asyncio.AbstractEventLoop:
    """A new event loop of the kind ``settings.event_loop`` names: uvloop (a libuv loop in
    C, about a fifth less CPU per request here, most of all when requests come one at a
    time) unless asyncio is asked for or uvloop is not installed. Its servers batch their
    writes (sandbox.web.batched_writes) unless ``settings.batch_writes`` is off."""
    from sandbox.web.batched_writes import batching_loop

    loop_class: type[asyncio.AbstractEventLoop]
    if sys.platform == "win32":  # the loop asyncio.new_event_loop() makes there
        loop_class = asyncio.ProactorEventLoop
    else:
        loop_class = asyncio.SelectorEventLoop
    if settings.event_loop != "asyncio" and _has_uvloop():
        import uvloop

        loop_class = uvloop.Loop
    return batching_loop(loop_class) if settings.batch_writes else loop_class()


def loop_kind(loop: asyncio.AbstractEventLoop) -> str:
    """ "uvloop" or "asyncio": the library whose loop ``loop`` is (under the batching)."""
    classes = type(loop).__mro__
    return "uvloop" if any(c.__module__.startswith("uvloop") for c in classes) else "asyncio"


async def prepare(settings: Settings) -> None:
    """Open the store once (SQLite migrates; PostgreSQL must be current) and load scenarios."""
    from sandbox.tenant.registry import Registry
    from sandbox.web.app import scenario_files

    store = open_store(settings.store_url)
    try:
        await store.open()
        registry = Registry(store)
        if settings.hosted:  # the scenarios are what new workspaces start with
            # Refuse two scenarios for one bank code now, not at the first workspace.
            scenario_files(settings.scenario_paths, settings.clients)
            return
        for scenario, source in scenario_files(settings.scenario_paths, settings.clients):
            outcome = await registry.ensure(scenario, source)
            log.info("bank %s: %s (%s)", scenario.bank.code, outcome, source)
    finally:
        await store.close()


def import_server() -> None:
    """Import what serving needs: aiohttp first, its own way (see sandbox.web.client_tls),
    then the app. ``sandbox serve`` calls it while dataclasses' code is kept
    (sandbox.dataclass_code), as do workers."""
    if "sandbox.web.app" in sys.modules:
        return
    from sandbox.dataclass_code import kept_dataclass_code
    from sandbox.web import client_tls

    with kept_dataclass_code():  # nothing new when the caller keeps it already
        client_tls.import_aiohttp()  # before anything else imports it
        importlib.import_module("sandbox.web.app")


def run_worker(settings: Settings, reuse_port: bool) -> None:
    """One server process (blocks until interrupted)."""
    # Start-up allocates many long-lived objects (modules, models, routes): collecting
    # during it only costs time, and frozen they stay out of every later collection.
    gc.disable()
    import_server()
    from aiohttp import web

    from sandbox import logs
    from sandbox.web import client_tls
    from sandbox.web.app import create_app

    logs.configure(settings.log_level)
    if not settings.access_log:
        logging.getLogger("sandbox.access").setLevel(logging.WARNING)
    app = create_app(settings)
    client_tls.wait_for_certificates()
    gc.freeze()
    gc.enable()
    web.run_app(
        app,
        loop=event_loop(settings),
        host=settings.host,
        port=settings.port,
        reuse_port=reuse_port or None,
        access_log=None,  # the sandbox logs each request itself, as JSON, secrets redacted
        # A connection that sends no complete request for this long is closed: an idle
        # keep-alive, or a slow-loris client dribbling its headers.
        keepalive_timeout=settings.keepalive_seconds,
        print=lambda text: _announce(text, settings),
    )


def _announce(text: str, settings: Settings) -> None:
    """aiohttp's "Running on URL" line, then the URLs a newcomer opens first."""
    print(text, flush=True)
    found = re.search(r"Running on (http://\S+)", text)
    if found is None:
        return
    from sandbox.web.batched_writes import BatchingLoop

    loop = asyncio.get_running_loop()
    writes = "batched" if isinstance(loop, BatchingLoop) else "each at once"
    log.info("event loop: %s (writes: %s)", loop_kind(loop), writes)
    from sandbox.web.app import scenario_files

    base = settings.public_url or found[1]
    scenario = scenario_files(settings.scenario_paths, settings.clients)[0][0]
    lines = [
        f"  API docs:    {base}/docs",
        f"  console:     {base}/_sandbox/console",
        f"  control API: {base}/_sandbox/health",
    ]
    if settings.hosted:
        lines.append(
            f"  hosted mode: create a workspace with POST {base}/_sandbox/workspaces "
            '{"name": "..."} and the admin key, or `sandbox workspace create NAME`'
        )
    elif scenario.clients:
        client = scenario.clients[0]
        query = urlencode(
            {
                "response_type": "code",
                "client_id": client.client_id,
                "redirect_uri": client.redirect_uris[0],
                "state": "try-me",
            }
        )
        lines.append(
            f"  link a customer: {base}/parasol/v1/banks/{scenario.bank.code}/oauth/auth?{query}"
        )
    print("\n".join(lines), flush=True)


def serve(settings: Settings, workers: int) -> int:
    """Prepare the store, then run one server, or ``workers`` sharing the port."""
    from sandbox.web import client_tls

    client_tls.import_aiohttp()  # before prepare() imports it (see sandbox.web.client_tls)
    if is_sql(settings.store_url):
        try:
            asyncio.run(prepare(settings))
        except StoreError as exc:
            print(f"sandbox serve: {exc}", file=sys.stderr)
            return 2
    try:
        if workers == 1:
            run_worker(settings, reuse_port=False)
            return 0
        return _supervise(settings, workers)
    except OSError as exc:  # the port is taken, the address is not this machine's, ...
        reason = exc.strerror or str(exc)
        print(
            f"sandbox serve: cannot listen on {settings.host}:{settings.port}: {reason}",
            file=sys.stderr,
        )
        return 2
    except ValueError as exc:  # two scenarios for one bank code
        print(f"sandbox serve: {exc}", file=sys.stderr)
        return 2


def _supervise(settings: Settings, workers: int) -> int:
    """``workers`` processes on one port (SO_REUSEPORT); stop them all on SIGINT/SIGTERM."""
    import multiprocessing  # here: one server (the default) starts without it

    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=run_worker, args=(settings, True), name=f"sandbox-worker-{i}")
        for i in range(workers)
    ]
    for child in children:
        child.start()

    def stop(signum: int, _frame: FrameType | None) -> None:
        for child in children:
            if child.is_alive():
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for child in children:
        child.join()
    return 0 if all(c.exitcode in (0, -signal.SIGTERM) for c in children) else 1
