"""Helpers every handler uses: finding the tenant, JSON responses, noting served errors."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from sandbox.errors import CATALOG, CatalogError
from sandbox.state import Sandbox
from sandbox.web.keys import CLIENT_ID, ERROR_CODE, REGISTRY, SETTINGS

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class Answer(Exception):
    """Raised by a helper deep in a handler: send ``response`` as it is."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON response encoded with orjson (Japanese kept as UTF-8)."""
    return web.Response(
        body=orjson.dumps(data),
        status=status,
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


def bank_sandbox(request: web.Request) -> Sandbox | None:
    """The sandbox of the ``{bank}`` in the path, if loaded."""
    return request.app[REGISTRY].get(request.match_info.get("bank", ""))


def control_sandbox(request: web.Request) -> Sandbox:
    """The tenant a control call is for: ``?bank=``, ``X-Sandbox-Bank`` or the default."""
    registry = request.app[REGISTRY]
    code = request.query.get("bank") or request.headers.get("X-Sandbox-Bank")
    if not code:
        return registry.default()
    sandbox = registry.get(code)
    if sandbox is None:
        body = {
            "error": "unknown_bank",
            "message": f"no scenario is loaded for bank {code[:16]!r}",
            "banks": [s.bank_code for s in registry],
        }
        raise Answer(json_response(body, 404, NO_STORE))
    return sandbox


def note_error(request: web.Request, sandbox: Sandbox | None, code: str) -> CatalogError:
    """Record that ``code`` was served (journal, coverage) and return its catalog entry."""
    request[ERROR_CODE] = code
    if sandbox is not None:
        sandbox.coverage.served(code, request.get(CLIENT_ID))
    return CATALOG[code]


def catalog_json(
    request: web.Request,
    sandbox: Sandbox | None,
    code: str,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    retry_after: int | None = None,
) -> web.Response:
    """The data API's error response for a catalog code."""
    entry = note_error(request, sandbox, code)
    body: dict[str, Any] = entry.api_body()
    if detail:
        body["detail"] = detail
    out = dict(NO_STORE)
    if headers:
        out.update(headers)
    wait = retry_after if retry_after is not None else entry.retry_after
    if wait is not None and entry.http_status in (429, 503):
        out["Retry-After"] = str(wait)
    return json_response(body, entry.http_status, out)


def issuer(request: web.Request, bank_code: str) -> str:
    """The authorisation server's issuer identifier for ``bank_code`` (RFC 8414, RFC 9207)."""
    settings = request.app.get(SETTINGS)
    public = settings.public_url if settings is not None else None
    base = public or f"{request.scheme}://{request.host}"
    return f"{base}/parasol/v1/banks/{bank_code}"
