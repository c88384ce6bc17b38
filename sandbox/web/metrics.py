"""/metrics in the Prometheus text format: requests, catalog errors, linkages, store writes.

One registry per application (so test apps never share counters); with ``--workers N`` each
worker exports its own figures, which a Prometheus server sums by instance as usual. In
hosted mode each workspace also has a registry of its own: ``/metrics`` with a workspace's
API key shows that workspace's figures only, with the admin key everything.

prometheus-client is imported, and the registry built, at the first request that counts
something (not at start-up: it costs ~30 ms, and /_sandbox/health counts nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Histogram


@dataclass(frozen=True)
class Metrics:
    registry: CollectorRegistry
    requests: Counter
    seconds: Histogram
    catalog_errors: Counter
    linkages_started: Counter
    linkages_finished: Counter
    store_write_seconds: Histogram
    _children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = field(default_factory=dict)

    @classmethod
    def create(cls) -> Metrics:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        registry = CollectorRegistry()
        return cls(
            registry=registry,
            requests=Counter(
                "sandbox_requests",
                "Requests answered, by route, method and status",
                ["route", "method", "status"],
                registry=registry,
            ),
            seconds=Histogram(
                "sandbox_request_seconds",
                "Time to answer, by route",
                ["route"],
                buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
                registry=registry,
            ),
            catalog_errors=Counter(
                "sandbox_catalog_errors",
                "Catalog errors served, by bank and code",
                ["bank", "code"],
                registry=registry,
            ),
            linkages_started=Counter(
                "sandbox_linkages_started",
                "Linkages started (screen ① shown), by bank",
                ["bank"],
                registry=registry,
            ),
            linkages_finished=Counter(
                "sandbox_linkages_finished",
                "Linkages ended, by bank and outcome (approved, denied, aborted, failed)",
                ["bank", "outcome"],
                registry=registry,
            ),
            store_write_seconds=Histogram(
                "sandbox_store_write_seconds",
                "Time of the journal write each request makes (a store transaction)",
                buckets=(0.00005, 0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.25),
                registry=registry,
            ),
        )

    def answered(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request (label children are looked up once, then kept)."""
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.requests.labels(route, method, str(status)),
                self.seconds.labels(route),
            )
        children[0].inc()
        children[1].observe(seconds)


class LazyMetrics:
    """The app's Metrics, built on first use."""

    def __init__(self) -> None:
        self._metrics: Metrics | None = None

    def get(self) -> Metrics:
        if self._metrics is None:
            self._metrics = Metrics.create()
        return self._metrics


METRICS = web.AppKey("metrics", LazyMetrics)
# Hosted mode: each workspace's own figures (one entry per workspace that was served).
WORKSPACE_METRICS = web.AppKey("workspace_metrics", dict[str, Metrics])


def recorders(request: web.Request, workspace: str | None) -> tuple[Metrics, ...]:
    """Where to count what this request did: the app's registry, and its workspace's."""
    app_metrics = request.app[METRICS].get()
    if not workspace:
        return (app_metrics,)
    by_workspace = request.app[WORKSPACE_METRICS]
    own = by_workspace.get(workspace)
    if own is None:
        own = by_workspace[workspace] = Metrics.create()
    return (app_metrics, own)


async def metrics(request: web.Request) -> web.Response:
    """GET /metrics (hosted mode: the caller's workspace's, or all with the admin key)."""
    from prometheus_client import generate_latest
    from prometheus_client.exposition import CONTENT_TYPE_LATEST

    workspace: str = request.get(METRICS_WORKSPACE, "")
    chosen = request.app[METRICS].get()
    if workspace:
        chosen = recorders(request, workspace)[1]
    body = generate_latest(chosen.registry)
    return web.Response(
        body=body, headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"}
    )


def route_of(request: web.Request) -> str:
    """The route's name (bounded label values), or ``unmatched``."""
    route = request.match_info.route
    name = route.name
    if name:
        return name
    resource = route.resource
    return resource.canonical if resource is not None else "unmatched"


# The workspace whose figures a hosted /metrics call asked for (set by the hosted guard).
METRICS_WORKSPACE = web.RequestKey("metrics_workspace", str)


def add_routes(app: web.Application) -> None:
    app[METRICS] = LazyMetrics()
    app[WORKSPACE_METRICS] = {}
    app.router.add_get("/metrics", metrics, name="metrics")
