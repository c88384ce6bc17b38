"""The baseline: bare aiohttp serving the sandbox's own answers, as fast as aiohttp can.

Usage: python bench/bare.py --port 0 --pages PAGES.json [--loop asyncio|uvloop]

PAGES.json maps a path to ``{"token": ..., "body": <the JSON the sandbox answered>,
"headers": {...}}`` (the sandbox's own headers, security headers included). Each request
looks its Bearer token up in a dict, encodes the body with orjson and sends those headers,
so the baseline does the least any server answering those bytes must do. Prints the URL it
runs on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web


def make_app(pages: dict[str, dict[str, Any]]) -> web.Application:
    tokens = {f"Bearer {page['token']}": page["token"] for page in pages.values()}
    bodies = {path: page["body"] for path, page in pages.items()}
    default = {"Content-Type": "application/json", "Cache-Control": "no-store"}
    headers = {path: page.get("headers") or default for path, page in pages.items()}

    async def handle(request: web.Request) -> web.Response:
        path = request.path_qs
        if tokens.get(request.headers.get("Authorization", "")) is None or path not in bodies:
            return web.Response(status=401)
        return web.Response(body=orjson.dumps(bodies[path]), headers=headers[path])

    async def health(request: web.Request) -> web.Response:
        return web.Response(body=b'{"status":"ok"}', content_type="application/json")

    app = web.Application()
    app.router.add_get("/_sandbox/health", health)
    app.router.add_route("GET", "/{tail:.*}", handle)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--pages", type=Path)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    args = parser.parse_args()
    pages = json.loads(args.pages.read_text(encoding="utf-8")) if args.pages else {}
    loop: asyncio.AbstractEventLoop
    if args.loop == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    web.run_app(
        make_app(pages),
        loop=loop,
        host="127.0.0.1",
        port=args.port,
        access_log=None,
        print=lambda text: print(text, flush=True),
    )


if __name__ == "__main__":
    main()
