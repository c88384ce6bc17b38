"""Hosted mode's quotas: request rates per workspace, and what one workspace may load.

Rates are token buckets per workspace and kind, held by each worker process: ``auth`` (the
authorize endpoint, which OAuth makes public) per workspace and caller address, so that a
stranger naming a workspace's client spends only their own budget; ``token`` (token, revoke
and introspect) per workspace, counted once the client has authenticated; passing one answers
``rate_limited`` (429, Retry-After, the congestion message). Scenario quotas are checked
before a scenario replaces anything, so a refused upload changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from sandbox.clock import wall_seconds
from sandbox.errors import SandboxError
from sandbox.scenario.model import Scenario
from sandbox.settings import Quotas
from sandbox.web.common import ControlError

MAX_BUCKETS = 10_000  # workspaces x kinds remembered per process


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimits:
    """Token buckets: ``rate`` requests per second, bursts of up to ``rate`` (at least 1)."""

    def __init__(self, quotas: Quotas, now: Callable[[], float] = wall_seconds) -> None:
        self._rates = {"auth": quotas.auth_per_second, "token": quotas.token_per_second}
        self._now = now
        self._buckets: dict[tuple[str, str, str], _Bucket] = {}

    def take(self, workspace: str, kind: str, caller: str = "") -> float:
        """0 if a request may pass now (and count it), else the seconds until one may.

        ``caller`` splits a workspace's budget (the authorize endpoint is public by OAuth's
        design: a stranger naming the workspace's client must not use up its budget).
        """
        rate = self._rates[kind]
        burst = max(1.0, rate)
        now = self._now()
        key = (workspace, kind, caller)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._buckets.clear()
            bucket = self._buckets[key] = _Bucket(burst, now)
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / rate


RATE_LIMITS = web.AppKey("rate_limits", RateLimits)


def limit_rate(request: web.Request, workspace: str, kind: str, caller: str = "") -> None:
    """SandboxError ``rate_limited`` (429 + Retry-After) past the workspace's rate."""
    limits = request.app.get(RATE_LIMITS)
    if limits is None or not workspace:
        return
    wait = limits.take(workspace, kind, caller)
    if wait > 0:
        raise SandboxError(
            "rate_limited",
            f"more than the workspace's quota of {kind} requests per second",
            retry_after=max(1, math.ceil(wait)),
        )


def _over(what: str, limit: int, found: int, env: str) -> ControlError:
    return ControlError(
        f"{what}: {found:,} is more than this workspace's quota of {limit:,} ({env})",
        413 if env.endswith("BYTES") else 422,
        error="quota_exceeded",
        quota=env.removeprefix("SANDBOX_QUOTA_").lower(),
        limit=limit,
    )


def check_upload_size(quotas: Quotas, size: int) -> None:
    if size > quotas.scenario_bytes:
        raise _over(
            "scenario size in bytes", quotas.scenario_bytes, size, "SANDBOX_QUOTA_SCENARIO_BYTES"
        )


def check_scenario(quotas: Quotas, scenario: Scenario, banks_held: int, replaces: bool) -> None:
    """ControlError ``quota_exceeded`` if loading ``scenario`` passes a quota."""
    if not replaces and banks_held >= quotas.banks:
        raise _over("banks", quotas.banks, banks_held + 1, "SANDBOX_QUOTA_BANKS")
    if len(scenario.rules) > quotas.rules:
        raise _over("rules", quotas.rules, len(scenario.rules), "SANDBOX_QUOTA_RULES")
    generated = scenario.generate.count if scenario.generate else 0
    if generated > quotas.customers:
        raise _over("generated customers", quotas.customers, generated, "SANDBOX_QUOTA_CUSTOMERS")
