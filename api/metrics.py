"""Watching the farm: ``GET /metrics`` in Prometheus text format and ``GET /api/v1/farm`` (the Farm page's
data), both for an admin's token (a scraper's bearer token).

From the catalog at scrape time: steps by kind and state, queue depth (queued steps per queue), workers alive
(and their threads), assets and renditions by status, bytes ingested. From this API process: request latency by
route, and, in the embedded farm whose workers share the process, step durations and failures by reason (a
`rushes worker` serves its own on ``--metrics-port``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session

from api.deps import CanManageUsers, ReadDB
from catalog.farm_stats import asset_counts, ingested_bytes, rendition_counts, step_counts, workers
from pipeline import step_metrics
from pipeline.report import farm_report
from pipeline.workflow import by_queue

router = APIRouter(tags=["health"])
PROCESS = CollectorRegistry()  # what this process measures itself
REQUEST_SECONDS = Histogram("rushes_http_request_duration_seconds", "API request latency", ["method", "route", "code"],
                            registry=PROCESS, buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))


class CatalogCollector(Collector):
    """Gauges read from the catalog in one session."""

    def __init__(self, session: Session, dead_after_s: float) -> None:
        self.session = session
        self.dead_after_s = dead_after_s

    def collect(self) -> Iterator[GaugeMetricFamily]:
        steps = step_counts(self.session)
        by_state = GaugeMetricFamily("rushes_steps", "Steps by kind and state", labels=["kind", "status"])
        for (kind, status), n in sorted(steps.items()):
            by_state.add_metric([kind, status], n)
        yield by_state
        queued = GaugeMetricFamily("rushes_queue_depth", "Steps queued and not yet claimed, per queue",
                                   labels=["queue"])
        for queue, n in by_queue(steps, "queued").items():
            queued.add_metric([queue], n)
        yield queued
        assets = GaugeMetricFamily("rushes_assets", "Assets by status", labels=["status"])
        for status, n in sorted(asset_counts(self.session).items()):
            assets.add_metric([status], n)
        yield assets
        renditions = GaugeMetricFamily("rushes_renditions", "Renditions by status (rejected: failed QC)",
                                       labels=["status"])
        for status, n in sorted(rendition_counts(self.session).items()):
            renditions.add_metric([status], n)
        yield renditions
        yield GaugeMetricFamily("rushes_ingested_bytes", "Bytes of every stored version",
                                value=ingested_bytes(self.session))
        alive = [w for w in workers(self.session, self.dead_after_s) if w["alive"]]
        yield GaugeMetricFamily("rushes_workers_alive", "Worker processes whose heartbeat is fresh", value=len(alive))
        threads = GaugeMetricFamily("rushes_worker_threads", "Worker threads alive per queue", labels=["queue"])
        for queue in sorted({q for w in alive for q in w["queues"]}):
            threads.add_metric([queue], sum(w["threads"] for w in alive if queue in w["queues"]))
        yield threads


@router.get("/metrics", response_class=Response, summary="The farm in Prometheus text format")
def metrics(session: ReadDB, user: CanManageUsers, request: Request) -> Response:
    catalog = CollectorRegistry()
    catalog.register(CatalogCollector(session, request.app.state.farm.settings.worker_dead_after_s))
    return Response(generate_latest(catalog) + generate_latest(PROCESS) + generate_latest(step_metrics.REGISTRY),
                    media_type=CONTENT_TYPE_LATEST)


@router.get("/api/v1/farm", summary="The farm at a glance: workers and their steps, queues, throughput, failures")
def farm(session: ReadDB, user: CanManageUsers, request: Request) -> dict[str, Any]:
    return farm_report(session, request.app.state.farm.settings.worker_dead_after_s)


async def time_requests(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Middleware: each request's latency under its route's template (``/api/v1/assets/{asset_id}``)."""
    started = time.perf_counter()
    response = await call_next(request)
    route = request.scope.get("route")
    REQUEST_SECONDS.labels(request.method, getattr(route, "path", "unmatched"),
                           f"{response.status_code // 100}xx").observe(time.perf_counter() - started)
    return response
