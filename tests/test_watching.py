"""Watching the farm: workers announce themselves, the catalog knows which worker holds which step, and the
numbers reach /metrics, /api/v1/farm, `rushes status`, each worker's own metrics port and JSON log lines."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, update

from catalog.models import Step, WorkerProcess, utcnow
from pipeline.farm import Farm
from pipeline.ingest import Ingester
from pipeline.registry import Announcer
from rushes.settings import WatchFolder
from tests.conftest import bearer, run, wait_for, wait_version
from tests.farmproc import RUSHES, farm_env, free_port, logs, processes, settings_for


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_a_worker_announces_itself_and_shows_what_it_holds(farm: Farm, client: Any, clips: dict[str, Path]) -> None:
    version_id = Ingester(farm).ingest(clips["short"], WatchFolder(name="default"), consume=False).version_id
    announcer = Announcer(farm, ["probe", "proxy"], threads=3, metrics_port=9109)
    announcer.start()
    admin = bearer(farm, "boss", "admin")
    try:
        wait_for(lambda: client.get("/api/v1/farm", headers=admin).json()["workers"], timeout=10,
                 what="the worker's first heartbeat")
        with farm.transaction() as session:  # the worker holds the probe: its lease names the worker
            session.execute(update(Step).where(Step.version_id == version_id, Step.kind == "probe")
                            .values(status="running", worker=f"{farm.name}/c0ffee00", progress=0.25,
                                    started_at=utcnow()))
            session.add(WorkerProcess(name="render-box/77/abc123", host="render-box", pid=77, queues=["render"],
                                      threads=1, heartbeat_at=utcnow() - timedelta(minutes=5)))  # went silent
        report = client.get("/api/v1/farm", headers=admin).json()
        alive, lost = report["workers"]
        assert alive == {**alive, "name": farm.name, "alive": True, "state": "alive", "queues": ["probe", "proxy"],
                         "threads": 3, "metrics_port": 9109}
        assert [(s["kind"], s["progress"], s["asset"]) for s in alive["steps"]] == [("probe", 0.25, "short.mov")]
        assert lost == {**lost, "name": "render-box/77/abc123", "alive": False, "state": "lost", "steps": []}
        assert report["queues"]["probe"] == {"queued": 0, "running": 1}
        assert client.get("/api/v1/farm", headers=bearer(farm, "ed", "editor")).status_code == 403

        samples = _samples(client.get("/metrics", headers=admin).text)
        assert samples[("rushes_workers_alive", ())] == 1
        assert samples[("rushes_worker_threads", (("queue", "proxy"),))] == 3
        assert ("rushes_worker_threads", (("queue", "render"),)) not in samples  # its only worker is gone
    finally:
        announcer.stop()
    with farm.sessions() as session:
        assert session.get(WorkerProcess, farm.name).stopped_at is not None
    report = client.get("/api/v1/farm", headers=admin).json()
    assert [w["state"] for w in report["workers"]] == ["stopped", "lost"]


def test_throughput_counts_the_last_hours_finished_steps_in_five_minute_bars(farm: Farm, client: Any,
                                                                            clips: dict[str, Path]) -> None:
    ingester = Ingester(farm)
    one, two = (ingester.ingest(clips[name], WatchFolder(name="default"), consume=False).version_id
                for name in ("short", "other"))
    now = utcnow()
    with farm.transaction() as session:
        for version_id, kind, status, ago in ((one, "probe", "done", 2), (one, "proxy", "failed", 2),
                                              (two, "probe", "done", 33),
                                              (two, "proxy", "done", 90)):  # the last is older than an hour
            session.execute(update(Step).where(Step.version_id == version_id, Step.kind == kind)
                            .values(status=status, finished_at=now - timedelta(minutes=ago)))
    bars = client.get("/api/v1/farm", headers=bearer(farm, "boss", "admin")).json()["throughput"]
    assert len(bars) == 12
    assert bars[-1] == {**bars[-1], "done": 1, "failed": 1}
    assert sum(b["done"] for b in bars) == 2 and bars[5]["done"] == 1  # 33 min ago: the sixth bar of twelve


@pytest.mark.farm
def test_a_worker_serves_its_own_metrics_and_logs_json_lines(tmp_path: Path, pg_url: str,
                                                             clips: dict[str, Path]) -> None:
    port = free_port()
    env = farm_env(tmp_path / "data", pg_url, RUSHES_STEPS='["probe", "proxy"]', RUSHES_LOG_FORMAT="json")
    farm = Farm(settings_for(env))
    with processes([[RUSHES, "worker", "--metrics-port", str(port)]], env, tmp_path):
        ingester = Ingester(farm)
        good = ingester.ingest(clips["short"], WatchFolder(name="default"), consume=False).version_id
        bad_file = tmp_path / "notes.mov"
        bad_file.write_bytes(b"not pictures\n" * 50)
        bad = ingester.ingest(bad_file, WatchFolder(name="default"), consume=False).version_id
        assert wait_version(farm, good, timeout=120).status == "ready", logs(tmp_path)
        assert wait_version(farm, bad, timeout=60).status == "failed"
        samples = _samples(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)
        assert samples[("rushes_step_duration_seconds_count", (("kind", "proxy"), ("outcome", "done")))] == 1
        assert samples[("rushes_step_failures_total", (("kind", "probe"), ("reason", "media")))] == 1
        assert samples[("process_resident_memory_bytes", ())] > 10_000_000

        shown = run([RUSHES, "status", "--json"], env=env)
        assert shown.returncode == 0, shown.stderr
        workers = json.loads(shown.stdout)["workers"]
        assert [(w["alive"], w["metrics_port"]) for w in workers] == [(True, port)]
        text = run([RUSHES, "status"], env=env).stdout
        assert "workers:    1 alive" in text and "failed: asset" in text and "not a media file" in text
    lines = [line for line in (tmp_path / "proc0-worker.log").read_text().splitlines() if line.startswith("{")]
    entries = [json.loads(line) for line in lines]
    assert entries and all({"ts", "level", "logger", "message"} <= set(e) for e in entries)
    assert any(e["level"] == "WARNING" and "not a media file" in e["message"] for e in entries)
    with farm.sessions() as session:
        assert session.scalar(select(WorkerProcess.stopped_at)) is not None  # SIGTERM: it said goodbye
    farm.close()
