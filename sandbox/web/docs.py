"""The hand-written OpenAPI spec at /openapi.yaml and Swagger UI (bundled assets) at /docs.

Swagger UI's files come from the swagger-ui-py package, served as static files; the page is
ours. Nothing is imported or parsed at start-up (swagger-ui-py itself would pull in Jinja2):
the spec is parsed only when /docs/swagger.json is first asked for.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from sandbox.web.common import json_response
from sandbox.web.keys import SETTINGS

SPEC_PATH = Path(__file__).with_name("openapi.yaml")
_PAGE = """<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<title>信用組合 金融機関API サンドボックス</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/static/favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js" charset="utf-8"></script>
<script src="/docs/static/swagger-ui-standalone-preset.js" charset="utf-8"></script>
<script>
window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.yaml",
    dom_id: "#swagger-ui",
    validatorUrl: null,
    persistAuthorization: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout"
  });
};
</script>
</body>
</html>
"""


def swagger_assets() -> Path | None:
    """The folder of Swagger UI's files inside swagger-ui-py (found without importing it)."""
    found = importlib.util.find_spec("swagger_ui")
    if found is None or not found.submodule_search_locations:
        return None
    static = Path(next(iter(found.submodule_search_locations))) / "static"
    return static if static.is_dir() else None


@functools.cache
def spec_text() -> str:
    """The spec as written (read once)."""
    return SPEC_PATH.read_text(encoding="utf-8")


@functools.cache
def spec() -> dict[str, Any]:
    """The spec as a dict (dates in it are quoted strings, so it is JSON-safe)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loaded: dict[str, Any] = yaml.load(spec_text(), Loader=loader)
    return loaded


_WRITTEN_SERVER = (
    "  - url: http://127.0.0.1:8080\n    description: the sandbox's default listen address\n"
)


def _origin(request: web.Request) -> str:
    """Where this sandbox is being reached: the public URL, else the request's origin."""
    settings = request.app.get(SETTINGS)
    public = settings.public_url if settings is not None else None
    return public or f"{request.scheme}://{request.host}"


async def openapi_yaml(request: web.Request) -> web.Response:
    """GET /openapi.yaml, its ``servers`` the origin it was fetched from (so "Try it out"
    and generated clients call this sandbox, wherever it listens)."""
    server = f"  - url: {json.dumps(_origin(request))}\n    description: this sandbox\n"
    text = spec_text().replace(_WRITTEN_SERVER, server, 1)
    return web.Response(
        text=text, content_type="application/yaml", headers={"Cache-Control": "no-store"}
    )


async def swagger_json(request: web.Request) -> web.Response:
    """GET /docs/swagger.json: the spec as JSON (``servers`` as for /openapi.yaml)."""
    served = {**spec(), "servers": [{"url": _origin(request), "description": "this sandbox"}]}
    return json_response(served, headers={"Cache-Control": "no-store"})


async def docs_page(request: web.Request) -> web.Response:
    """GET /docs: Swagger UI on the spec, all assets local."""
    return web.Response(text=_PAGE, content_type="text/html", charset="utf-8")


def add_routes(app: web.Application) -> None:
    """Serve the spec and, when swagger-ui-py is installed, Swagger UI."""
    app.router.add_get("/openapi.yaml", openapi_yaml, name="openapi_yaml")
    app.router.add_get("/docs/swagger.json", swagger_json, name="swagger_json")
    assets = swagger_assets()
    if assets is not None:
        app.router.add_get("/docs", docs_page, name="docs")
        app.router.add_get("/docs/", docs_page)
        app.router.add_static("/docs/static/", assets, name="docs_static")
