"""The farm at a glance, for `rushes status` and the Farm page: queues, steps, assets, renditions,
workers with the steps they hold, big files being copied in, the last hour's throughput and the latest failures."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from catalog.farm_stats import (
    arriving,
    asset_counts,
    recent_failures,
    rendition_counts,
    step_counts,
    throughput,
    workers,
)
from pipeline.incoming import STALLED_AFTER_S
from pipeline.workflow import by_queue


def farm_report(session: Session, dead_after_s: float) -> dict[str, Any]:
    steps = step_counts(session)
    waiting, running = by_queue(steps, "queued"), by_queue(steps, "running")
    return {
        "queues": {queue: {"queued": waiting[queue], "running": running[queue]} for queue in waiting},
        "steps": {status: sum(n for (_, s), n in steps.items() if s == status)
                  for status in sorted({s for _, s in steps})},
        "assets": asset_counts(session),
        "renditions": rendition_counts(session),
        "workers": workers(session, dead_after_s),
        "arriving": arriving(session, STALLED_AFTER_S),
        "throughput": throughput(session),
        "failures": recent_failures(session),
    }
