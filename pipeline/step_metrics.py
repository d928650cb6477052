"""What a worker process measures of its own steps, in Prometheus form: step durations by kind and
failures by kind and reason. ``rushes worker --metrics-port`` serves them (with the process's own
metrics); the API of the embedded farm adds them to its ``/metrics``."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.process_collector import ProcessCollector

from pipeline.workflow import is_render

REGISTRY = CollectorRegistry()
STEP_SECONDS = Histogram("rushes_step_duration_seconds", "Time a step took in this worker, claim to finish",
                         ["kind", "outcome"], registry=REGISTRY,
                         buckets=(.01, .05, .1, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600))
STEP_FAILURES = Counter("rushes_step_failures", "Steps this worker failed or gave back, by reason",
                        ["kind", "reason"], registry=REGISTRY)

# why a step did not finish: the file (media), a setting (config), a write that failed (output), an error
# that was retried (transient), the lease lost to the reconciler (lease_lost), a stop from outside
REASONS = ("media", "config", "output", "transient", "gave_up", "lease_lost", "interrupted")


def kind_label(kind: str) -> str:
    """Render steps share one label: their kind names the rendition (``render:<id>``)."""
    return "render" if is_render(kind) else kind


def observe(kind: str, outcome: str, seconds: float) -> None:
    STEP_SECONDS.labels(kind_label(kind), outcome).observe(seconds)


def failed(kind: str, reason: str) -> None:
    assert reason in REASONS, reason
    STEP_FAILURES.labels(kind_label(kind), reason).inc()


def serve(port: int) -> None:
    """Serve this process's step metrics and its CPU/memory on ``http://0.0.0.0:port/metrics``."""
    ProcessCollector(registry=REGISTRY)
    start_http_server(port, registry=REGISTRY)
