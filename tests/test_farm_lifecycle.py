"""A farm (Redis, PostgreSQL, `rushes worker` processes, default leases) whose worker is killed in the middle of an
archive: the move is taken up again by another worker and the original ends whole in exactly one place, the catalog
saying which; restored, it is whole in the library only."""

from __future__ import annotations

import hashlib
import os
import signal
from pathlib import Path

import pytest
from sqlalchemy import select

from catalog.models import Step, Version
from pipeline.farm import Farm
from pipeline.ingest import Ingester
from pipeline.lifecycle import archive_version, restore_version
from rushes.settings import WatchFolder
from tests.conftest import wait_for, wait_version
from tests.farmproc import RUSHES, farm_env, logs, processes, settings_for
from tests.media_fixtures import ffmpeg

pytestmark = [pytest.mark.farm, pytest.mark.slow]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _step(farm: Farm, version_id: int, kind: str) -> Step | None:
    with farm.sessions() as session:
        step = session.scalar(select(Step).where(Step.version_id == version_id, Step.kind == kind))
        if step is not None:
            session.expunge(step)
        return step


def _kill_mid(farm: Farm, version_id: int, kind: str, tmp_path: Path) -> int:
    """SIGKILL the worker process running the version's ``kind`` step once it is under way; its pid."""
    def under_way() -> Step | None:
        step = _step(farm, version_id, kind)
        return step if step is not None and step.status == "running" and step.progress > 0.05 else None

    try:
        step = wait_for(under_way, timeout=60, interval=0.05, what=f"the {kind} to be under way")
    except AssertionError:
        raise AssertionError(logs(tmp_path)) from None
    assert step.progress < 0.9, "the move ended before it could be stopped: make the file bigger"
    victim = int((step.worker or "").split("/")[1])
    os.kill(victim, signal.SIGKILL)
    return victim


def _whole_in_one_place(farm: Farm, version_id: int) -> str:
    """Where the original is ("library" or "archive"): the catalog says so, the file there is whole, there is no
    other copy and no part file anywhere under the data folder."""
    with farm.sessions() as session:
        version = session.get(Version, version_id)
        assert version is not None
        library, tier, content_hash = Path(version.stored_path or ""), version.storage, version.content_hash
        archive = Path(version.archive_path) if version.archive_path else None
    copies = [p for p in farm.settings.data.rglob("*.nut") if not p.name.startswith(".")]
    parts = [p for p in farm.settings.data.rglob("*.part")]
    assert not parts, parts
    if tier == "archive":
        assert archive is not None and copies == [archive] and not library.exists(), copies
    else:
        assert copies == [library], copies
    assert _sha256(copies[0]) == content_hash
    return tier


def test_a_worker_killed_during_an_archive_leaves_the_original_whole_in_one_place(
        tmp_path: Path, pg_url: str) -> None:
    # Given a 1.4 GB original (uncompressed picture: the move takes seconds) on a farm of two workers
    big = tmp_path / "A001_C001.nut"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25", "-t", "40", "-c:v", "rawvideo",
           "-pix_fmt", "yuv420p", str(big))
    env = farm_env(tmp_path / "data", pg_url, RUSHES_STEPS='["probe"]')
    farm = Farm(settings_for(env))
    worker = [RUSHES, "worker", "--threads", "1"]
    with processes([worker, worker], env, tmp_path):
        result = Ingester(farm).ingest(big, WatchFolder(name="default"), consume=True)
        assert wait_version(farm, result.version_id, timeout=120).status == "ready", logs(tmp_path)
        # When one is killed while it archives the original
        with farm.transaction() as session:
            messages = archive_version(session, farm.settings, result.version_id, by="ed", role="editor")
        farm.send(messages)
        archiver = _kill_mid(farm, result.version_id, "archive", tmp_path)
        # Then the other takes the move up once the lease has lapsed, and the original is in the archive only
        wait_for(lambda: (_step(farm, result.version_id, "archive") or Step()).status == "done", timeout=150,
                 what="the archive to be taken up again")
        step = _step(farm, result.version_id, "archive")
        assert step is not None and step.attempts == 2 and str(archiver) not in (step.worker or "")
        assert _whole_in_one_place(farm, result.version_id) == "archive"

        # When the survivor brings it back
        with farm.transaction() as session:
            messages = restore_version(session, result.version_id, by="ed", role="editor", why="a test")
        farm.send(messages)
        wait_for(lambda: (_step(farm, result.version_id, "restore") or Step()).status == "done", timeout=150,
                 what="the restore")
    # Then the original is in the library only, whole (a restore killed midway is the same move the other way:
    # its copy is a part file until verified, and the archive's copy goes only once the move is recorded)
    assert _whole_in_one_place(farm, result.version_id) == "library"
    farm.close()
