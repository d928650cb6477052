"""Recovery with the default timings: a worker killed with steps in hand, a broker that forgot every message,
a catalog restarted under load. Real `rushes worker` processes, Redis and PostgreSQL; nothing tuned."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import select

from catalog.models import Step, Version, WorkerProcess
from pipeline.farm import Farm
from pipeline.ingest import Ingester
from rushes.settings import Settings, WatchFolder
from tests.conftest import REDIS_URL, bearer, wait_for
from tests.farmproc import RUSHES, farm_env, logs, processes, settings_for

pytestmark = [pytest.mark.farm, pytest.mark.slow]
DEFAULTS = Settings()
WITHIN_S = 60.0  # the promise: a lost step runs again within a minute, with default settings


def _no_tuned_timings(env: dict[str, str]) -> None:
    tuned = {"RUSHES_LEASE_S", "RUSHES_RECONCILE_INTERVAL_S", "RUSHES_REQUEUE_AFTER_S", "RUSHES_WORKER_DEAD_AFTER_S",
             "RUSHES_MAX_ATTEMPTS"} & set(env)
    assert not tuned, f"these tests prove the defaults; tuned: {tuned}"


def _steps(farm: Farm, version_ids: list[int]) -> list[Step]:
    with farm.sessions() as session:
        return list(session.scalars(select(Step).where(Step.version_id.in_(version_ids))))


def _all_ready(farm: Farm, version_ids: list[int], timeout: float, tmp_path: Path) -> None:
    def ready() -> bool:
        with farm.sessions() as session:
            states = session.scalars(select(Version.status).where(Version.id.in_(version_ids))).all()
        assert "failed" not in states, logs(tmp_path)
        return all(s == "ready" for s in states)

    try:
        wait_for(ready, timeout=timeout, interval=0.5, what="every version to be ready")
    except AssertionError:
        raise AssertionError("\n".join(f"{s.version_id} {s.kind} {s.status} {s.worker} {s.error}"
                                       for s in _steps(farm, version_ids)) + logs(tmp_path)) from None


def _ingest(farm: Farm, clips: list[Path]) -> list[int]:
    ingester = Ingester(farm)
    return [ingester.ingest(clip, WatchFolder(name="default"), consume=False).version_id for clip in clips]


def _copies(clip: Path, folder: Path, n: int) -> list[Path]:
    """``n`` distinct files (the catalog keeps one asset per content hash, so each gets its own bytes)."""
    folder.mkdir(exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"take{i}{clip.suffix}"
        shutil.copyfile(clip, path)
        with path.open("ab") as fh:
            fh.write(f"take {i}".encode())  # trailing bytes after the last atom: still the same playable clip
        paths.append(path)
    return paths


def test_a_worker_killed_with_steps_in_hand_loses_none_of_them(tmp_path: Path, pg_url: str,
                                                               clips: dict[str, Path]) -> None:
    """The victim runs a proxy and holds prefetched messages; after SIGKILL a worker started later runs them all
    within a minute (the running one when its lease expires, the prefetched ones once the broker is seen to
    have nobody alive holding them), and no step is claimed twice at once."""
    env = farm_env(tmp_path / "data", pg_url, RUSHES_STEPS='["probe", "proxy"]')
    _no_tuned_timings(env)
    farm = Farm(settings_for(env))
    worker = [RUSHES, "worker", "--threads", "1"]
    with processes([worker], env, tmp_path) as (victim,):
        long_id, = _ingest(farm, [clips["long"]])

        def proxy_running() -> Step | None:
            with farm.sessions() as session:
                step = session.scalar(select(Step).where(Step.version_id == long_id, Step.kind == "proxy"))
                return step if step.status == "running" and step.progress > 0.02 else None

        wait_for(proxy_running, timeout=90, what="the victim to be transcoding")
        short_ids = _ingest(farm, _copies(clips["short"], tmp_path / "shorts", 3))
        # the victim's only thread is busy: the new probes sit in its prefetch, taken from the queue
        client = redis.Redis.from_url(REDIS_URL)
        ns = env["RUSHES_BROKER_NAMESPACE"]
        wait_for(lambda: sum(client.scard(k) for k in client.scan_iter(f"{ns}:__acks__.*.probe")) >= 1,
                 timeout=30, what="the victim to prefetch the new probes")
        with farm.sessions() as session:
            assert session.scalar(select(WorkerProcess.pid)) == victim.pid  # it announced itself
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        killed_at = datetime.now().astimezone()
    with processes([worker], env, tmp_path):
        _all_ready(farm, [long_id, *short_ids], timeout=150, tmp_path=tmp_path)
    steps = _steps(farm, [long_id, *short_ids])
    late = {f"{s.version_id}/{s.kind}": (s.started_at - killed_at).total_seconds() for s in steps
            if str(victim.pid) not in (s.worker or "") and s.started_at > killed_at}
    assert late and max(late.values()) < WITHIN_S + 10, late  # + the time the worker takes to start
    proxy = next(s for s in steps if s.version_id == long_id and s.kind == "proxy")
    assert proxy.attempts == 2  # the victim's attempt, then one more
    assert all(s.attempts == 1 for s in steps if s.version_id in short_ids), \
        [(s.version_id, s.kind, s.attempts) for s in steps]  # a resent message and Dramatiq's own: one claim
    farm.close()


def test_a_broker_that_lost_every_message_loses_no_step(tmp_path: Path, pg_url: str, clips: dict[str, Path]) -> None:
    """Redis restarted empty (here: this farm's keys deleted, as FLUSHALL would) after steps were queued:
    the workers' reconciler sees the queued steps have no message and sends them again within a minute."""
    env = farm_env(tmp_path / "data", pg_url, RUSHES_STEPS='["probe", "proxy"]')
    _no_tuned_timings(env)
    farm = Farm(settings_for(env))
    version_ids = _ingest(farm, _copies(clips["short"], tmp_path / "takes", 3))  # no worker yet: all queued
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{env['RUSHES_BROKER_NAMESPACE']}:*"))
    assert keys, "the probes should be waiting in Redis"
    client.delete(*keys)
    flushed = time.monotonic()
    with processes([[RUSHES, "worker"]], env, tmp_path):
        _all_ready(farm, version_ids, timeout=WITHIN_S + 60, tmp_path=tmp_path)
    waited = time.monotonic() - flushed
    steps = _steps(farm, version_ids)
    assert all(s.attempts == 1 and s.status == "done" for s in steps), [(s.kind, s.attempts) for s in steps]
    # queued at ingest, found lost once queued for requeue_after_s: within the minute
    first_probe = min(s.started_at for s in steps if s.kind == "probe")
    queued_at = min(s.enqueued_at for s in steps)
    assert first_probe - queued_at < timedelta(seconds=WITHIN_S), (first_probe, queued_at, waited)
    farm.close()


@pytest.mark.alone
def test_postgresql_restarted_under_load_loses_nothing(tmp_path: Path, pg_url: str, clips: dict[str, Path]) -> None:
    """The catalog server restarts while two workers transcode and the API serves: the workers' writes wait and
    retry, the API reconnects, every file ends ready, and a step is re-run at most once."""
    if shutil.which("pg_ctlcluster") is None or os.geteuid() != 0:
        pytest.fail("this test restarts the machine's PostgreSQL: it needs pg_ctlcluster and root (as in CI)")
    env = farm_env(tmp_path / "data", pg_url, RUSHES_STEPS='["probe", "proxy"]')
    _no_tuned_timings(env)
    farm = Farm(settings_for(env))
    port = farm.settings.port + 1000 + os.getpid() % 1000
    worker = [RUSHES, "worker"]
    with processes([worker, worker, [RUSHES, "api", "--port", str(port)]], env, tmp_path):
        version_ids = _ingest(farm, [clips["long"], *_copies(clips["short"], tmp_path / "takes", 3)])

        def transcoding() -> bool:
            return any(s.kind == "proxy" and s.status == "running" and s.progress > 0.05
                       for s in _steps(farm, version_ids))

        wait_for(transcoding, timeout=90, what="a proxy transcode under way")
        version = pg_version()
        subprocess.run(["pg_ctlcluster", version, "main", "restart"], check=True, timeout=60)
        _all_ready(farm, version_ids, timeout=180, tmp_path=tmp_path)
        reply = httpx.get(f"http://127.0.0.1:{port}/api/v1/assets", headers=bearer(farm, "boss", "admin"), timeout=10)
        assert reply.status_code == 200 and len(reply.json()["assets"]) == len(version_ids), reply.text
    steps = _steps(farm, version_ids)
    assert all(s.status == "done" and s.attempts <= 2 for s in steps), [(s.kind, s.status, s.attempts) for s in steps]
    farm.close()


def pg_version() -> str:
    """The major version of the local PostgreSQL cluster (``pg_lsclusters`` names it)."""
    out = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True).stdout
    return out.split()[0]
