"""Dramatiq worker threads in this process plus a reconciler and the announcer that registers the process
in the catalog (and serves its /metrics when a port is set): how `rushes up`, `rushes worker` and
`rushes ingest` run steps."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

import dramatiq

from pipeline import step_metrics
from pipeline.embed_tasks import EmbeddingBacklog
from pipeline.farm import Farm
from pipeline.reconcile import Reconciler
from pipeline.registry import Announcer
from pipeline.rules.runner import RuleThread
from pipeline.webhooks.sender import WebhookThread
from pipeline.workflow import queue_of, with_needs
from rushes.heap import freeze_heap
from transcoders.ffmpeg import kill_all

log = logging.getLogger(__name__)
# An idle Redis consumer polls at most this often (each worker process has two per queue): 1 s keeps an idle
# farm's load on Redis small (about 60 commands/s a process instead of 600 at 100 ms) at the price of up to a
# second before an idle queue notices a new message. The in-process broker blocks instead of polling: 100 ms
# there is only how fast a stop is noticed.
IDLE_POLL_MS = 1000


class Workers:
    """Dramatiq worker threads in this process (every queue, or the ones named) plus a reconciler."""

    def __init__(self, farm: Farm, *, queues: Iterable[str] | None = None, threads: int | None = None,
                 resend_all_queued_first: bool = False) -> None:
        self.farm = farm
        self.queues = set(queues) if queues else set(farm.queues)
        self.worker = dramatiq.Worker(farm.broker, queues=set(queues) if queues else None,
                                      worker_threads=threads or farm.settings.worker_threads,
                                      worker_timeout=IDLE_POLL_MS if farm.settings.broker_url else 100)
        self.reconciler = Reconciler(farm, resend_all_queued_first=resend_all_queued_first)
        self.announcer = Announcer(farm, sorted(self.queues), threads or farm.settings.worker_threads,
                                   farm.settings.metrics_port)
        self.warmed = threading.Event()  # set once the models of this worker's steps are loaded (or failed to)
        # documents made after their version's embed step (metadata edits) and a changed model: embedded here
        embeds = "embed" in with_needs(farm.settings.steps) and queue_of("embed") in self.queues
        self.backlog = EmbeddingBacklog(farm) if embeds else None
        self.rules = RuleThread(farm)  # orchestration rules acting on events (one process a turn)
        self.webhooks = WebhookThread(farm)  # the outbox filled (one process a turn) and sent (by all)

    def start(self) -> None:
        if self.farm.settings.metrics_port:
            step_metrics.serve(self.farm.settings.metrics_port)
        self.worker.start()
        self.reconciler.start()
        self.announcer.start()
        if self.backlog is not None:
            self.backlog.start()
        self.rules.start()
        self.webhooks.start()
        threading.Thread(target=self._warm_up, name="warm-up", daemon=True).start()

    def _warm_up(self) -> None:
        from pipeline.analysis_tasks import warm_up

        try:
            settings = self.farm.settings
            planned = set(with_needs(settings.steps))
            warm_up({kind for kind in planned if queue_of(kind) in self.queues}, settings)
        except Exception:  # a model that cannot load fails its step later, with the reason
            log.warning("warming up the models failed", exc_info=True)
        finally:
            freeze_heap()  # the code and models loaded so far live as long as the worker
            self.warmed.set()

    def stop(self) -> None:
        if self.backlog is not None and self.backlog.is_alive():
            self.backlog.stop()
        if self.rules.is_alive():
            self.rules.stop()
        if self.webhooks.is_alive():
            self.webhooks.stop()
        self.reconciler.stop()
        self.announcer.stop()
        kill_all()  # a Dramatiq time limit cannot interrupt ffmpeg; we end it ourselves
        self.worker.stop(timeout=10_000)
