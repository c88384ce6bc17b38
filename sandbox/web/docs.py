"""The hand-written OpenAPI spec at /openapi.yaml and Swagger UI (bundled assets) at /docs."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web
from swagger_ui import api_doc

SPEC_PATH = Path(__file__).with_name("openapi.yaml")


@functools.cache
def spec_text() -> str:
    """The spec as written (read once)."""
    return SPEC_PATH.read_text(encoding="utf-8")


@functools.cache
def spec() -> dict[str, Any]:
    """The spec as a dict (dates in it are quoted strings, so it is JSON-safe)."""
    loaded: dict[str, Any] = yaml.safe_load(spec_text())
    return loaded


async def openapi_yaml(request: web.Request) -> web.Response:
    """GET /openapi.yaml."""
    return web.Response(
        text=spec_text(),
        content_type="application/yaml",
        headers={"Cache-Control": "no-store"},
    )


def add_routes(app: web.Application) -> None:
    """Serve the spec and Swagger UI (no CDN: swagger-ui-py ships the assets)."""
    app.router.add_get("/openapi.yaml", openapi_yaml, name="openapi_yaml")
    api_doc(
        app,
        # A path, not the parsed spec: Swagger UI's JSON is built when /docs asks for it,
        # so start-up does not pay for parsing the YAML (~0.1 s).
        config_path=str(SPEC_PATH),
        url_prefix="/docs",
        title="信用組合 金融機関API サンドボックス",
        host_inject=False,
        # Raw JavaScript values: never call validator.swagger.io (works offline).
        parameters={"validatorUrl": "null", "persistAuthorization": "true"},
    )
