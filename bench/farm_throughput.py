"""Farm throughput (issue 11): how many steps a second the farm's orchestration sustains, what one step costs
in the catalog and the broker, and what that means for a farm of 100 machines.

1. Orchestration only. Worker processes (multiprocessing, spawn) each open a ``Farm`` on Redis and a fresh
   PostgreSQL database and run ``pipeline.workers.Workers`` with every task of ``pipeline.tasks.TASKS``
   replaced by a no-op (``Outcome()``, nothing stored). ``--assets`` versions are planned with the code
   ingest uses (``workflow.plan`` + ``workflow.advance``, all seven steps), then their first messages are sent
   at once. Measured: steps/s from the first send to the last ``finished_at``; the orchestration cost of a
   step (wall x worker threads / steps, and the catalog's mean ``finished_at - started_at``); CPU per step
   of the worker processes, the PostgreSQL backends and Redis; SQL statements and commits per step; and the
   phases of a step (claim, heartbeat thread, finish + advance, send), timed inside the workers by wrapping
   the pipeline's public functions in the worker processes only. ``--profile`` adds a cProfile'd run (CPU
   time); ``--what-if`` tries proposed pipeline changes inside the worker processes (nothing is edited).
2. Real work. ``--clips`` short clips (3 s 640x360 H.264/AAC) through ``RUSHES_STEPS=["probe","proxy"]``
   by 1, 2 and 4 real ``rushes worker`` processes, ingested from this process with ``Ingester``: files per
   minute, the steps' own durations and the same ffmpeg commands run bare (sequentially and 2 at a time).
3. A model of a 100-machine farm computed from the measured costs: what saturates first, and at what rate.

    .venv/bin/python bench/farm_throughput.py [--assets 300] [--workers 1,2,4] [--threads 4] [--many 2x12]
        [--clips 24] [--real-threads 2] [--reps 1] [--profile] [--what-if all] [--no-timers]
        [--skip-noop] [--skip-real] [--machines 100] [--pg-cores 8]

A full run takes about 7 minutes on a 2-core machine (with --profile).

Needs Redis (RUSHES_BENCH_REDIS, default redis://127.0.0.1:6379/0) and PostgreSQL (RUSHES_BENCH_PG, default
postgresql+psycopg://postgres@127.0.0.1:5432/test); every configuration gets its own database, Redis
namespace and data folder, all removed at the end, also on Ctrl-C or an error.
Goal (issue 11): >= 300 steps/s on a 2-core machine; orchestration < 10 ms a step.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import hashlib
import io
import logging
import multiprocessing
import os
import pstats
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import redis  # noqa: E402
from sqlalchemy import create_engine, event, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from catalog.collections import collection_named  # noqa: E402
from catalog.models import Asset, Version  # noqa: E402
from pipeline.farm import Farm  # noqa: E402
from pipeline.ingest import Ingester  # noqa: E402
from pipeline.jobs import Job, Outcome  # noqa: E402
from pipeline.workflow import WORKFLOW, advance, plan  # noqa: E402
from rushes.settings import WatchFolder, load_settings  # noqa: E402
from transcoders.ffmpeg import ffmpeg_exe, ffmpeg_version  # noqa: E402
from transcoders.proxy import ProxySpec, poster_args, poster_time, proxy_args  # noqa: E402

PG_ADMIN_URL = os.environ.get("RUSHES_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("RUSHES_BENCH_REDIS", "redis://127.0.0.1:6379/0")
RUSHES = str(Path(sys.executable).with_name("rushes"))
CLK_TCK = os.sysconf("SC_CLK_TCK")
MONITOR = "farm_throughput-monitor"  # application_name of this script's own catalog connection (not counted)
REAL_STEPS = ["probe", "proxy"]
CLIP_SECONDS, CLIP_SIZE, CLIP_RATE, CLIP_TIMECODE = 3, (640, 360), 25, "10:00:00:00"


# ---- resources: databases, Redis namespaces, processes --------------------------------------------------

def create_database() -> str:
    """A fresh, empty PostgreSQL database (as tests/conftest.py makes them); returns its URL."""
    name = f"rushes_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def delete_namespace(client: redis.Redis, namespace: str) -> int:
    """Delete every Redis key of one broker namespace (Dramatiq's and Rushes' own)."""
    keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start:start + 500])
    return len(keys)


def farm_resources(stack: ExitStack, client: redis.Redis) -> tuple[str, str, Path]:
    """A database, a Redis namespace and a data folder for one configuration, removed when ``stack`` closes."""
    url = create_database()
    stack.callback(drop_database, url)
    namespace = f"rushes-bench-{uuid.uuid4().hex[:8]}"
    stack.callback(delete_namespace, client, namespace)
    data = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rushes-bench-")))
    return url, namespace, data


def clean_environ() -> None:
    """Settings come from this script only: drop RUSHES_* (except the ffmpeg override) for it and its children."""
    for name in [k for k in os.environ if k.startswith("RUSHES_") and k != "RUSHES_FFMPEG"]:
        del os.environ[name]


def stop_popen(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---- measuring the machine, PostgreSQL and Redis ------------------------------------------------------

def proc_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of one process, 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


@dataclass
class Sample:
    """Counters at one moment: the machine, the catalog's backends, Redis and the worker processes."""

    at: float
    machine: tuple[int, int]
    pg_cpu: dict[int, float]  # the benchmark database's backends and PostgreSQL's own (WAL writer, checkpointer…)
    pg_db: dict[str, float]
    redis_cpu_s: float
    redis_commands: int
    redis_calls: dict[str, tuple[int, int]]  # command -> (calls, microseconds), Lua's inner calls included
    bench_cpu_s: float  # this script
    workers: list[dict[str, Any]] = field(default_factory=list)


class Monitor:
    """Reads PostgreSQL's and Redis's own counters for one benchmark database."""

    def __init__(self, url: str, client: redis.Redis) -> None:
        self.engine = create_engine(url, connect_args={"application_name": MONITOR}, pool_size=1)
        self.db = url.rsplit("/", 1)[1]
        self.client = client

    def sample(self, workers: list[dict[str, Any]] | None = None) -> Sample:
        with self.engine.connect() as conn:
            pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE (datname = :db AND "
                                     "coalesce(application_name, '') <> :me) OR backend_type IN ('checkpointer', "
                                     "'background writer', 'walwriter', 'autovacuum launcher')"),
                                {"db": self.db, "me": MONITOR})
            pg_cpu = {pid: proc_cpu_s(pid) for (pid,) in pids}
            row = conn.execute(text("SELECT xact_commit, xact_rollback, active_time, tup_inserted, tup_updated, "
                                    "tup_returned FROM pg_stat_database WHERE datname = :db"), {"db": self.db})
            db = dict(row.mappings().one())
            wal = conn.execute(text("SELECT wal_bytes FROM pg_stat_wal")).scalar()
        cpu = self.client.info("cpu")
        redis_cpu = cpu.get("used_cpu_sys_main_thread", cpu["used_cpu_sys"]) + cpu.get(
            "used_cpu_user_main_thread", cpu["used_cpu_user"])
        commands = self.client.info("stats")["total_commands_processed"]
        calls = {name.removeprefix("cmdstat_"): (int(v["calls"]), int(v["usec"]))
                 for name, v in self.client.info("commandstats").items()}
        return Sample(time.time(), machine_jiffies(), pg_cpu, {**{k: float(v or 0) for k, v in db.items()},
                                                               "wal_bytes": float(wal or 0)},
                      float(redis_cpu), int(commands), calls, sum(os.times()[:2]), workers or [])

    def scalar(self, sql: str) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql)).scalar()

    def close(self) -> None:
        self.engine.dispose()


@dataclass
class Delta:
    """What happened between two samples."""

    seconds: float
    machine_busy: float  # fraction of all cores
    machine_cpu_s: float  # CPU seconds used on the machine, by anyone
    pg_cpu_s: float
    pg_db: dict[str, float]
    redis_cpu_s: float
    redis_commands: int
    redis_calls: dict[str, tuple[int, int]]
    bench_cpu_s: float
    worker_cpu_s: float
    counts: dict[str, tuple[int, float]]  # summed over the worker processes: name -> (calls, seconds)


def delta(a: Sample, b: Sample) -> Delta:
    busy, total = b.machine[0] - a.machine[0], b.machine[1] - a.machine[1]
    pg = sum(max(0.0, cpu - a.pg_cpu.get(pid, 0.0)) for pid, cpu in b.pg_cpu.items())
    counts: dict[str, tuple[int, float]] = {}
    for before, after in zip(a.workers, b.workers, strict=True):
        for name, (n, s) in after["counts"].items():
            n0, s0 = before["counts"].get(name, (0, 0.0))
            c = counts.get(name, (0, 0.0))
            counts[name] = (c[0] + n - n0, c[1] + s - s0)
    worker_cpu = sum(after["cpu_s"] - before["cpu_s"] for before, after in zip(a.workers, b.workers, strict=True))
    calls = {name: (n - a.redis_calls.get(name, (0, 0))[0], us - a.redis_calls.get(name, (0, 0))[1])
             for name, (n, us) in b.redis_calls.items()}
    return Delta(b.at - a.at, busy / total if total else 0.0, busy / CLK_TCK, pg,
                 {k: b.pg_db[k] - a.pg_db[k] for k in b.pg_db}, b.redis_cpu_s - a.redis_cpu_s,
                 b.redis_commands - a.redis_commands, {k: v for k, v in calls.items() if v[0]},
                 b.bench_cpu_s - a.bench_cpu_s, worker_cpu, counts)


# ---- inside a no-op worker process ---------------------------------------------------------------------

def no_op(job: Job) -> Outcome:
    """Every step's task in part 1: nothing to do, nothing to store."""
    return Outcome()


def thread_role() -> str:
    """Who runs this code in a worker process: a Dramatiq worker thread, the reconciler, a heartbeat…"""
    thread = threading.current_thread()
    if thread.name.startswith("heartbeat-"):
        return "heartbeat"
    if thread.name in ("reconciler", "announcer"):
        return thread.name
    return {"WorkerThread": "worker", "ConsumerThread": "consumer"}.get(type(thread).__name__.lstrip("_"), "other")


def statement_kind(statement: str) -> str:
    """'UPDATE steps', 'SELECT versions FOR UPDATE'…: what a statement does to which table."""
    words = statement.split()
    verb = words[0].upper() if words else "?"
    if verb in ("UPDATE", "DELETE", "INSERT"):
        table = words[2] if verb in ("DELETE", "INSERT") and len(words) > 2 else words[1] if len(words) > 1 else "?"
    else:
        upper = [w.upper() for w in words]
        table = words[upper.index("FROM") + 1] if "FROM" in upper else ""
    lock = " FOR UPDATE" if statement.rstrip().upper().endswith("FOR UPDATE") else ""
    return f"{verb} {table}{lock}".strip()


class Meter:
    """Counts and times, in one worker process, what its threads do (thread-safe; read by snapshot())."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, list[float]] = {}
        self.local = threading.local()
        self.profiles: list[cProfile.Profile] = []

    def add(self, name: str, seconds: float) -> None:
        with self.lock:
            entry = self.counts.setdefault(name, [0, 0.0])
            entry[0] += 1
            entry[1] += seconds

    def label(self, name: str) -> None:
        """Name the transaction this thread is in after the first measured call inside it."""
        if getattr(self.local, "in_tx", False) and self.local.tx_label is None:
            self.local.tx_label = name

    def wrap(self, owner: Any, attr: str, name: str, *, by_role: bool = False) -> bool:
        original = getattr(owner, attr, None)
        if original is None:  # the pipeline changed: measure what is still there
            return False

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.label(name)
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.add(f"{name}:{thread_role()}" if by_role else name, time.perf_counter() - start)

        setattr(owner, attr, timed)
        return True

    def install(self, farm: Farm, profile: bool) -> None:
        import dramatiq.worker
        from dramatiq.brokers import redis as dramatiq_redis

        from pipeline import execute, leases, reconcile, workflow

        self._sql_events(farm.engine)
        self._transactions(farm)
        self._execute_step(execute)
        self.wrap(leases, "claim", "claim")
        self.wrap(leases, "finish", "finish")
        self.wrap(leases, "refresh_status", "refresh_status(claim)")
        self.wrap(execute, "advance", "advance")
        self.wrap(workflow, "refresh_status", "refresh_status(advance)")
        self.wrap(reconcile, "advance", "reconciler.advance")
        self.wrap(reconcile, "reconcile", "reconcile.pass")
        if hasattr(execute, "Heartbeat"):
            self.wrap(execute.Heartbeat, "start", "heartbeat.start")
            self.wrap(execute.Heartbeat, "stop", "heartbeat.stop")
        self.wrap(farm, "send", "send", by_role=True)
        self.wrap(dramatiq_redis.RedisBroker, "enqueue", "redis.enqueue")
        self.wrap(dramatiq_redis._RedisConsumer, "ack", "redis.ack")
        self._process_message(getattr(dramatiq.worker, "WorkerThread", None)
                              or dramatiq.worker._WorkerThread, profile)  # its name before Dramatiq 2

    def _sql_events(self, engine: Engine) -> None:
        def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
            self.local.sql_start = time.perf_counter()

        def after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
            seconds, role = time.perf_counter() - self.local.sql_start, thread_role()
            self.add(f"sql:{role}", seconds)
            if role == "worker":
                self.add(f"sqlkind:{statement_kind(statement)}", seconds)

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        event.listen(engine, "connect", lambda *_: self.add("db.connect", 0.0))
        event.listen(engine, "checkout", lambda *_: self.add("db.checkout", 0.0))
        event.listen(engine, "commit", lambda *_: self.add(f"db.commit:{thread_role()}", 0.0))
        event.listen(engine, "rollback", lambda *_: self.add(f"db.rollback:{thread_role()}", 0.0))

    def _transactions(self, farm: Farm) -> None:
        """Time each transaction and its commit, named after the first measured call inside it."""
        original = farm.transaction

        @contextmanager
        def timed_transaction() -> Iterator[Any]:
            local = self.local
            outer = getattr(local, "in_tx", False), getattr(local, "tx_label", None)
            local.in_tx, local.tx_label = True, None
            start = time.perf_counter()
            body_end = None
            try:
                with original() as session:
                    yield session
                    body_end = time.perf_counter()
                end = time.perf_counter()
                name = local.tx_label or thread_role()
                self.add(f"tx:{name}", end - start)
                self.add(f"commit:{name}", end - (body_end or end))
            finally:
                local.in_tx, local.tx_label = outer

        farm.transaction = timed_transaction  # type: ignore[method-assign]

    def _execute_step(self, execute: Any) -> None:
        original = execute.execute_step

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start, cpu = time.perf_counter(), time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.add("execute_step.cpu", time.thread_time() - cpu)
                self.add("execute_step", time.perf_counter() - start)

        execute.execute_step = timed  # the actor imports it at each call

    def _process_message(self, worker_thread: Any, profile: bool) -> None:
        """Time Dramatiq's handling of a message in a worker thread (middleware + actor); profile it if asked."""
        original = worker_thread.process_message

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            prof = None
            if profile:
                prof = getattr(self.local, "prof", None)
                if prof is None:
                    prof = self.local.prof = cProfile.Profile(time.thread_time)  # CPU, not waits
                    with self.lock:
                        self.profiles.append(prof)
                prof.enable()
            start, cpu = time.perf_counter(), time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.add("dramatiq.process_message.cpu", time.thread_time() - cpu)
                self.add("dramatiq.process_message", time.perf_counter() - start)
                if prof is not None:
                    prof.disable()

        worker_thread.process_message = timed

    def snapshot(self) -> dict[str, Any]:
        times = os.times()
        with self.lock:
            counts = {name: (int(n), s) for name, (n, s) in self.counts.items()}
        return {"pid": os.getpid(), "cpu_s": times.user + times.system, "counts": counts}

    def profile_text(self, top: int) -> str:
        if not self.profiles:
            return ""
        stats = pstats.Stats(self.profiles[0])
        for prof in self.profiles[1:]:
            stats.add(prof)
        out = io.StringIO()
        stats.stream = out  # type: ignore[attr-defined]
        stats.strip_dirs().sort_stats("tottime").print_stats(top)
        stats.sort_stats("cumulative").print_stats(top)
        return out.getvalue()


WHAT_IFS = {  # changes proposed to the pipeline, tried in the no-op worker processes only (nothing is edited)
    "no-claim-refresh": "claim does not recompute the version's status (advance at finish still does)",
    "no-pre-ping": "the engine's pool does not ping PostgreSQL at every checkout",
    "poll-1000ms": "Dramatiq's worker_timeout 1000 ms (its default) instead of 100: idle consumers poll 10x less",
    "no-heartbeat-thread": "no heartbeat thread a step (what one lease renewer a process would save)",
}


def apply_what_ifs(names: list[str], farm: Farm | None) -> None:
    """Try proposed changes inside this worker process (``farm`` None: before the farm is made)."""
    from pipeline import execute, leases

    if farm is None:
        if "poll-1000ms" in names:
            import dramatiq

            class SlowerPolling(dramatiq.Worker):
                def __init__(self, *args: Any, **kwargs: Any) -> None:
                    super().__init__(*args, **{**kwargs, "worker_timeout": 1000})

            dramatiq.Worker = SlowerPolling  # type: ignore[misc]
        if "no-claim-refresh" in names:
            leases.refresh_status = lambda session, version_id: "processing"
        if "no-heartbeat-thread" in names:
            execute.Heartbeat.start = lambda self: None  # type: ignore[method-assign]
            execute.Heartbeat.stop = lambda self: None  # type: ignore[method-assign]
        return
    if "no-pre-ping" in names:
        farm.engine.pool._pre_ping = False


def noop_worker(conn: Connection, values: dict[str, Any], threads: int, profile: bool, timers: bool,
                what_ifs: list[str], log_path: str) -> None:
    """A worker process of part 1: a Farm like `rushes worker` opens, no-op tasks, until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops us
    logging.basicConfig(filename=log_path, level=logging.INFO,  # what `rushes worker` logs
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    logging.getLogger("dramatiq").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from pipeline import analysis_tasks, tasks
    from pipeline.workers import Workers

    for kind in list(tasks.TASKS):
        tasks.TASKS[kind] = no_op
    analysis_tasks.warm_up = lambda kinds, settings: None  # no models to load
    apply_what_ifs(what_ifs, None)
    farm = Farm(load_settings(**values), migrate_schema=False)
    apply_what_ifs(what_ifs, farm)
    meter = Meter()
    if timers:
        meter.install(farm, profile)
    workers = Workers(farm, threads=threads)
    workers.start()
    conn.send("ready")
    try:
        while (command := conn.recv()) != "stop":
            if command == "snap":
                conn.send(meter.snapshot())
    except EOFError:  # the parent is gone
        pass
    finally:
        workers.stop()
        farm.close()
    with_profile = {**meter.snapshot(), "profile": meter.profile_text(25) if profile else ""}
    try:
        conn.send(with_profile)
    except (BrokenPipeError, EOFError, OSError):
        pass


@dataclass
class Child:
    process: multiprocessing.process.BaseProcess
    conn: Connection


def start_children(n: int, values: dict[str, Any], threads: int, profile: bool, timers: bool,
                   what_ifs: list[str], logs: Path) -> list[Child]:
    ctx = multiprocessing.get_context("spawn")
    children = []
    for i in range(n):
        parent_end, child_end = ctx.Pipe()
        process = ctx.Process(target=noop_worker, daemon=True, name=f"noop-worker-{i}",
                              args=(child_end, values, threads, profile and i == 0, timers, what_ifs,
                                    str(logs / f"worker{i}.log")))
        process.start()
        child_end.close()
        children.append(Child(process, parent_end))
    return children


def wait_ready(children: list[Child], logs: Path, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    for i, child in enumerate(children):
        try:
            ready = child.conn.poll(max(0.0, deadline - time.monotonic())) and child.conn.recv() == "ready"
        except EOFError:  # it died (its traceback is on stderr)
            ready = False
        if not ready:
            log = logs / f"worker{i}.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"worker process {child.process.pid} did not start in {timeout:.0f}s\n{tail}")


def snapshot(children: list[Child]) -> list[dict[str, Any]]:
    for child in children:
        child.conn.send("snap")
    return [child.conn.recv() for child in children]


def stop_children(children: list[Child], timeout: float = 30.0) -> list[dict[str, Any]]:
    """Stop every worker process (gracefully, then by force); returns their last snapshots."""
    finals: list[dict[str, Any]] = []
    for child in children:
        try:
            child.conn.send("stop")
        except (BrokenPipeError, OSError):
            pass
    for child in children:
        try:
            if child.conn.poll(timeout):
                finals.append(child.conn.recv())
        except (EOFError, OSError):
            pass
        child.process.join(5)
        if child.process.is_alive():
            child.process.kill()
            child.process.join(5)
        child.conn.close()
    return finals


# ---- part 1: orchestration only -----------------------------------------------------------------------

def seed_versions(farm: Farm, assets: int, batch: int = 100) -> list[tuple[int, str]]:
    """Assets with one version each, planned and advanced by the code ingest uses; their first messages."""
    messages: list[tuple[int, str]] = []
    run = uuid.uuid4().hex
    for start in range(0, assets, batch):
        with farm.transaction() as session:
            collection = collection_named(session, "default")
            for i in range(start, min(assets, start + batch)):
                name = f"BENCH_{i:05d}.mov"
                asset = Asset(name=name, source_folder="default", collection=collection)
                session.add(asset)
                session.flush()
                version = Version(asset_id=asset.id, number=1, size=1,
                                  content_hash=hashlib.sha256(f"{run}/{i}".encode()).hexdigest(),
                                  original_name=name, source_folder="default", source_path=f"/bench/{name}",
                                  stored_path=f"/bench/{asset.id}/1/original.mov", status="queued")
                session.add(version)
                session.flush()
                plan(session, version, farm.settings.steps)
                messages.extend(advance(session, version.id))
    return messages


def wait_steps(monitor: Monitor, expected: int, timeout: float) -> int:
    """Poll the catalog until ``expected`` steps are finished (done, skipped or failed)."""
    deadline = time.monotonic() + timeout
    finished = 0
    while time.monotonic() < deadline:
        finished = monitor.scalar("SELECT count(*) FROM steps WHERE status IN ('done', 'skipped', 'failed')")
        if finished >= expected:
            return finished
        time.sleep(0.05)
    return finished


CATALOG_STEPS = """
SELECT count(*) AS steps, count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE attempts > 1) AS retried,
       min(started_at) AS first_start, max(finished_at) AS last_finish,
       avg(extract(epoch FROM finished_at - started_at)) AS mean_s,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at)) AS p50_s,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at)) AS p95_s,
       avg(extract(epoch FROM started_at - enqueued_at)) FILTER (WHERE kind <> 'probe') AS wait_s
FROM steps
"""


@dataclass
class NoopResult:
    procs: int
    threads: int
    steps: int
    finished: int
    failed: int
    retried: int
    wall_s: float
    catalog: dict[str, Any]
    run: Delta
    idle: Delta  # the worker processes started, nothing to do
    base: Delta  # before the worker processes started: what others cost Redis and the machine
    seed_s: float
    interval_s: float  # the reconcilers' reconcile_interval_s
    profile: str = ""

    @property
    def label(self) -> str:
        return f"{self.procs}x{self.threads}"

    @property
    def rate(self) -> float:
        return self.finished / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def cost_ms(self) -> float:
        return 1000 * self.wall_s * self.procs * self.threads / max(1, self.finished)

    def per_step(self, seconds: float) -> float:
        """Milliseconds per finished step."""
        return 1000 * seconds / max(1, self.finished)

    def count(self, name: str) -> tuple[int, float]:
        return self.run.counts.get(name, (0, 0.0))

    def mean_ms(self, name: str) -> float | None:
        n, s = self.count(name)
        return 1000 * s / n if n else None

    def per_step_calls(self, name: str) -> float:
        return self.count(name)[0] / max(1, self.finished)

    @property
    def redis_step_cpu_s(self) -> float:
        """Redis CPU of the run less what others cost it before the workers started (the workers' own polling
        while busy stays in: an upper bound of what the steps cost it)."""
        base_rate = self.base.redis_cpu_s / self.base.seconds if self.base.seconds else 0.0
        return max(0.0, self.run.redis_cpu_s - base_rate * self.run.seconds)

    @property
    def others_cores(self) -> float:
        ours = self.run.worker_cpu_s + self.run.pg_cpu_s + self.run.redis_cpu_s + self.run.bench_cpu_s
        return max(0.0, self.run.machine_cpu_s - ours) / self.run.seconds if self.run.seconds else 0.0

    def idle_per_process(self, what: Callable[[Delta], float]) -> float:
        """A rate (per second) of one idle worker process: the idle window less the baseline before it started."""
        idle = what(self.idle) / self.idle.seconds
        base = what(self.base) / self.base.seconds if self.base.seconds else 0.0
        return max(0.0, idle - base) / self.procs


def run_noop(procs: int, threads: int, assets: int, idle_s: float, client: redis.Redis,
             profile: bool = False, timers: bool = True, what_ifs: list[str] | None = None) -> NoopResult:
    with ExitStack() as stack:
        url, namespace, data = farm_resources(stack, client)
        values = dict(data_dir=str(data), database_url=url, broker_url=REDIS_URL, broker_namespace=namespace,
                      worker_threads=threads, steps=list(WORKFLOW))
        farm = Farm(load_settings(**values))  # migrates the new catalog once, before the workers open it
        stack.callback(farm.close)
        monitor = Monitor(url, client)
        stack.callback(monitor.close)
        base_a = monitor.sample()
        time.sleep(idle_s)
        base = delta(base_a, monitor.sample())
        children = start_children(procs, values, threads, profile, timers, what_ifs or [], data)
        finals: list[dict[str, Any]] = []
        stack.callback(lambda: finals.extend(stop_children(children)))
        wait_ready(children, data)
        time.sleep(1.0)  # let the consumers reach their idle back-off
        idle_a = monitor.sample(snapshot(children))
        time.sleep(idle_s)
        idle = delta(idle_a, monitor.sample(snapshot(children)))
        seed_start = time.perf_counter()
        messages = seed_versions(farm, assets)
        seed_s = time.perf_counter() - seed_start
        farm.engine.dispose()  # from here on, only the workers' connections are on the catalog
        expected = assets * len(farm.settings.steps or WORKFLOW)
        before = monitor.sample(snapshot(children))
        sent_at = datetime.now(UTC)
        farm.send(messages)
        finished = wait_steps(monitor, expected, timeout=max(120.0, expected / 5))
        after = monitor.sample(snapshot(children))
        with monitor.engine.connect() as conn:
            catalog = dict(conn.execute(text(CATALOG_STEPS)).mappings().one())
        stack.close()  # stop the workers and remove everything before the next configuration
        wall = (catalog["last_finish"] - sent_at).total_seconds() if catalog["last_finish"] else float("nan")
        return NoopResult(procs, threads, expected, finished, catalog["failed"], catalog["retried"], wall,
                          catalog, delta(before, after), idle, base, seed_s, farm.settings.reconcile_interval_s,
                          next((f.get("profile", "") for f in finals if f.get("profile")), ""))


# ---- part 2: real work ---------------------------------------------------------------------------------

def make_clips(folder: Path, n: int) -> list[Path]:
    """``n`` distinct short clips (each its own tone, so each its own content hash)."""
    width, height = CLIP_SIZE

    def one(i: int) -> Path:
        path = folder / f"clip{i:03d}.mp4"
        subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                        "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={CLIP_RATE}:duration={CLIP_SECONDS}",
                        "-f", "lavfi", "-i", f"sine=frequency={220 + 17 * i}:sample_rate=48000:duration={CLIP_SECONDS}",
                        "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "50",
                        "-c:a", "aac", "-ac", "2", "-timecode", CLIP_TIMECODE, str(path)], check=True)
        return path

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(one, range(n)))


def bare_commands(clip: Path, out: Path) -> list[list[str]]:
    """The ffmpeg commands a proxy step runs for ``clip``: the proxy (transcoders.proxy.proxy_args) and the poster."""
    width, height = CLIP_SIZE
    proxy = out / f"{clip.stem}-proxy.mp4"
    base = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
    return [
        [*base, *proxy_args(clip, proxy, width=width, height=height, sar=Fraction(1), rotation=0,
                            frame_rate=Fraction(CLIP_RATE), has_audio=True, start_timecode=CLIP_TIMECODE,
                            spec=ProxySpec())],
        [*base, *poster_args(proxy, out / f"{clip.stem}-poster.jpg", at_s=poster_time(CLIP_SECONDS))],
    ]


def run_bare(clips: list[Path], out: Path, parallel: int) -> tuple[float, float]:
    """Wall time of the clips' proxy + poster commands, ``parallel`` clips at a time; and of the proxies alone."""
    proxy_times: list[float] = []

    def one(clip: Path) -> None:
        proxy, poster = bare_commands(clip, out)
        start = time.perf_counter()
        subprocess.run(proxy, check=True, stdout=subprocess.DEVNULL)
        proxy_times.append(time.perf_counter() - start)
        subprocess.run(poster, check=True, stdout=subprocess.DEVNULL)

    start = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(one, clips))
    return time.perf_counter() - start, sum(proxy_times)


def start_rushes_workers(n: int, threads: int, env: dict[str, str], logs: Path) -> list[subprocess.Popen[bytes]]:
    """``n`` real `rushes worker` processes; each dies with this script (setpriv --pdeathsig) where possible."""
    guard = ["setpriv", "--pdeathsig", "TERM"] if shutil.which("setpriv") else []
    procs = []
    for i in range(n):
        log = (logs / f"rushes-worker{i}.log").open("wb")
        procs.append(subprocess.Popen([*guard, RUSHES, "worker", "--threads", str(threads)], env=env,
                                      stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
        log.close()
    return procs


def wait_started(procs: list[subprocess.Popen[bytes]], logs: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    for i, proc in enumerate(procs):
        log = logs / f"rushes-worker{i}.log"
        while "worker on" not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"rushes worker {i} did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)


REAL_STEPS_SQL = """
SELECT kind, count(*) AS n, count(*) FILTER (WHERE status = 'failed') AS failed,
       sum(extract(epoch FROM finished_at - started_at)) AS total_s, max(finished_at) AS last_finish
FROM steps GROUP BY kind
"""


@dataclass
class RealResult:
    procs: int
    threads: int
    clips: int
    wall_s: float
    ingest_s: float
    ready: int
    failed: int
    steps: dict[str, dict[str, Any]]
    machine_busy: float

    @property
    def files_per_min(self) -> float:
        return 60 * self.ready / self.wall_s if self.wall_s > 0 else 0.0

    def total_s(self, kind: str) -> float:
        return float(self.steps.get(kind, {}).get("total_s") or 0.0)

    @property
    def utilisation(self) -> float:
        """How much of the wall time the worker threads spent inside steps."""
        busy = sum(self.total_s(kind) for kind in self.steps)
        return busy / (self.wall_s * self.procs * self.threads) if self.wall_s > 0 else 0.0


def run_real(procs: int, threads: int, clips: list[Path], client: redis.Redis, timeout: float) -> RealResult:
    with ExitStack() as stack:
        url, namespace, data = farm_resources(stack, client)
        env = {**os.environ, "RUSHES_BROKER_URL": REDIS_URL, "RUSHES_BROKER_NAMESPACE": namespace,
               "RUSHES_DATABASE_URL": url, "RUSHES_DATA_DIR": str(data), "RUSHES_STEPS": '["probe", "proxy"]'}
        farm = Farm(load_settings(data_dir=data, database_url=url, broker_url=REDIS_URL,
                                  broker_namespace=namespace, steps=REAL_STEPS))
        stack.callback(farm.close)
        monitor = Monitor(url, client)
        stack.callback(monitor.close)
        logs = data / "logs"
        logs.mkdir()
        workers = start_rushes_workers(procs, threads, env, logs)
        stack.callback(stop_popen, workers)
        wait_started(workers, logs)
        ingester, folder = Ingester(farm), WatchFolder(name="default")
        busy0 = machine_jiffies()
        started = datetime.now(UTC)
        versions = [ingester.ingest(clip, folder, consume=False).version_id for clip in clips]
        ingest_s = (datetime.now(UTC) - started).total_seconds()
        deadline = time.monotonic() + timeout
        ids = ",".join(str(v) for v in versions if v is not None)
        finished = 0
        while time.monotonic() < deadline:
            finished = monitor.scalar(f"SELECT count(*) FROM versions WHERE id IN ({ids}) "
                                      "AND status IN ('ready', 'failed')")
            if finished >= len(versions):
                break
            time.sleep(0.2)
        busy1 = machine_jiffies()
        with monitor.engine.connect() as conn:
            steps = {row["kind"]: dict(row) for row in conn.execute(text(REAL_STEPS_SQL)).mappings()}
            ready = conn.execute(text("SELECT count(*) FROM versions WHERE status = 'ready'")).scalar() or 0
            failed = conn.execute(text("SELECT count(*) FROM versions WHERE status = 'failed'")).scalar() or 0
        if failed or finished < len(versions):
            tail = "\n".join((logs / f"rushes-worker{i}.log").read_text(errors="replace")[-1500:]
                             for i in range(procs))
            print(f"  warning: {failed} failed, {len(versions) - finished} unfinished; worker logs:\n{tail}",
                  file=sys.stderr)
        last = max((s["last_finish"] for s in steps.values() if s["last_finish"]), default=None)
        wall = (last - started).total_seconds() if last else float("nan")
        busy = (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])
        return RealResult(procs, threads, len(clips), wall, ingest_s, ready, failed, steps, busy)


# ---- reporting ----------------------------------------------------------------------------------------

def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None or value != value else f"{value:.{digits}f}"


def spread(values: list[float], digits: int = 1) -> str:
    if len(values) == 1:
        return fmt(values[0], digits)
    return f"{fmt(statistics.median(values), digits)} ({fmt(min(values), digits)}-{fmt(max(values), digits)})"


def print_noop_table(groups: dict[str, list[NoopResult]]) -> None:
    print("\nPart 1 - orchestration only (no-op tasks, all 7 steps a version, Redis + PostgreSQL)")
    print("median (min-max) when repeated; CPU columns are ms per step; 'busy' is the whole machine's CPU")
    head = (f"{'config':>7} {'steps':>6} {'wall s':>13} {'steps/s':>15} {'ms/step':>13} {'catalog ms':>16} "
            f"{'wait ms':>8} {'wk CPU':>7} {'pg CPU':>7} {'redis':>6} {'busy':>5} {'others':>6} {'retry':>5}")
    print(head)
    print("-" * len(head))
    for label, runs in groups.items():
        r = runs[0]
        cat = f"{fmt(statistics.median(1000 * float(x.catalog['mean_s'] or 0) for x in runs))}" \
              f"/{fmt(1000 * float(r.catalog['p95_s'] or 0))}"
        print(f"{label:>7} {r.finished:>6} {spread([x.wall_s for x in runs], 2):>13} "
              f"{spread([x.rate for x in runs]):>15} {spread([x.cost_ms for x in runs]):>13} {cat:>16} "
              f"{fmt(statistics.median(1000 * float(x.catalog['wait_s'] or 0) for x in runs), 0):>8} "
              f"{fmt(statistics.median(x.per_step(x.run.worker_cpu_s) for x in runs), 2):>7} "
              f"{fmt(statistics.median(x.per_step(x.run.pg_cpu_s) for x in runs), 2):>7} "
              f"{fmt(statistics.median(x.per_step(x.redis_step_cpu_s) for x in runs), 2):>6} "
              f"{fmt(100 * statistics.median(x.run.machine_busy for x in runs), 0):>4}% "
              f"{fmt(statistics.median(x.others_cores for x in runs), 2):>6} {sum(x.retried for x in runs):>5}")
    print("  ms/step = wall x worker threads / steps; catalog ms = mean/p95 of finished_at - started_at;")
    print("  wait = mean started_at - enqueued_at of the steps after the probe (queue latency, not cost);")
    print("  pg CPU = the database's backends + PostgreSQL's WAL writer, checkpointer and background writer;")
    print("  redis = Redis's CPU during the run less others' (measured before the workers started), a step;")
    print("  others = cores used meanwhile by other work (not the workers, PostgreSQL, Redis or this script)")


PHASES = [  # (label, counter name): what one step's handling is made of, in the worker threads
    ("Dramatiq message (middleware + actor)", "dramatiq.process_message"),
    ("  execute_step", "execute_step"),
    ("    claim transaction", "tx:claim"),
    ("      of which leases.claim", "claim"),
    ("      of which refresh_status at claim", "refresh_status(claim)"),
    ("      of which COMMIT", "commit:claim"),
    ("    heartbeat thread start", "heartbeat.start"),
    ("    heartbeat thread stop (join)", "heartbeat.stop"),
    ("    finish transaction", "tx:finish"),
    ("      of which leases.finish", "finish"),
    ("      of which advance", "advance"),
    ("        of which refresh_status", "refresh_status(advance)"),
    ("      of which COMMIT", "commit:finish"),
    ("    send (Redis enqueue of next steps)", "send:worker"),
    ("Redis ack (consumer thread)", "redis.ack"),
]


def print_phases(results: list[NoopResult]) -> None:
    print("\nWhere a step's time goes (mean ms per call, from timers inside the worker processes; "
          "calls per step in brackets)")
    print(f"{'phase':<42}" + "".join(f"{r.label:>16}" for r in results))
    for label, name in PHASES:
        cells = []
        for r in results:
            mean = r.mean_ms(name)
            cells.append("-" if mean is None else f"{mean:.2f} [{r.per_step_calls(name):.2f}]")
        print(f"{label:<42}" + "".join(f"{c:>16}" for c in cells))
    rows: list[tuple[str, Callable[[NoopResult], str]]] = [
        ("CPU of the worker thread per message (ms)",
         lambda r: fmt(r.per_step(r.count("dramatiq.process_message.cpu")[1]), 2)),
        ("SQL statements per step (worker threads)", lambda r: fmt(r.per_step_calls("sql:worker"), 1)),
        ("SQL time per step, client side (ms)", lambda r: fmt(r.per_step(r.count("sql:worker")[1]), 2)),
        ("SQL statements per step (every thread)", lambda r: fmt(sum(
            n for k, (n, _) in r.run.counts.items() if k.startswith("sql:")) / max(1, r.finished), 1)),
        ("commits per step (pg_stat_database)", lambda r: fmt(r.run.pg_db["xact_commit"] / max(1, r.finished), 2)),
        ("PostgreSQL active ms per step", lambda r: fmt(r.run.pg_db["active_time"] / max(1, r.finished), 2)),
        ("WAL bytes per step (whole server)", lambda r: fmt(r.run.pg_db["wal_bytes"] / max(1, r.finished), 0)),
        ("Redis commands per step", lambda r: fmt(r.run.redis_commands / max(1, r.finished), 1)),
        ("new DB connections during the run", lambda r: str(r.count("db.connect")[0])),
        ("reconciler passes / versions advanced",
         lambda r: f"{r.count('reconcile.pass')[0]}/{r.count('reconciler.advance')[0]}"),
    ]
    for label, get in rows:
        print(f"{label:<42}" + "".join(f"{get(r):>16}" for r in results))
    kinds = sorted({k for r in results for k in r.run.counts if k.startswith("sqlkind:")},
                   key=lambda k: -results[0].count(k)[0])
    print("statements a step in the worker threads, by kind (calls per step / mean ms):")
    for kind in kinds:
        print(f"  {kind.removeprefix('sqlkind:'):<40}" + "".join(
            f"{r.per_step_calls(kind):>9.2f}/{r.mean_ms(kind) or 0:>5.2f}" for r in results))
    for r in results:
        outside = r.count("dramatiq.process_message")[1] - r.count("execute_step")[1]
        busy = r.count("dramatiq.process_message")[1]
        capacity = r.run.seconds * r.procs * r.threads
        print(f"  {r.label}: worker threads busy {100 * busy / capacity:.0f}% of the run (the rest waits for a "
              f"message); Dramatiq's own share of a message {1000 * outside / max(1, r.finished):.2f} ms; "
              f"seeding {r.steps // len(WORKFLOW)} versions took {r.seed_s:.1f}s")
        idle_calls = top_calls(r.idle, r.base, r.procs)
        print(f"    idle, per worker process: Redis {r.idle_per_process(lambda d: d.redis_commands):.0f} commands/s "
              f"({idle_calls}), {1000 * r.idle_per_process(lambda d: d.redis_cpu_s):.1f} ms Redis CPU/s; "
              f"the process itself {1000 * r.idle.worker_cpu_s / r.idle.seconds / r.procs:.1f} ms CPU/s")
        print(f"    client side, per step: {r.per_step_calls('db.commit:worker'):.2f} commits, "
              f"{r.per_step_calls('db.rollback:worker'):.2f} rollbacks, {r.per_step_calls('db.checkout'):.2f} pool "
              f"checkouts (each also pings: pool_pre_ping, its own transaction); Redis during the run: "
              f"{top_calls(r.run, None, 1, r.finished)}")


def top_calls(window: Delta, base: Delta | None, procs: int, per: float | None = None, top: int = 3) -> str:
    """The Redis commands of a window (less a baseline's rate), per second per process or per ``per`` units."""
    parts = []
    for name, (n, us) in sorted(window.redis_calls.items(), key=lambda kv: -kv[1][0])[:top]:
        if base is not None and base.seconds:
            n -= int(base.redis_calls.get(name, (0, 0))[0] * window.seconds / base.seconds)
        rate = n / per if per else n / window.seconds / procs
        parts.append(f"{name} {rate:.1f}{'' if per else '/s'} at {us / max(1, window.redis_calls[name][0]):.0f} us")
    return ", ".join(parts) + (" a step" if per else "")


def print_real_table(groups: dict[str, list[RealResult]], bare_seq: float, bare_proxy: float,
                     bare_par: float, clips: int) -> None:
    print(f"\nPart 2 - real work: {clips} clips of {CLIP_SECONDS} s {CLIP_SIZE[0]}x{CLIP_SIZE[1]} H.264/AAC, "
          f"RUSHES_STEPS=[\"probe\",\"proxy\"], real `rushes worker` processes")
    print(f"bare ffmpeg, same commands (proxy + poster), sequential: {bare_seq:.1f}s (proxies alone "
          f"{bare_proxy:.1f}s, {bare_seq / clips:.2f}s a clip); 2 clips at a time: {bare_par:.1f}s = "
          f"{60 * clips / bare_par:.0f} files/min")
    head = (f"{'config':>7} {'wall s':>13} {'files/min':>15} {'ingest s':>9} {'sum probe s':>12} "
            f"{'sum proxy s':>12} {'proxy/clip':>10} {'wall/bare seq':>13} {'wall/bare x2':>12} {'in steps':>8} "
            f"{'busy':>5} {'failed':>6}")
    print(head)
    print("-" * len(head))
    for label, runs in groups.items():
        r = runs[0]
        print(f"{label:>7} {spread([x.wall_s for x in runs], 1):>13} {spread([x.files_per_min for x in runs], 0):>15} "
              f"{fmt(statistics.median(x.ingest_s for x in runs)):>9} "
              f"{fmt(statistics.median(x.total_s('probe') for x in runs)):>12} "
              f"{fmt(statistics.median(x.total_s('proxy') for x in runs)):>12} "
              f"{fmt(statistics.median(x.total_s('proxy') / x.clips for x in runs), 2):>10} "
              f"{fmt(statistics.median(x.wall_s / bare_seq for x in runs), 2):>13} "
              f"{fmt(statistics.median(x.wall_s / bare_par for x in runs), 2):>12} "
              f"{fmt(100 * statistics.median(x.utilisation for x in runs), 0):>7}% "
              f"{fmt(100 * statistics.median(x.machine_busy for x in runs), 0):>4}% {r.failed:>6}")
    print("  wall = first ingest to the last step's finished_at; proxy/clip = mean proxy step (proxy + poster + "
          "verification) under that concurrency;\n  ingest = hash-copy + registration of all clips in this process "
          "(overlaps the work); in steps = sum of step durations / (wall x worker threads)")


@dataclass
class Costs:
    """What the shared parts of a farm spend, measured on this machine."""

    pg_ms: float  # PostgreSQL backend CPU a step
    redis_ms: float  # Redis CPU a step (idle polling subtracted)
    idle_redis_ms_s: float  # Redis CPU a second per idle worker process (its consumers polling)
    idle_redis_cmd_s: float
    rec_pg_ms: float  # PostgreSQL CPU a reconciler pass spends per version in flight
    interval_s: float  # reconcile_interval_s


@dataclass
class Workload:
    name: str
    rate: float  # steps/s one machine makes
    procs: int  # worker processes a machine
    threads: int  # threads a process: versions in flight a process, at least


def shared_load(costs: Costs, work: Workload, machines: int) -> tuple[float, float, float]:
    """(PostgreSQL cores for the steps, PostgreSQL cores for the reconcilers, fraction of Redis's thread) at
    ``machines``. The reconcilers' share grows with the square of the farm: every process runs a pass each
    interval over every version in flight, and there are at least as many of those as busy threads."""
    processes = machines * work.procs
    steps_pg = machines * work.rate * costs.pg_ms / 1000
    in_flight = processes * work.threads
    reconcilers_pg = processes / costs.interval_s * in_flight * costs.rec_pg_ms / 1000
    redis_share = (processes * costs.idle_redis_ms_s + machines * work.rate * costs.redis_ms) / 1000
    return steps_pg, reconcilers_pg, redis_share


def first_limit(costs: Costs, work: Workload, pg_cores: int, most: int = 100_000) -> tuple[int, str]:
    """The smallest farm (machines) at which PostgreSQL's cores or Redis's thread are used up, and which."""
    for machines in range(1, most + 1):
        steps_pg, reconcilers_pg, redis_share = shared_load(costs, work, machines)
        if redis_share >= 1:
            return machines, "Redis's one thread"
        if steps_pg + reconcilers_pg >= pg_cores:
            return machines, ("PostgreSQL, mostly the reconcilers" if reconcilers_pg > steps_pg
                              else "PostgreSQL, the steps' own statements")
    return most, "nothing"


def measured_costs(run: NoopResult) -> Costs:
    """The shared parts' costs of one run. PostgreSQL's CPU is split between the steps and the reconcilers by
    their statements; Redis's share of a step is its dispatch-script calls (an enqueue, an ack, at most one
    fetch) priced at what one idle poll (the same script) cost it, so the workers' own polling is not in it."""
    statements = sum(n for k, (n, _) in run.run.counts.items() if k.startswith("sql:"))
    per_statement = 1000 * run.run.pg_cpu_s / statements if statements else 0.0
    rec_calls = run.count("reconciler.advance")[0]
    idle_polls = run.idle_per_process(lambda d: d.redis_calls.get("evalsha", (0, 0))[0])
    idle_redis_ms_s = 1000 * run.idle_per_process(lambda d: d.redis_cpu_s)
    dispatches = run.per_step_calls("redis.enqueue") + 2 * run.per_step_calls("redis.ack")
    return Costs(pg_ms=per_statement * run.per_step_calls("sql:worker"),
                 redis_ms=dispatches * idle_redis_ms_s / idle_polls if idle_polls else 0.0,
                 idle_redis_ms_s=idle_redis_ms_s,
                 idle_redis_cmd_s=run.idle_per_process(lambda d: d.redis_commands),
                 rec_pg_ms=run.count("sql:reconciler")[0] / rec_calls * per_statement if rec_calls else 0.0,
                 interval_s=run.interval_s)


def median_costs(runs: list[NoopResult]) -> Costs:
    """Each cost as the median over the configurations (the machine is shared: single runs are noisy)."""
    each = [measured_costs(run) for run in runs]
    return Costs(**{name: statistics.median(getattr(c, name) for c in each) for name in Costs.__dataclass_fields__})


def print_model(results: list[NoopResult], real: list[RealResult], machines: int, pg_cores: int) -> None:
    best = max(results, key=lambda r: r.rate)
    costs = median_costs(results)
    interval_s = costs.interval_s
    statements = statistics.median(r.per_step_calls("sql:worker") for r in results)
    commits = statistics.median(r.run.pg_db["xact_commit"] / max(1, r.finished) for r in results)
    worker_ms = statistics.median(1000 * r.run.worker_cpu_s / max(1, r.finished) for r in results)
    rec_calls = sum(r.count("reconciler.advance")[0] for r in results)
    rec_s = sum(r.count("reconciler.advance")[1] for r in results)
    rec_statements = sum(r.count("sql:reconciler")[0] for r in results)
    print(f"\nPart 3 - model for a {machines}-machine farm: costs are medians over the no-op configurations "
          f"(PostgreSQL's CPU split between steps and reconcilers by statements; Redis priced per script call)")
    print(f"  per step: {statements:.1f} SQL statements and {commits:.2f} PostgreSQL transactions (pings included); "
          f"CPU: PostgreSQL "
          f"{costs.pg_ms:.2f} ms, Redis {costs.redis_ms:.3f} ms, the worker process {worker_ms:.2f} ms "
          f"(a {os.cpu_count()}-core machine with all three on it tops out near "
          f"{1000 * (os.cpu_count() or 1) / (worker_ms + costs.pg_ms + costs.redis_ms):.0f} steps/s)")
    print(f"  per idle worker process: {costs.idle_redis_cmd_s:.0f} Redis commands/s = {costs.idle_redis_ms_s:.1f} ms "
          f"of Redis CPU a second (Dramatiq consumers polling every queue and delay queue)")
    if rec_calls:
        print(f"  per reconciler pass (one in every worker process, every {interval_s:.0f}s): "
              f"{rec_statements / rec_calls:.1f} statements and {1000 * rec_s / rec_calls:.1f} ms for "
              f"each version in flight (a pending step left), = {costs.rec_pg_ms:.2f} ms of PostgreSQL CPU")
    workloads = [Workload("no-op steps", best.rate, best.procs, best.threads)]
    if real:
        fastest = max(real, key=lambda r: r.files_per_min)
        workloads.append(Workload(f"{CLIP_SECONDS}-second clips, probe + proxy", fastest.ready * len(REAL_STEPS)
                                  / fastest.wall_s, fastest.procs, fastest.threads))
    for work in workloads:
        steps_pg, reconcilers_pg, redis_share = shared_load(costs, work, machines)
        limit_at, limit = first_limit(costs, work, pg_cores)
        print(f"  {work.name} ({work.rate:.1f} steps/s a machine, {work.procs}x{work.threads}): {machines} machines "
              f"offer {machines * work.rate:.0f} steps/s = {machines * work.rate * commits:.0f} transactions/s; they "
              f"need {steps_pg:.1f} PostgreSQL cores for the steps + {reconcilers_pg:.1f} for the reconcilers "
              f"(>= {machines * work.procs * work.threads} versions in flight), and {100 * redis_share:.0f}% of "
              f"Redis's thread.")
        print(f"    => first to saturate: {limit}, at {limit_at} machines = {limit_at * work.rate:.0f} steps/s "
              f"(PostgreSQL of {pg_cores} cores, --pg-cores)")


# ---- main ---------------------------------------------------------------------------------------------

def interrupted(signum: int, frame: Any) -> None:
    """SIGTERM as Ctrl-C: unwind, so that every configuration removes what it made."""
    raise KeyboardInterrupt


def parse_configs(workers: str, threads: int, many: str) -> list[tuple[int, int]]:
    configs = [(int(n), threads) for n in workers.split(",") if n.strip()]
    if many:
        procs, per = many.lower().split("x")
        configs.append((int(procs), int(per)))
    return configs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=int, default=300, help="versions of part 1 (7 steps each)")
    parser.add_argument("--workers", default="1,2,4", help="worker processes of each configuration")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker process in part 1")
    parser.add_argument("--many", default="2x12", help="one more part-1 configuration, processes x threads")
    parser.add_argument("--clips", type=int, default=24, help="clips of part 2")
    parser.add_argument("--real-threads", type=int, default=2, help="threads per `rushes worker` in part 2")
    parser.add_argument("--reps", type=int, default=1, help="repeat each configuration (prints the spread)")
    parser.add_argument("--idle-s", type=float, default=3.0, help="idle window measuring the polling cost")
    parser.add_argument("--profile", action="store_true", help="add a cProfile'd run of the first configuration")
    parser.add_argument("--no-timers", action="store_true",
                        help="part 1 without the timers inside the workers (what they cost; no phase table)")
    parser.add_argument("--what-if", default="", help="part 1 with proposed pipeline changes tried inside the "
                        f"workers, comma-separated or 'all': {', '.join(WHAT_IFS)}")
    parser.add_argument("--skip-noop", action="store_true")
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--machines", type=int, default=100, help="farm size of the model")
    parser.add_argument("--pg-cores", type=int, default=8, help="cores of the model's PostgreSQL server")
    args = parser.parse_args()
    clean_environ()
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with SIGINT ignored (nohup, &)
    client = redis.Redis.from_url(REDIS_URL)
    configs = parse_configs(args.workers, args.threads, args.many)
    what_ifs = list(WHAT_IFS) if args.what_if == "all" else [w for w in args.what_if.split(",") if w]
    unknown = set(what_ifs) - set(WHAT_IFS)
    if unknown:
        parser.error(f"--what-if: unknown {sorted(unknown)}; known: {', '.join(WHAT_IFS)}")
    print(f"farm throughput: {os.cpu_count()} cores, PostgreSQL {PG_ADMIN_URL.rsplit('@', 1)[-1]}, "
          f"Redis {REDIS_URL.rsplit('/', 2)[-2]}, ffmpeg {ffmpeg_version()}", flush=True)
    for name in what_ifs:
        print(f"  what-if {name}: {WHAT_IFS[name]}")
    noop: dict[str, list[NoopResult]] = {}
    real: dict[str, list[RealResult]] = {}
    profile = ""
    try:
        if not args.skip_noop:
            for rep in range(args.reps):
                for procs, threads in configs:
                    r = run_noop(procs, threads, args.assets, args.idle_s, client, timers=not args.no_timers,
                                 what_ifs=what_ifs)
                    noop.setdefault(r.label, []).append(r)
                    print(f"  no-op {r.label} rep {rep + 1}: {r.finished}/{r.steps} steps in {r.wall_s:.2f}s = "
                          f"{r.rate:.0f} steps/s, {r.cost_ms:.1f} ms a step, machine busy "
                          f"{100 * r.run.machine_busy:.0f}%", flush=True)
            if args.profile:
                procs, threads = configs[0]
                profile = run_noop(procs, threads, args.assets, args.idle_s, client, profile=True,
                                   what_ifs=what_ifs).profile
        bare: tuple[float, float, float] | None = None
        if not args.skip_real:
            with tempfile.TemporaryDirectory(prefix="rushes-bench-clips-") as tmp:
                folder = Path(tmp)
                clips = make_clips(folder, args.clips)
                seq, proxies = run_bare(clips, folder, 1)
                par, _ = run_bare(clips, folder, 2)
                bare = seq, proxies, par
                print(f"  bare ffmpeg: {seq:.1f}s sequential, {par:.1f}s two at a time", flush=True)
                for rep in range(args.reps):
                    for procs in [int(n) for n in args.workers.split(",") if n.strip()]:
                        rr = run_real(procs, args.real_threads, clips, client, timeout=max(300.0, 20.0 * len(clips)))
                        real.setdefault(f"{procs}x{args.real_threads}", []).append(rr)
                        print(f"  real {procs}x{args.real_threads} rep {rep + 1}: {rr.ready}/{rr.clips} ready in "
                              f"{rr.wall_s:.1f}s = {rr.files_per_min:.0f} files/min", flush=True)
    except KeyboardInterrupt:
        print("\ninterrupted: everything this run made was removed", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        client.close()
    if noop:
        print_noop_table(noop)
        print_phases([runs[0] for runs in noop.values()])
    if profile:
        print(f"\ncProfile (CPU time of the worker threads: time.thread_time) of one worker process "
              f"({configs[0][0]}x{configs[0][1]}), Dramatiq message handling:")
        print(profile)
    if real and bare:
        print_real_table(real, bare[0], bare[1], bare[2], args.clips)
    if noop:
        print_model([runs[0] for runs in noop.values()], [runs[0] for runs in real.values()], args.machines,
                    args.pg_cores)
    print(f"\ngoal (issue 11): >= 300 steps/s, < 10 ms orchestration a step; best here: "
          f"{max((r.rate for runs in noop.values() for r in runs), default=0):.0f} steps/s, "
          f"{min((r.cost_ms for runs in noop.values() for r in runs), default=float('nan')):.1f} ms a step")


if __name__ == "__main__":
    main()
