"""A consumer's feed of new events (the rule runner's, the webhook outbox's): where it got to is kept in the
catalog (``rule_cursors``, by name), so it goes on from there after a restart; events are read again for two
minutes after their moment (a row committed late by another process is not missed) and what this process has
handled is not handed out twice. A schedule's tick is read once: its cursor moves past it when it is done."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import islice

from sqlalchemy.orm import Session, sessionmaker

from catalog.db import transaction
from catalog.models import RuleCursor
from pipeline.rules.events import Event, events

LOOKBACK = timedelta(minutes=2)
BATCH = 2000


class EventFeed:
    def __init__(self, sessions: sessionmaker[Session], prefix: str = "") -> None:
        self.sessions, self.prefix = sessions, prefix  # prefix: whose cursors ("" the rules', "webhooks:")
        self.seen: dict[tuple[str, str], datetime] = {}  # (source, event key) → its moment

    def take(self, source: str, trigger: str, option: str | None, floor: datetime, now: datetime,
             limit: int = BATCH) -> list[Event]:
        """Up to ``limit`` events of ``trigger`` not handled yet, from ``floor`` at the earliest, up to ``now``."""
        with self.sessions() as session:
            cursor = session.get(RuleCursor, self.prefix + source)
            start = floor
            if cursor is not None:
                start = max(floor, cursor.at + (timedelta(microseconds=1) if trigger == "schedule" else -LOOKBACK))
            return list(islice((e for e in events(session, trigger, start, now, option)
                                if (source, e.key) not in self.seen), limit))

    def handled(self, source: str, event: Event) -> None:
        self.seen[(source, event.key)] = event.at

    def done(self, source: str, trigger: str, found: list[Event], limit: int = BATCH) -> None:
        """Every event of ``found`` is handled: the cursor moves on to the newest (a schedule's, when its tick is
        all done)."""
        for event in found:
            self.handled(source, event)
        if not found or (trigger == "schedule" and len(found) >= limit):
            return
        newest = max(event.at for event in found)
        with transaction(self.sessions) as session:
            cursor = session.get(RuleCursor, self.prefix + source)
            if cursor is None:
                session.add(RuleCursor(trigger=self.prefix + source, at=newest))
            elif newest > cursor.at:
                cursor.at = newest
        horizon = newest - LOOKBACK
        self.seen = {key: at for key, at in self.seen.items() if key[0] != source or at >= horizon}
