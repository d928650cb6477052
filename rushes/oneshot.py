"""``rushes ingest``: ingest files now, with worker threads in this process, and wait with progress."""

from __future__ import annotations

import time
from pathlib import Path

from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn
from sqlalchemy import bindparam, select

from catalog.models import Step, Version, table_of
from pipeline.farm import Farm
from pipeline.ingest import Ingester, IngestResult
from pipeline.workers import Workers
from pipeline.workflow import WORKFLOW
from rushes.settings import WatchFolder

TERMINAL = ("ready", "failed")


_VERSIONS, _STEPS = table_of(Version), table_of(Step)
_VERSION_STATE = select(_VERSIONS.c.status, _VERSIONS.c.error).where(_VERSIONS.c.id == bindparam("version_id"))
_STEP_STATES = (select(_STEPS.c.kind, _STEPS.c.status, _STEPS.c.progress)
                .where(_STEPS.c.version_id == bindparam("version_id")))


def version_state(farm: Farm, version_id: int) -> tuple[str, str | None, float, str]:
    """(status, error, overall progress 0..1, what runs now) of one version, in two plain reads: it is asked ten
    times a second while ffmpeg works, and loading ORM objects for it cost a tenth of a core."""
    with farm.readers() as session:
        status, error = session.execute(_VERSION_STATE, {"version_id": version_id}).one()
        steps = session.execute(_STEP_STATES, {"version_id": version_id}).all()
    done = sum(1.0 if state in ("done", "skipped") else progress or 0.0 for _, state, progress in steps)
    running = ", ".join(kind for kind, state, _ in steps if state == "running") or status
    if status == "ready" and any(state in ("pending", "queued", "running") for _, state, _ in steps):
        status = "processing"  # ready, but a step it does not need (embed) still runs: the command waits for it
    return status, error, done / max(1, len(WORKFLOW)), running


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
