"""The farm's numbers as the catalog knows them: steps by kind and state, assets and renditions by status,
bytes ingested, the latest failures. Read by ``GET /metrics`` and ``rushes status``; each is one grouped query."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from catalog.models import Asset, Incoming, Rendition, Step, Version, WorkerProcess, utcnow

# a rendition's render step counts as kind "render" (its label is "render:<id>")
_KIND = case((Step.rendition_id.is_(None), Step.kind), else_="render")


def step_counts(session: Session) -> dict[tuple[str, str], int]:
    """(kind, status) → how many steps."""
    rows = session.execute(select(_KIND, Step.status, func.count()).group_by(_KIND, Step.status))
    return {(kind, status): n for kind, status, n in rows}


def asset_counts(session: Session) -> dict[str, int]:
    return {status: n for status, n in session.execute(select(Asset.status, func.count()).group_by(Asset.status))}


def rendition_counts(session: Session) -> dict[str, int]:
    return {status: n for status, n in session.execute(
        select(Rendition.status, func.count()).group_by(Rendition.status))}


def ingested_bytes(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(Version.size), 0))) or 0)


def recent_failures(session: Session, limit: int = 10) -> list[dict[str, Any]]:
    """The newest failed steps with their asset and reason."""
    rows = session.execute(
        select(Step.kind, Step.error, Step.finished_at, Version.number, Asset.id, Asset.name)
        .join(Version, Version.id == Step.version_id).join(Asset, Asset.id == Version.asset_id)
        .where(Step.status == "failed").order_by(Step.finished_at.desc(), Step.id.desc()).limit(limit))
    return [{"asset_id": asset_id, "asset": name, "version": number, "step": kind, "error": error,
             "at": at.isoformat() if at else None} for kind, error, at, number, asset_id, name in rows]


def workers(session: Session, dead_after_s: float) -> list[dict[str, Any]]:
    """Worker processes seen in the last day, alive ones first, each with the steps it holds now."""
    now = utcnow()
    rows = session.scalars(select(WorkerProcess).order_by(WorkerProcess.started_at)).all()
    held: dict[str, list[dict[str, Any]]] = {}
    running = session.execute(
        select(Step.id, Step.kind, Step.progress, Step.worker, Step.started_at, Version.asset_id, Asset.name)
        .join(Version, Version.id == Step.version_id).join(Asset, Asset.id == Version.asset_id)
        .where(Step.status == "running"))
    for step_id, kind, progress, owner, started, asset_id, name in running:
        worker = (owner or "").rsplit("/", 1)[0]  # a lease is "<worker>/<claim>"
        held.setdefault(worker, []).append({"step_id": step_id, "kind": kind, "progress": round(progress or 0, 3),
                                            "asset_id": asset_id, "asset": name,
                                            "started_at": started.isoformat() if started else None})
    report = []
    for row in rows:
        alive = row.stopped_at is None and row.heartbeat_at >= now - timedelta(seconds=dead_after_s)
        report.append({"name": row.name, "host": row.host, "pid": row.pid, "queues": row.queues,
                       "threads": row.threads, "metrics_port": row.metrics_port, "alive": alive,
                       "state": "alive" if alive else "stopped" if row.stopped_at else "lost",
                       "started_at": row.started_at.isoformat(), "heartbeat_at": row.heartbeat_at.isoformat(),
                       "steps": held.get(row.name, [])})
    return sorted(report, key=lambda w: not w["alive"])


def arriving(session: Session, stalled_after_s: float) -> list[dict[str, Any]]:
    """Big files being copied in now, oldest first: name, folder, bytes copied of size, the process, and
    whether the copy stalled (no word from its process for ``stalled_after_s``)."""
    now = utcnow()
    return [{"name": row.name, "folder": row.folder, "size": row.size, "copied": row.copied,
             "process": row.process, "started_at": row.started_at.isoformat(),
             "updated_at": row.updated_at.isoformat(),
             "stalled": row.updated_at < now - timedelta(seconds=stalled_after_s)}
            for row in session.scalars(select(Incoming).order_by(Incoming.started_at))]


def throughput(session: Session, minutes: int = 60, bucket_minutes: int = 5) -> list[dict[str, Any]]:
    """Steps finished (done or failed) per bucket over the last ``minutes``, oldest first."""
    now = utcnow()
    since = now - timedelta(minutes=minutes)
    buckets: list[dict[str, Any]] = [{"start": (since + timedelta(minutes=m)).isoformat(), "done": 0, "failed": 0}
                                     for m in range(0, minutes, bucket_minutes)]
    starts = [since + timedelta(minutes=m) for m in range(0, minutes, bucket_minutes)]
    bucket = case(*[(Step.finished_at < start, i - 1) for i, start in enumerate(starts) if i], else_=len(starts) - 1)
    outcome = case((Step.status == "failed", "failed"), else_="done")
    rows = session.execute(select(bucket, outcome, func.count()).where(
        Step.status.in_(("done", "failed", "skipped")), Step.finished_at >= since).group_by(bucket, outcome))
    for index, status, n in rows:
        buckets[index][status] += n
    return buckets

