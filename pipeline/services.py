"""The long-running parts and how each command starts them: embedded (`up`) or one role of a farm."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterable
from pathlib import Path

import dramatiq

from catalog.auth import create_token, ensure_user, has_admin
from pipeline.farm import Farm
from pipeline.reconcile import Reconciler
from pipeline.workflow import WORKFLOW, queue_of
from transcoders.ffmpeg import kill_all

log = logging.getLogger(__name__)


class Workers:
    """Dramatiq worker threads in this process (every queue, or the ones named) plus a reconciler."""

    def __init__(self, farm: Farm, *, queues: Iterable[str] | None = None, threads: int | None = None,
                 resend_all_queued_first: bool = False) -> None:
        self.farm = farm
        self.queues = set(queues) if queues else set(farm.queues)
        self.worker = dramatiq.Worker(farm.broker, queues=set(queues) if queues else None,
                                      worker_threads=threads or farm.settings.worker_threads,
                                      worker_timeout=100)  # ms: how fast idle threads notice a stop
        self.reconciler = Reconciler(farm, resend_all_queued_first=resend_all_queued_first)

    def start(self) -> None:
        self.worker.start()
        self.reconciler.start()
        threading.Thread(target=self._warm_up, name="warm-up", daemon=True).start()

    def _warm_up(self) -> None:
        from pipeline.analysis_tasks import warm_up

        try:
            settings = self.farm.settings
            planned = set(settings.steps or WORKFLOW)
            warm_up({kind for kind in planned if queue_of(kind) in self.queues}, settings)
        except Exception:  # a model that cannot load fails its step later, with the reason
            log.warning("warming up the models failed", exc_info=True)

    def stop(self) -> None:
        self.reconciler.stop()
        kill_all()  # a Dramatiq time limit cannot interrupt ffmpeg; we end it ourselves
        self.worker.stop(timeout=10_000)


def ensure_admin_token(farm: Farm) -> str | None:
    """On the first start, create user 'admin' with a token, keep it in <data>/admin.token, return it."""
    with farm.transaction() as session:
        if has_admin(session):
            return None
        token = create_token(session, ensure_user(session, "admin", "admin"), label="first start")
    path = farm.settings.data / "admin.token"
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(token + "\n", encoding="utf-8")
    return token


def wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(1.0):
        pass


def serve_api(farm: Farm, host: str, port: int, log_level: str = "info") -> None:
    import uvicorn

    from api.app import create_app

    uvicorn.run(create_app(farm), host=host, port=port, log_level=log_level, access_log=False)


def admin_token_hint(farm: Farm, token: str | None) -> str:
    path: Path = farm.settings.data / "admin.token"
    if token:
        return f"admin token (shown once, also in {path}): {token}"
    return f"admin token: in {path} (made on first start); more with 'rushes token create'"
