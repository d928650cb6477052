"""The running farm in one object: settings, catalog, broker and one Dramatiq actor per step kind.

Embedded (no ``broker_url``): a StubBroker and worker threads in this process.
Farm: a RedisBroker shared by every ``rushes worker`` process on every machine.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker
from sqlalchemy.orm import Session

from catalog.db import make_engine, migrate, session_factory, transaction
from pipeline.workflow import QUEUES, queue_of, with_needs
from rushes.errors import ConfigError
from rushes.settings import Settings

log = logging.getLogger(__name__)
ACTOR_TIME_LIMIT_MS = 7 * 24 * 3600 * 1000  # ffmpeg has its own timeout; Dramatiq's cannot stop a subprocess


def make_broker(settings: Settings) -> dramatiq.Broker:
    if settings.broker_url:
        from dramatiq.brokers.redis import RedisBroker

        broker: dramatiq.Broker = RedisBroker(url=settings.broker_url, namespace=settings.broker_namespace)
    else:
        broker = StubBroker()
    return broker


class Farm:
    """What every process of Rushes holds: open it once, pass it down."""

    def __init__(self, settings: Settings, *, migrate_schema: bool = True) -> None:
        try:  # RUSHES_STEPS names steps of the workflow: say so at start, not at the first file
            with_needs(settings.steps)
        except ValueError as exc:
            raise ConfigError(f"RUSHES_STEPS: {exc}") from exc
        self.settings = settings
        settings.ensure_dirs()
        self.engine = make_engine(settings.db_url)
        if migrate_schema:
            migrate(self.engine)
        self.sessions = session_factory(self.engine)
        self.broker = make_broker(settings)
        self.actors: dict[str, dramatiq.Actor[Any, Any]] = {}
        self._declare_actors()

    def _declare_actors(self) -> None:
        for queue in self.queues:
            def run(step_id: int, _farm: Farm = self) -> None:
                from pipeline.execute import execute_step  # the tasks load on first use, not in every command

                execute_step(_farm, step_id)

            self.actors[queue] = dramatiq.actor(
                broker=self.broker, actor_name=f"rushes.{queue}", queue_name=queue,
                max_retries=0, time_limit=ACTOR_TIME_LIMIT_MS,
            )(run)

    @property
    def queues(self) -> list[str]:
        return list(QUEUES)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with transaction(self.sessions) as session:
            yield session

    def send(self, messages: list[tuple[int, str]], delay_ms: int | None = None) -> None:
        """Enqueue (step id, kind) pairs; call only after the transaction that queued them committed."""
        for step_id, kind in messages:
            self.actors[queue_of(kind)].send_with_options(args=(step_id,), delay=delay_ms)
            log.debug("sent step %s (%s)", step_id, kind)

    def close(self) -> None:
        self.broker.close()
        self.engine.dispose()
