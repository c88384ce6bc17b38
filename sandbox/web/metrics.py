"""/metrics in the Prometheus text format: requests, catalog errors, linkages, store writes.

One set of figures per application (so test apps never share counters); with ``--workers N``
each worker exports its own, which a Prometheus server sums by instance as usual. In hosted
mode each workspace also has figures of its own: ``/metrics`` with a workspace's API key
shows that workspace's only, with the admin key everything.

Counting is on every request's path, so it is plain dictionaries (one event loop per
process: no locks); prometheus-client is imported only when ``/metrics`` is scraped, where a
collector turns the figures into its metric families and writes the text format.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

Labels = tuple[str, ...]


class Counts:
    """A counter family: label values -> how many."""

    def __init__(self, name: str, documentation: str, labels: Labels = ()) -> None:
        self.name, self.documentation, self.labels = name, documentation, labels
        self.values: dict[Labels, int] = {}

    def inc(self, *values: str) -> None:
        self.values[values] = self.values.get(values, 0) + 1

    def family(self) -> Any:
        from prometheus_client.core import CounterMetricFamily

        family = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
        for values, count in sorted(self.values.items()):
            family.add_metric(values, count)
        return family


class Timings:
    """A histogram family: label values -> counts per bucket (not cumulative) and a sum."""

    def __init__(
        self, name: str, documentation: str, buckets: tuple[float, ...], labels: Labels = ()
    ) -> None:
        self.name, self.documentation, self.labels = name, documentation, labels
        self.buckets = buckets
        self.values: dict[Labels, list[float]] = {}  # per bucket, then +Inf, then the sum

    def observe(self, seconds: float, *values: str) -> None:
        row = self.values.get(values)
        if row is None:
            row = self.values[values] = [0.0] * (len(self.buckets) + 2)
        row[bisect_left(self.buckets, seconds)] += 1  # the first bound >= seconds ("le")
        row[-1] += seconds

    def family(self) -> Any:
        from prometheus_client.core import HistogramMetricFamily

        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labels)
        bounds = [*(repr(float(b)) for b in self.buckets), "+Inf"]
        for values, row in sorted(self.values.items()):
            cumulative, running = [], 0.0
            for bound, count in zip(bounds, row[:-1], strict=True):
                running += count
                cumulative.append((bound, running))
            family.add_metric(list(values), cumulative, row[-1])
        return family


# HTTP methods counted under their own name; any other is "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Metrics:
    """What one application (or one hosted workspace) counted."""

    def __init__(self) -> None:
        self.requests = Counts(
            "sandbox_requests",
            "Requests answered, by route, method and status",
            ("route", "method", "status"),
        )
        self.seconds = Timings(
            "sandbox_request_seconds",
            "Time to answer, by route",
            (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
            ("route",),
        )
        self.catalog_errors = Counts(
            "sandbox_catalog_errors", "Catalog errors served, by bank and code", ("bank", "code")
        )
        self.linkages_started = Counts(
            "sandbox_linkages_started", "Linkages started (screen ① shown), by bank", ("bank",)
        )
        self.linkages_finished = Counts(
            "sandbox_linkages_finished",
            "Linkages ended, by bank and outcome (approved, denied, aborted, failed)",
            ("bank", "outcome"),
        )
        self.store_write_seconds = Timings(
            "sandbox_store_write_seconds",
            "Time of the journal write each request makes (a store transaction)",
            (0.00005, 0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.25),
        )
        # One row of time buckets per kind of answer (route, method, status): its count is
        # the sum of its buckets. The two families above are tallied from it when scraped.
        self._answers = Timings("", "", self.seconds.buckets, ("route", "method", "status"))

    def answered(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request (one look-up: it runs for every request)."""
        if method not in METHODS:  # a made-up method would be a label value per request
            method = "other"
        self._answers.observe(seconds, route, method, str(status))

    def _tally(self) -> None:
        """The request counter and the time histogram, from the answers' rows."""
        self.requests.values = {}
        self.seconds.values = {}
        for (route, method, status), row in self._answers.values.items():
            self.requests.values[(route, method, status)] = int(sum(row[:-1]))
            by_route = self.seconds.values.setdefault((route,), [0.0] * len(row))
            for n, value in enumerate(row):
                by_route[n] += value

    def collect(self) -> Iterator[Any]:
        """prometheus-client's collector protocol: every family, as it stands now."""
        self._tally()
        for figures in (
            self.requests,
            self.seconds,
            self.catalog_errors,
            self.linkages_started,
            self.linkages_finished,
            self.store_write_seconds,
        ):
            yield figures.family()

    def registry(self) -> CollectorRegistry:
        """A registry holding these figures, to write them in the text format."""
        from prometheus_client import CollectorRegistry

        registry = CollectorRegistry(auto_describe=False)
        registry.register(self)
        return registry


# The application's own figures (each application counts apart).
METRICS = web.AppKey("metrics", Metrics)
# Hosted mode: each workspace's own figures (one entry per workspace that was served).
WORKSPACE_METRICS = web.AppKey("workspace_metrics", dict[str, Metrics])


def recorders(request: web.Request, workspace: str | None) -> tuple[Metrics, ...]:
    """Where to count what this request did: the app's registry, and its workspace's."""
    app_metrics = request.app[METRICS]
    if not workspace:
        return (app_metrics,)
    by_workspace = request.app[WORKSPACE_METRICS]
    own = by_workspace.get(workspace)
    if own is None:
        own = by_workspace[workspace] = Metrics()
    return (app_metrics, own)


async def metrics(request: web.Request) -> web.Response:
    """GET /metrics (hosted mode: the caller's workspace's, or all with the admin key)."""
    from prometheus_client import generate_latest
    from prometheus_client.exposition import CONTENT_TYPE_LATEST

    workspace: str = request.get(METRICS_WORKSPACE, "")
    chosen = request.app[METRICS]
    if workspace:
        chosen = recorders(request, workspace)[1]
    body = generate_latest(chosen.registry())
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
    app[METRICS] = Metrics()
    app[WORKSPACE_METRICS] = {}
    app.router.add_get("/metrics", metrics, name="metrics")
