"""Run Rushes farm roles as real local processes against the machine's Redis and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rushes.settings import Settings, load_settings
from tests.conftest import REDIS_URL

RUSHES = str(Path(sys.executable).with_name("rushes"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def farm_env(data_dir: Path, database_url: str, **extra: str) -> dict[str, str]:
    """Environment of one test farm: its own Redis namespace, database and data folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUSHES_")}
    env.update(RUSHES_BROKER_URL=REDIS_URL, RUSHES_BROKER_NAMESPACE=f"rushes-test-{uuid.uuid4().hex[:8]}",
               RUSHES_DATABASE_URL=database_url, RUSHES_DATA_DIR=str(data_dir), RUSHES_SETTLE_S="0.5",
               RUSHES_POLL_INTERVAL_S="0.2")  # recovery (leases, re-sending lost messages) keeps its defaults
    env.update(extra)
    return env


def settings_for(env: dict[str, str]) -> Settings:
    """The settings the processes started with ``env`` read (JSON values decoded as the env reader does)."""
    values = {k[len("RUSHES_"):].lower(): json.loads(v) if v[:1] in "[{" else v
              for k, v in env.items() if k.startswith("RUSHES_")}
    return load_settings(**values)


@contextmanager
def processes(commands: list[list[str]], env: dict[str, str], log_dir: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start every command; on exit stop them (SIGTERM, then SIGKILL) and keep their logs in log_dir."""
    procs = []
    for i, argv in enumerate(commands):
        log = (log_dir / f"proc{i}-{argv[1]}.log").open("wb")
        procs.append(subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT))
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def logs(log_dir: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(log_dir.glob("*.log")))
