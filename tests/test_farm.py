"""The farm for real: Redis broker, PostgreSQL catalog, worker processes, and one killed mid-transcode."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import av
import pytest
from sqlalchemy import select

from catalog.models import Rendition, Step
from pipeline.farm import Farm
from pipeline.ingest import Ingester
from rushes.settings import WatchFolder
from tests.conftest import wait_for, wait_version
from tests.farmproc import RUSHES, farm_env, logs, processes, settings_for
from tests.media_fixtures import make_clip

pytestmark = pytest.mark.farm


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def _children(pid: int) -> list[int]:
    """Child processes of every thread of ``pid`` (ffmpeg is started from a worker thread)."""
    return [int(child) for task in Path(f"/proc/{pid}/task").glob("*/children")
            for child in task.read_text().split()]


def test_a_worker_killed_mid_transcode_loses_nothing(tmp_path: Path, pg_url: str, clips: dict[str, Path]) -> None:
    env = farm_env(tmp_path / "data", pg_url, RUSHES_STEPS='["probe", "proxy"]')
    farm = Farm(settings_for(env))
    worker = [RUSHES, "worker", "--threads", "1"]
    with processes([worker, worker], env, tmp_path) as procs:
        result = Ingester(farm).ingest(clips["long"], WatchFolder(name="default"), consume=False)

        def proxy_running() -> Step | None:
            with farm.sessions() as session:
                step = session.scalar(select(Step).where(Step.version_id == result.version_id,
                                                         Step.kind == "proxy"))
                return step if step.status == "running" and step.progress > 0.05 else None

        try:
            step = wait_for(proxy_running, timeout=60, what="the proxy transcode to be under way")
        except AssertionError:
            raise AssertionError(logs(tmp_path)) from None
        victim = int(step.worker.split("/")[1])
        assert victim in [p.pid for p in procs]
        ffmpeg_pids = _children(victim)
        assert ffmpeg_pids, "the worker should be running ffmpeg"
        os.kill(victim, signal.SIGKILL)

        version = wait_version(farm, result.version_id, timeout=120)
        assert version.status == "ready", logs(tmp_path)
        wait_for(lambda: not any(_pid_alive(p) for p in ffmpeg_pids), timeout=5,
                 what="the killed worker's ffmpeg to die with it")
    with farm.sessions() as session:
        step = session.get(Step, step.id)
        assert step.status == "done" and step.attempts == 2
        assert int(step.worker.split("/")[1]) != victim
    workdir = Path(version.stored_path).parent
    names = sorted(p.name for p in workdir.iterdir())
    assert not [n for n in names if ".part" in n], names
    assert {"original.mp4", "poster.jpg", "proxy.mp4"} <= set(names)
    with av.open(str(workdir / "proxy.mp4")) as proxy:  # the whole proxy, not the half the victim wrote
        assert abs(float(proxy.duration / 1_000_000) - 40.0) < 0.2
    farm.close()


def test_a_worker_killed_mid_render_leaves_nothing_a_target_can_take(tmp_path: Path, pg_url: str) -> None:
    from delivery.targets import create_target, deliverable
    from pipeline.renditions import request_rendition
    from pipeline.review import approve

    env = farm_env(tmp_path / "data", pg_url, RUSHES_STEPS='["probe", "proxy"]')
    farm = Farm(settings_for(env))
    preset = "broadcast/prores-422hq"  # the slowest encode: easy to catch mid-way
    # 12 s of 720p: its ProRes HQ render takes this machine ~10 s, twice what is needed to kill it mid-way
    clip = make_clip(tmp_path / "take.mp4", seconds=12, size="1280x720")
    worker = [RUSHES, "worker", "--threads", "1"]
    with processes([worker, worker], env, tmp_path) as procs:
        result = Ingester(farm).ingest(clip, WatchFolder(name="default"), consume=False)
        assert wait_version(farm, result.version_id, timeout=120).status == "ready", logs(tmp_path)
        with farm.transaction() as session:
            target, _token = create_target(session, "playout", "pull", [preset])
        approve(farm, result.version_id, "test")
        rendition_id, _ = request_rendition(farm, result.version_id, preset, "test")

        def render_running() -> Step | None:
            with farm.sessions() as session:
                step = session.scalar(select(Step).where(Step.kind == f"render:{rendition_id}"))
                return step if step is not None and step.status == "running" and step.progress > 0.1 else None

        step = wait_for(render_running, timeout=120, what="the render to be under way")
        victim = int(step.worker.split("/")[1])
        assert victim in [p.pid for p in procs]
        os.kill(victim, signal.SIGKILL)
        folder = Path(farm.settings.library_dir)
        with farm.sessions() as session:  # while nobody renders, a target finds nothing to take
            assert deliverable(session, session.merge(target)) == []
        assert not [p for p in folder.rglob("renditions/*") if not p.name.startswith(".")]

        def ready() -> Rendition | None:
            with farm.sessions() as session:
                rendition = session.get(Rendition, rendition_id)
                return rendition if rendition.status in ("ready", "rejected", "failed") else None

        rendition = wait_for(ready, timeout=240, what="the rendition to be finished by the other worker")
        assert rendition.status == "ready", (rendition.error, logs(tmp_path))
    with farm.sessions() as session:
        step = session.get(Step, step.id)
        assert step.attempts == 2 and int(step.worker.split("/")[1]) != victim
        assert [r.id for r in deliverable(session, session.merge(target))] == [rendition_id]
    names = sorted(p.name for p in Path(rendition.path).parent.iterdir())
    assert names == [Path(rendition.path).name], names  # no half-written part left behind
    farm.close()
