"""The running farm in one object: settings, catalog, broker and one Dramatiq actor per step kind.

Embedded (no ``broker_url``): a StubBroker and worker threads in this process.
Farm: a RedisBroker shared by every ``rushes worker`` process on every machine.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker
from sqlalchemy.orm import Session

from catalog.db import make_engine, migrate, reader_factory, session_factory, transaction
from catalog.metadata import SchemaSync
from catalog.metadata_files import ensure_folder, sync_folder
from pipeline.leases import process_name
from pipeline.workflow import QUEUES, queue_of, with_needs
from rushes.errors import ConfigError
from rushes.settings import Settings

log = logging.getLogger(__name__)
ACTOR_TIME_LIMIT_MS = 7 * 24 * 3600 * 1000  # ffmpeg has its own timeout; Dramatiq's cannot stop a subprocess


def make_broker(settings: Settings) -> dramatiq.Broker:
    if settings.broker_url:
        from dramatiq.brokers.redis import RedisBroker

        # Dramatiq gives a silent worker's prefetched messages back to the queue after heartbeat_timeout
        broker: dramatiq.Broker = RedisBroker(url=settings.broker_url, namespace=settings.broker_namespace,
                                              heartbeat_timeout=int(settings.worker_dead_after_s * 1000))
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
        self.name = process_name()  # this process in the farm: the prefix of every lease it takes
        settings.ensure_dirs()
        self.engine = make_engine(settings.db_url)
        if migrate_schema:
            migrate(self.engine)
        self.sessions = session_factory(self.engine)
        if migrate_schema:
            self.sync_metadata_schema()
            self.sync_rules()
        self.readers = reader_factory(self.engine)  # read-only work: never takes SQLite's write lock
        self.broker = make_broker(settings)
        self.actors: dict[str, dramatiq.Actor[Any, Any]] = {}
        self._declare_actors()
        self._nudges: dict[str, threading.Event] = {}  # this process's threads that want to hear of new events

    def _declare_actors(self) -> None:
        for queue in self.queues:
            def run(step_id: int, _farm: Farm = self) -> None:
                from pipeline.execute import execute_step  # the tasks load on first use, not in every command

                execute_step(_farm, step_id)

            self.actors[queue] = dramatiq.actor(
                broker=self.broker, actor_name=f"rushes.{queue}", queue_name=queue,
                max_retries=0, time_limit=ACTOR_TIME_LIMIT_MS,
            )(run)

    def sync_metadata_schema(self) -> SchemaSync | None:
        """Bring the catalog's metadata schema in line with its folder. A folder that does not hold (a typo in a
        file) is reported and the catalog keeps the schema in force: ingest and editing go on."""
        folder = self.settings.metadata_folder
        ensure_folder(folder)
        try:
            with self.transaction() as session:
                result = sync_folder(session, folder, actor="rushes")
        except ConfigError as exc:
            log.error("metadata schema not applied, the catalog keeps the one in force: %s", exc)
            return None
        if result.created:
            log.info("metadata schema version %s: %s", result.version, result.summary)
        return result

    def sync_rules(self, *, strict: bool = False) -> Any:
        """Bring the catalog's rules in line with the rules folder; a folder that does not hold is reported (raised
        when ``strict``) and the rules in force stay."""
        from catalog.metadata import schema_in_force
        from pipeline.rules.store import sync_rules

        try:
            with self.transaction() as session:
                state = schema_in_force(session)
                result = sync_rules(session, self.settings.rules_folder, state.schema if state else None)
        except ConfigError as exc:
            if strict:
                raise
            log.error("rules not applied, the rules in force stay: %s", exc)
            return None
        if result.added or result.retired:
            log.info("rules: %d new version(s) (%s), %d retired (%s), %d kept", len(result.added),
                     ", ".join(result.added), len(result.retired), ", ".join(result.retired), len(result.kept))
        return result

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

    def nudge(self) -> None:
        """Something happened in this process (a step finished, a version came in): the rule and webhook threads
        look now rather than at their next poll (other processes' threads still poll)."""
        for event in self._nudges.values():
            event.set()

    def nudged(self, name: str) -> threading.Event:
        return self._nudges.setdefault(name, threading.Event())

    def take_turn(self, task: str, every_s: float) -> bool:
        """True for one process of the farm at most every ``every_s`` (a Redis lock that expires by itself);
        always True on the in-process broker, which has one process."""
        from dramatiq.brokers.redis import RedisBroker

        if not isinstance(self.broker, RedisBroker):
            return True
        key = f"{self.broker.namespace}:__rushes__.turn.{task}"
        return bool(self.broker.client.set(key, self.name, nx=True, px=max(1, int(every_s * 1000))))

    def release_turn(self, task: str) -> None:
        """End this process's turn at ``task`` early (it finished), so the next pass need not wait for it."""
        from dramatiq.brokers.redis import RedisBroker

        if isinstance(self.broker, RedisBroker):
            key = f"{self.broker.namespace}:__rushes__.turn.{task}"
            if self.broker.client.get(key) == self.name.encode():
                self.broker.client.delete(key)

    def steps_in_broker(self) -> set[int] | None:
        """The steps the broker holds a live message for (waiting, delayed, or taken by a live worker).

        None when the broker cannot be looked into (the in-process broker, which loses messages only with
        its process). A message taken by a worker that stopped beating counts as lost: Dramatiq hands it
        back later, and its duplicate is dropped at claim.
        """
        from dramatiq.brokers.redis import RedisBroker

        if not isinstance(self.broker, RedisBroker):
            return None
        client, ns = self.broker.client, self.broker.namespace
        dead_after_ms = int(self.settings.worker_dead_after_s * 1000)
        now_ms = int(time.time() * 1000)  # Dramatiq stamps heartbeats with its workers' clocks
        dead = [w.decode() for w in client.zrangebyscore(f"{ns}:__heartbeats__", 0, now_ms - dead_after_ms)]
        steps: set[int] = set()
        for name in [name for queue in self.queues for name in (queue, f"{queue}.DQ")]:
            lost = {m for worker in dead for m in client.smembers(f"{ns}:__acks__.{worker}.{name}")}
            for message_id, data in client.hscan_iter(f"{ns}:{name}.msgs", count=1000):
                if message_id not in lost:
                    steps.add(int(dramatiq.Message.decode(data).args[0]))
        return steps

    def close(self) -> None:
        self.broker.close()
        self.engine.dispose()
