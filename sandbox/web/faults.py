"""Network faults a rule can inject: delay, connection reset, malformed body."""

from __future__ import annotations

import asyncio

from aiohttp import web

from sandbox.scenario.model import Fault
from sandbox.tenant.tenant import Verdict
from sandbox.web.trace import trace_of


async def apply_fault(request: web.Request, fault: Fault | None) -> web.Response | None:
    """Sleep for a delay (then carry on: None), or answer with the broken response."""
    if fault is None:
        return None
    if fault.delay_ms:
        await asyncio.sleep(fault.delay_ms / 1000)
    if fault.reset:
        if request.transport is not None:
            request.transport.abort()
        # The connection is gone; aiohttp discards whatever is returned.
        return web.Response(status=499)
    if fault.malformed:
        truncated = b'{"error_code": "system_error", "error_message": "\xe8\xaa\xbf'
        return web.Response(body=truncated, status=200, content_type="application/json")
    return None


async def enforce(request: web.Request, verdict: Verdict) -> web.Response | None:
    """Note which rule fired and carry out its fault; a response means: send this instead."""
    if verdict.rule is not None:
        trace_of(request).rule = verdict.rule
    if verdict.fault is None:  # nearly always: no coroutine to run
        return None
    return await apply_fault(request, verdict.fault)
