"""Command line: ``sandbox serve|validate|scenarios|schema`` (also ``python -m sandbox``)."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import logging
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
        help="scenario YAML file(s); the first is active (env SANDBOX_SCENARIO)",
    )
    serve.add_argument("--log-level", help="DEBUG, INFO, WARNING... (env SANDBOX_LOG_LEVEL)")
    serve.set_defaults(handler=_serve)

    validate = commands.add_parser("validate", help="check scenario files, report every problem")
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    validate.set_defaults(handler=_validate)

    scenarios = commands.add_parser("scenarios", help="list the bundled scenarios")
    scenarios.set_defaults(handler=_scenarios)

    schema = commands.add_parser("schema", help="print (or write) the scenario JSON Schema")
    schema.add_argument("--output", "-o", type=Path, metavar="PATH", help="file to write")
    schema.set_defaults(handler=_schema)
    return parser


def _serve(args: argparse.Namespace) -> int:
    """Start the web server (blocks until interrupted)."""
    settings = Settings.from_env()
    overrides: dict[str, Any] = {}
    if args.host is not None:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    if args.scenario:
        overrides["scenario_paths"] = tuple(args.scenario)
    if args.log_level:
        overrides["log_level"] = args.log_level.upper()
    settings = dataclasses.replace(settings, **overrides)
    if settings.scenario_paths and _report(settings.scenario_paths, sys.stderr, quiet=True):
        return 1
    from sandbox import logs

    logs.configure(settings.log_level)
    if not settings.access_log:
        logging.getLogger("sandbox.access").setLevel(logging.WARNING)
    from aiohttp import web

    create_app = importlib.import_module("sandbox.web.app").create_app
    app = create_app(settings)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        access_log=None,  # the sandbox logs each request itself, as JSON, secrets redacted
        print=lambda text: print(text, flush=True),
    )
    return 0


def _validate(args: argparse.Namespace) -> int:
    """Validate each file; print OK lines or every problem."""
    return 1 if _report(args.files, sys.stdout, quiet=False) else 0


def _report(files: Sequence[Path], out: TextIO, *, quiet: bool) -> bool:
    """Validate ``files``, print the outcome; return True if any file has problems."""
    from sandbox.scenario.loader import ScenarioError, load_scenario

    failed = False
    for path in files:
        try:
            scenario = load_scenario(path)
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
    return failed


def _scenarios(args: argparse.Namespace) -> int:
    """List the scenarios shipped in the package."""
    from sandbox.scenario.loader import bundled_scenarios

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
