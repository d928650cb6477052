"""Workers announce themselves in the catalog: a row per process with its queues, threads and metrics
port, and a heartbeat every few seconds. The Farm page, ``/metrics`` and ``rushes status`` read who is alive
and which steps each holds (a step's ``worker`` starts with its process's name)."""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from sqlalchemy import delete, update

from catalog.models import WorkerProcess, utcnow
from pipeline.farm import Farm

log = logging.getLogger(__name__)
BEAT_S = 5.0  # how often a worker says it is alive; settings.worker_dead_after_s must allow a few misses
FORGET_AFTER = timedelta(days=1)  # rows of processes gone this long are removed


class Announcer(threading.Thread):
    """Registers this process, beats until stopped, then records the stop."""

    def __init__(self, farm: Farm, queues: list[str], threads: int, metrics_port: int | None = None) -> None:
        super().__init__(name="announcer", daemon=True)
        self.farm = farm
        self.row = dict(name=farm.name, host=socket.gethostname(), pid=os.getpid(), queues=sorted(queues),
                        threads=threads, metrics_port=metrics_port)
        self._halt = threading.Event()

    def run(self) -> None:
        registered = False
        while True:
            try:
                with self.farm.transaction() as session:
                    if registered:
                        session.execute(update(WorkerProcess).where(WorkerProcess.name == self.farm.name)
                                        .values(heartbeat_at=utcnow(), stopped_at=None))
                    else:
                        now = utcnow()
                        session.merge(WorkerProcess(**self.row, started_at=now, heartbeat_at=now))
                        session.execute(delete(WorkerProcess).where(WorkerProcess.heartbeat_at < now - FORGET_AFTER))
                        registered = True
            except Exception:  # the catalog blinked (a restart): beat again on the next round
                log.warning("worker heartbeat failed; trying again", exc_info=True)
            if self._halt.wait(BEAT_S):
                return

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)
        try:
            with self.farm.transaction() as session:
                session.execute(update(WorkerProcess).where(WorkerProcess.name == self.farm.name)
                                .values(stopped_at=utcnow()))
        except Exception:
            log.warning("could not record this worker's stop", exc_info=True)
