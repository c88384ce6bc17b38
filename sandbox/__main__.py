"""Command line: ``sandbox serve|validate|scenarios|schema`` (also ``python -m sandbox``)."""

from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from sandbox import __version__
from sandbox.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sandbox", description="Mock of a Japanese credit union's bank API and screens."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the sandbox web server")
    serve.add_argument("--host", help="listen address (default 127.0.0.1, env SANDBOX_HOST)")
    serve.add_argument("--port", type=int, help="listen port (default 8080, env SANDBOX_PORT)")
    serve.add_argument(
        "--scenario",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="scenario YAML file(s) or bundled names (`sandbox scenarios`), one bank code "
        "each; the first is the default of control calls (env SANDBOX_SCENARIO)",
    )
    serve.add_argument(
        "--client",
        action="append",
        default=[],
        metavar="ID:SECRET:REDIRECT_URI",
        help="register a client in every scenario served (repeatable), "
        "e.g. my-app:my-secret-123:http://127.0.0.1:3000/callback",
    )
    serve.add_argument("--log-level", help="DEBUG, INFO, WARNING... (env SANDBOX_LOG_LEVEL)")
    serve.add_argument(
        "--store",
        metavar="URL",
        help="where state lives: memory (default), sqlite:///FILE, postgresql://USER@HOST/DB "
        "(env SANDBOX_STORE)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="server processes sharing the port (needs a SQL store and SANDBOX_SECRET_KEY)",
    )
    serve.add_argument(
        "--hosted",
        action="store_true",
        help="hosted mode: many vendors, one workspace each (needs SANDBOX_PUBLIC_URL, "
        "SANDBOX_SECRET_KEY, SANDBOX_ADMIN_KEY and a SQL SANDBOX_STORE; env SANDBOX_HOSTED=1)",
    )
    serve.set_defaults(handler=_serve)

    workspace = commands.add_parser("workspace", help="hosted mode's workspaces")
    ws_commands = workspace.add_subparsers(dest="ws_command", metavar="ACTION", required=True)
    create = ws_commands.add_parser(
        "create", help="create a workspace; prints its API key (shown once) as JSON"
    )
    create.add_argument("name", help="1-32 of a-z, 0-9 and '-', starting with a letter")
    create.add_argument("--store", metavar="URL", help="the store (env SANDBOX_STORE)")
    create.set_defaults(handler=_workspace_create)

    db = commands.add_parser("db", help="the SQL store's schema")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    upgrade = db_commands.add_parser("upgrade", help="create or migrate the schema to the newest")
    upgrade.add_argument("--store", metavar="URL", help="the store (env SANDBOX_STORE)")
    upgrade.set_defaults(handler=_db_upgrade)
    current = db_commands.add_parser("current", help="print the schema revision of the store")
    current.add_argument("--store", metavar="URL", help="the store (env SANDBOX_STORE)")
    current.set_defaults(handler=_db_current)

    validate = commands.add_parser("validate", help="check scenario files, report every problem")
    validate.add_argument(
        "files", nargs="+", type=Path, metavar="FILE", help="files or bundled names"
    )
    validate.set_defaults(handler=_validate)

    scenarios = commands.add_parser("scenarios", help="list the bundled scenarios")
    scenarios.set_defaults(handler=_scenarios)

    schema = commands.add_parser("schema", help="print (or write) the scenario JSON Schema")
    schema.add_argument("--output", "-o", type=Path, metavar="PATH", help="file to write")
    schema.set_defaults(handler=_schema)
    return parser


def _serve(args: argparse.Namespace) -> int:
    """Start the web server (blocks until interrupted)."""
    gc.disable()  # until the app is built (see sandbox.serve.run_worker)
    try:
        settings = Settings.from_env()
    except ValueError as exc:  # SANDBOX_PORT=abc, SANDBOX_QUOTA_BANKS=-1, ...
        print(f"sandbox serve: {exc}", file=sys.stderr)
        return 2
    overrides: dict[str, Any] = {}
    if args.host is not None:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    if args.scenario:
        overrides["scenario_paths"] = tuple(args.scenario)
    if args.log_level:
        overrides["log_level"] = args.log_level.upper()
    if args.store:
        overrides["store_url"] = args.store
    if args.hosted:
        overrides["hosted"] = True
    if args.client:
        from sandbox.scenario.edit import client_spec

        try:
            overrides["clients"] = tuple(client_spec(spec) for spec in args.client)
        except ValueError as exc:
            print(f"sandbox serve: {exc}", file=sys.stderr)
            return 2
    settings = dataclasses.replace(settings, **overrides)
    from sandbox.dataclass_code import kept_dataclass_code

    with kept_dataclass_code():  # the classes imported from here on: see the module
        if settings.scenario_paths and _report(settings.scenario_paths, sys.stderr, quiet=True):
            return 2  # like every other refusal to start (``validate`` answers 1)
        serving = importlib.import_module("sandbox.serve")
        secret_given = bool(os.environ.get("SANDBOX_SECRET_KEY"))
        refused = serving.problem(settings, args.workers, secret_given)
        if refused is not None:
            print(f"sandbox serve: {refused}", file=sys.stderr)
            return 2
        serving.import_server()
    result: int = serving.serve(settings, args.workers)
    return result


def _db_store(args: argparse.Namespace) -> str | None:
    url: str = args.store or os.environ.get("SANDBOX_STORE") or ""
    if not url or url == "memory":
        print("sandbox db: give --store sqlite:///FILE or postgresql://... (or SANDBOX_STORE)")
        return None
    return url


def _db_upgrade(args: argparse.Namespace) -> int:
    """Create the schema or migrate it to the newest revision."""
    from sandbox.store import migrations

    async def upgrade(engine: Any) -> str:
        await migrations.upgrade(engine)
        return f"schema at revision {await migrations.current(engine)}"

    return _on_store(args, "upgrade", upgrade)


def _db_current(args: argparse.Namespace) -> int:
    """Print the revision the store's schema is at."""
    from sandbox.store import migrations

    async def current(engine: Any) -> str:
        return f"{await migrations.current(engine) or 'no schema'} (newest: {migrations.head()})"

    return _on_store(args, "current", current)


def _on_store(args: argparse.Namespace, name: str, action: Any, *, migrate: bool = False) -> int:
    """Run ``action(engine)`` on the SQL store of --store / SANDBOX_STORE; print its line.

    ``migrate``: open the store first (SQLite migrates; PostgreSQL must be current) and
    call ``action(engine, store)``.
    """
    url = _db_store(args)
    if url is None:
        return 2
    import asyncio

    from sqlalchemy.exc import SQLAlchemyError

    from sandbox.store import StoreError
    from sandbox.store.sql import SqlStore

    async def run() -> str:
        store = SqlStore(url)
        try:
            if migrate:
                await store.open()
                opened: str = await action(store.engine, store)
                return opened
            line: str = await action(store.engine)
            return line
        finally:
            await store.close()

    try:
        print(asyncio.run(run()))
    except (StoreError, OSError, SQLAlchemyError) as exc:
        print(f"sandbox db {name}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    return 0


def _workspace_create(args: argparse.Namespace) -> int:
    """Create a hosted workspace in the store, with the server's scenarios."""
    if not os.environ.get("SANDBOX_SECRET_KEY"):
        print(
            "sandbox workspace create: set SANDBOX_SECRET_KEY (the server's), which the "
            "workspace's client secrets are made from",
            file=sys.stderr,
        )
        return 2
    import json

    from sandbox.tenant.registry import Registry
    from sandbox.tenant.workspaces import WorkspaceError, clients_of, create_workspace
    from sandbox.web.app import scenario_files

    settings = Settings.from_env()
    if settings.scenario_paths and _report(settings.scenario_paths, sys.stderr, quiet=True):
        return 1

    async def create(engine: Any, store: Any) -> str:
        registry = Registry(store)
        created = await create_workspace(
            registry,
            args.name,
            scenario_files(settings.scenario_paths, settings.clients),
            settings.secret_key,
        )
        banks = [
            {"bank": t.bank_code, "scenario": t.scenario.name, "clients": clients_of(t)}
            for t in created.tenants
        ]
        answer = {"workspace": created.name, "api_key": created.api_key, "banks": banks}
        return json.dumps(answer, ensure_ascii=False, indent=2)

    try:
        return _on_store(args, "workspace create", create, migrate=True)
    except WorkspaceError as exc:
        print(f"sandbox workspace create: {exc}", file=sys.stderr)
        return 2


def _validate(args: argparse.Namespace) -> int:
    """Validate each file; print OK lines or every problem."""
    return 1 if _report(args.files, sys.stdout, quiet=False) else 0


def _report(files: Sequence[Path], out: TextIO, *, quiet: bool) -> bool:
    """Validate ``files``, print the outcome; return True if any file has problems."""
    from sandbox.scenario.problems import ScenarioError
    from sandbox.scenario.sources import load_source, source_warnings

    failed = False
    for path in files:
        try:
            scenario, _ = load_source(path)
        except ScenarioError as exc:
            failed = True
            print(exc, file=out)
            continue
        if not quiet:
            generated = scenario.generate.count if scenario.generate else 0
            print(
                f"OK {path} ({len(scenario.customers) + generated} customers, "
                f"{len(scenario.clients)} clients, {len(scenario.rules)} rules)",
                file=out,
            )
        for warning in source_warnings(path):  # valid, but a rule that can never fire
            print(f"warning: {warning}", file=out if not quiet else sys.stderr)
    return failed


def _scenarios(args: argparse.Namespace) -> int:
    """List the scenarios shipped in the package."""
    from sandbox.scenario.bundled import bundled_scenarios

    entries = bundled_scenarios()
    width = max((len(name) for name, _ in entries), default=0)
    for name, description in entries:
        print(f"{name:<{width}}  {description}".rstrip())
    return 0


def _schema(args: argparse.Namespace) -> int:
    """Print the scenario JSON Schema, or write it to --output."""
    from sandbox.scenario.loader import schema_text

    text = schema_text()
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
