"""``rushes ingest``: ingest files now, with worker threads in this process, and wait with progress."""

from __future__ import annotations

import time
from pathlib import Path

from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn
from sqlalchemy import select

from catalog.models import Step, Version
from pipeline.farm import Farm
from pipeline.ingest import Ingester, IngestResult
from pipeline.workers import Workers
from pipeline.workflow import WORKFLOW
from rushes.settings import WatchFolder

TERMINAL = ("ready", "failed")


def version_state(farm: Farm, version_id: int) -> tuple[str, str | None, float, str]:
    """(status, error, overall progress 0..1, what runs now) of one version."""
    with farm.sessions() as session:
        version = session.get(Version, version_id)
        assert version is not None
        steps = list(session.scalars(select(Step).where(Step.version_id == version_id)))
        done = sum(1.0 if s.status in ("done", "skipped") else s.progress for s in steps)
        running = ", ".join(s.kind for s in steps if s.status == "running") or version.status
        return version.status, version.error, done / max(1, len(WORKFLOW)), running


def ingest_and_wait(farm: Farm, files: list[Path], folder_name: str, poll_s: float = 0.1,
                    ) -> list[tuple[str, str]]:
    """Ingest ``files`` (copies; the originals stay) and wait; return (name, reason) of each failure."""
    folder = next((f for f in farm.settings.watch_folders if f.name == folder_name),
                  WatchFolder(name=folder_name))
    ingester = Ingester(farm)
    workers = Workers(farm)
    workers.start()
    failures: list[tuple[str, str]] = []
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                      TextColumn("{task.fields[state]}"), TimeElapsedColumn()) as progress:
            waiting: dict[TaskID, tuple[int, IngestResult]] = {}
            for path in files:
                task = progress.add_task(path.name, total=1.0, state="ingesting")
                if not path.is_file():
                    failures.append((str(path), "no such file"))
                    progress.update(task, state="[red]no such file")
                    continue
                result = ingester.ingest(path, folder, consume=False)
                if result.kind == "quarantined":
                    failures.append((path.name, result.reason or "quarantined"))
                    progress.update(task, state=f"[red]quarantined: {result.reason}")
                elif result.kind == "duplicate":
                    progress.update(task, completed=1.0,
                                    state=f"[yellow]duplicate of asset {result.asset_id}")
                else:
                    assert result.version_id is not None
                    waiting[task] = (result.version_id, result)
            while waiting:
                for task, (version_id, result) in list(waiting.items()):
                    status, error, fraction, now = version_state(farm, version_id)
                    progress.update(task, completed=fraction, state=now)
                    if status in TERMINAL:
                        del waiting[task]
                        if status == "failed":
                            failures.append((result.name, error or "failed"))
                            progress.update(task, state=f"[red]failed: {error}")
                        else:
                            progress.update(task, completed=1.0,
                                            state=f"[green]ready (asset {result.asset_id})")
                time.sleep(poll_s)
    finally:
        workers.stop()
    return failures
