"""The outbox: the events each subscription asked for, put in the catalog as deliveries before anything is sent,
so a worker that dies loses nothing (the sender picks them up). The events of one type found in one pass go out as
**one** delivery per subscription (up to 500 events in it): a bulk change — 800 assets tagged, a sheet of metadata
imported — is a handful of POSTs, not one per asset. An event is put in a subscription's outbox once
(``webhook_events``), however often it is looked at.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from catalog.db import transaction
from catalog.metadata import schema_in_force
from catalog.models import Webhook, WebhookDelivery, WebhookEvent, utcnow
from pipeline.rules.conditions import Condition, ConditionError, compile_condition
from pipeline.rules.events import Event
from pipeline.rules.facts import event_contexts
from pipeline.rules.feed import EventFeed
from rushes.errors import InvalidInput
from rushes.settings import Settings

COALESCE = 500  # events in one delivery at most
EXPIRING = "14d"  # how far ahead rights.expiring looks for a subscription


class Outbox:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self.sessions, self.settings = sessions, settings
        self.feed = EventFeed(sessions, prefix="webhooks:")

    def fill(self, now: datetime | None = None) -> int:
        """Put the new events in the outboxes of the subscriptions that want them; how many deliveries were made."""
        now = now or utcnow()
        with self.sessions() as session:
            hooks = list(session.scalars(select(Webhook).where(Webhook.enabled.is_(True))))
            session.expunge_all()
        made = 0
        for trigger in sorted({t for hook in hooks for t in hook.events}):
            subscribed = [hook for hook in hooks if trigger in hook.events]
            option = EXPIRING if trigger == "rights.expiring" else None
            source = f"{trigger}:{option}" if option else trigger
            found = self.feed.take(source, trigger, option, min(hook.since for hook in subscribed), now)
            if found:
                made += self._queue(trigger, subscribed, found)
            self.feed.done(source, trigger, found)
        return made

    def _queue(self, trigger: str, hooks: list[Webhook], found: list[Event]) -> int:
        contexts: dict[str, Any] = {}
        made = 0
        with self.sessions() as session:
            state = schema_in_force(session)
            schema = state.schema if state else None
            wanted: dict[int, list[Event]] = {}
            filters = {hook.id: _filter(hook, schema) for hook in hooks}
            if any(c is not None for c in filters.values()):  # the facts read a batch at a time, once for all
                contexts = event_contexts(session, found, schema, self.settings.tag_min_confidence)
            for hook in hooks:
                condition = filters[hook.id]
                wanted[hook.id] = [e for e in found if e.at >= hook.since and (
                    condition is None or _passes(condition, e, contexts))]
        for hook in hooks:
            events = wanted[hook.id]
            if not events:
                continue
            with transaction(self.sessions) as session:
                made += queue_events(session, hook, trigger, events)
        return made


def _passes(condition: Condition, event: Event, contexts: dict[str, Any]) -> bool:
    if event.key not in contexts:
        return False
    try:
        return condition.holds(contexts[event.key])
    except ConditionError:
        return True  # a filter that cannot be answered lets the event through: never lost silently


def _filter(hook: Webhook, schema: Any) -> Condition | None:
    if not hook.filter:
        return None
    try:
        return compile_condition(hook.filter, schema)
    except InvalidInput:  # the schema changed under it: the events go (a receiver can ignore; a loss is silent)
        return None


def _key(event: Event) -> str:
    """An event's key among every trigger's (a version's key is the same for version.new and version.ready)."""
    return f"{event.trigger}/{event.key}"


def queue_events(session: Session, hook: Webhook, trigger: str, events: list[Event],
                 extra: dict[str, Any] | None = None) -> int:
    """Put ``events`` (those not put before) in ``hook``'s outbox, up to 500 a delivery; how many deliveries."""
    keys = [_key(e) for e in events]
    put: set[str] = set()
    for start in range(0, len(keys), 500):
        put.update(session.scalars(select(WebhookEvent.event_key).where(
            WebhookEvent.webhook_id == hook.id, WebhookEvent.event_key.in_(keys[start:start + 500]))))
    events = [e for e in events if _key(e) not in put]
    for start in range(0, len(events), COALESCE):
        _delivery(session, hook, trigger, events[start:start + COALESCE], extra or {})
    return (len(events) + COALESCE - 1) // COALESCE


def _delivery(session: Session, hook: Webhook, trigger: str, events: list[Event], extra: dict[str, Any]) -> None:
    event_id = str(uuid.uuid4())
    now = utcnow()
    body = json.dumps({
        "id": event_id, "type": trigger, "webhook": hook.name, **extra, "created_at": now.isoformat(),
        "count": len(events),
        "events": [{"key": e.key, "type": e.trigger, "at": e.at.isoformat(), "asset_id": e.asset_id,
                    "version_id": e.version_id, **e.data} for e in events]}, ensure_ascii=False, default=str)
    delivery = WebhookDelivery(webhook_id=hook.id, event_id=event_id, type=trigger, count=len(events), body=body,
                               status="pending", attempts=0, next_at=now, log=[], created_at=now)
    session.add(delivery)
    session.flush()
    session.add_all([WebhookEvent(webhook_id=hook.id, event_key=_key(e), delivery_id=delivery.id, at=now)
                     for e in events])
