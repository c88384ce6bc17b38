"""Every response a web test provokes is checked against the hand-written OpenAPI spec.

A middleware, added by the test fixtures, validates each response of a documented path with
openapi-core; paths the spec does not describe (the HTML screens, static files) are skipped,
and so are responses a scenario rule deliberately broke (faults).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import yaml
from aiohttp import web
from openapi_core import OpenAPI
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.testing import MockRequest, MockResponse

from sandbox.web.docs import SPEC_PATH
from sandbox.web.trace import trace_of

SPEC = OpenAPI.from_dict(yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8")))
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class SpecLog:
    """What the middleware saw: how many responses it checked, which broke the spec."""

    checked: int = 0
    violations: list[str] = field(default_factory=list)


SPEC_LOG = web.AppKey("spec_log", SpecLog)
TOTAL = SpecLog()  # over the whole run, for the terminal summary


@web.middleware
async def spec_check(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Validate the final response against the spec (outermost middleware)."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    documented_as_data = not request.path.startswith(("/openapi.yaml", "/docs"))
    if isinstance(response, web.Response) and trace_of(request).rule is None and documented_as_data:
        _validate(request, response)
    if isinstance(response, web.HTTPException):
        raise response
    return response


def _validate(request: web.Request, response: web.Response) -> None:
    body = response.body if isinstance(response.body, bytes) else b""
    mock_request = MockRequest(
        "http://127.0.0.1:8080",
        request.method.lower(),
        request.path,
        args=dict(request.query),
    )
    mock_response = MockResponse(
        body,
        status_code=response.status,
        headers=dict(response.headers),
        content_type=response.content_type,
    )
    log = request.app[SPEC_LOG]
    try:
        SPEC.validate_response(mock_request, mock_response)
    except (PathNotFound, OperationNotFound):
        return
    except Exception as exc:  # every other failure is a spec violation worth reporting
        what = f"{type(exc).__name__}: {exc}"[:300]
        log.violations.append(f"{request.method} {request.path} -> {response.status}: {what}")
        return
    log.checked += 1
    TOTAL.checked += 1


def add_spec_check(app: web.Application) -> SpecLog:
    """Install the check on an app that has not started yet; returns its log."""
    log = SpecLog()
    app[SPEC_LOG] = log
    app.middlewares.insert(0, spec_check)
    return log
