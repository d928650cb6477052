"""Webhook subscriptions: which events (the rule triggers' names), an optional filter (a CEL condition over the
event's asset, as a rule reads it), where to POST, and a secret shown once when the subscription is made.
Every change is audited (``webhook change``); the delivery log can be read and a delivery sent again."""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.audit import record
from catalog.metadata_schema import Schema
from catalog.models import Webhook, WebhookDelivery, utcnow
from pipeline.rules.conditions import compile_condition
from pipeline.rules.files import TRIGGERS
from rushes.errors import InvalidInput, NotFound

#: what a subscription can ask for: every rule trigger but the schedule (rights.expiring: 14 days ahead)
EVENT_TYPES = tuple(t for t in TRIGGERS if t != "schedule")
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


def _checked(url: str | None, events: list[str] | None, filter_: str | None, schema: Schema | None) -> None:
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput(f"url {url!r}: an http:// or https:// address")
    if events is not None:
        if not events:
            raise InvalidInput(f"events: at least one of {', '.join(EVENT_TYPES)}")
        unknown = [e for e in events if e not in EVENT_TYPES]
        if unknown:
            raise InvalidInput(f"unknown event type {', '.join(unknown)} (allowed: {', '.join(EVENT_TYPES)})")
    if filter_:
        try:
            compile_condition(filter_, schema)
        except InvalidInput as exc:
            raise InvalidInput(f"filter: {exc}") from None


def create_webhook(session: Session, name: str, url: str, events: list[str], filter_: str | None, by: str,
                   schema: Schema | None) -> tuple[Webhook, str]:
    """A new subscription and its secret (the only time the secret is shown)."""
    if not NAME.match(name):
        raise InvalidInput(f"name {name!r}: lower-case letters, digits, '-', '_' and '.' (at most 64)")
    _checked(url, events, filter_, schema)
    if session.scalar(select(Webhook.id).where(Webhook.name == name)) is not None:
        raise InvalidInput(f"a webhook named {name!r} exists already")
    secret = "whsec_" + secrets.token_urlsafe(32)
    row = Webhook(name=name, url=url, events=list(dict.fromkeys(events)), filter=filter_ or None, secret=secret,
                  enabled=True, failures=0, created_by=by, created_at=utcnow(), since=utcnow())
    session.add(row)
    session.flush()
    record(session, actor=by, action="webhook change", subject=f"webhook {name} made",
           detail=f"{url} on {', '.join(row.events)}" + (f" if {filter_}" if filter_ else ""))
    return row, secret


def all_webhooks(session: Session) -> list[Webhook]:
    return list(session.scalars(select(Webhook).order_by(Webhook.name)))


def webhook_named(session: Session, name: str) -> Webhook:
    row = session.scalar(select(Webhook).where(Webhook.name == name))
    if row is None:
        raise NotFound(f"no webhook named {name!r}")
    return row


def change_webhook(session: Session, name: str, by: str, schema: Schema | None, *, url: str | None = None,
                   events: list[str] | None = None, filter_: str | None = None,
                   enabled: bool | None = None) -> Webhook:
    """Change what is given; enabling a disabled subscription clears its failures (its waiting deliveries go)."""
    row = webhook_named(session, name)
    _checked(url, events, filter_, schema)
    said = []
    if url is not None:
        row.url = url
        said.append(f"url {url}")
    if events is not None:
        row.events = list(dict.fromkeys(events))
        said.append(f"events {', '.join(row.events)}")
    if filter_ is not None:
        row.filter = filter_ or None
        said.append(f"filter {filter_ or '(none)'}")
    if enabled is not None and enabled != row.enabled:
        row.enabled, row.failures, row.disabled_reason = enabled, 0, None
        if enabled:
            row.since = utcnow()  # events while it was off were not kept for it
        said.append("enabled" if enabled else "disabled")
    record(session, actor=by, action="webhook change", subject=f"webhook {name} changed", detail="; ".join(said))
    return row


def remove_webhook(session: Session, name: str, by: str) -> None:
    row = webhook_named(session, name)
    session.delete(row)
    record(session, actor=by, action="webhook change", subject=f"webhook {name} removed", detail=row.url)


def webhook_view(row: Webhook) -> dict[str, Any]:
    return {"name": row.name, "url": row.url, "events": row.events, "filter": row.filter, "enabled": row.enabled,
            "disabled_reason": row.disabled_reason, "failures_in_a_row": row.failures,
            "created_by": row.created_by, "created_at": row.created_at.isoformat()}


def delivery_view(row: WebhookDelivery) -> dict[str, Any]:
    return {"id": row.id, "event_id": row.event_id, "type": row.type, "count": row.count, "status": row.status,
            "attempts": row.attempts, "next_at": row.next_at.isoformat() if row.status == "pending" else None,
            "created_at": row.created_at.isoformat(),
            "delivered_at": row.delivered_at.isoformat() if row.delivered_at else None, "log": row.log}


def deliveries(session: Session, name: str, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The newest deliveries of a subscription first (``status``: pending, delivered, failed)."""
    row = webhook_named(session, name)
    query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == row.id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    return [delivery_view(d) for d in session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit))]


def replay(session: Session, name: str, delivery_id: int, by: str) -> WebhookDelivery:
    """Send a delivery again (the same event id and body: receivers dedupe), now."""
    row = webhook_named(session, name)
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.webhook_id != row.id:
        raise NotFound(f"webhook {name} has no delivery {delivery_id}")
    delivery.status, delivery.attempts, delivery.next_at = "pending", 0, utcnow()
    record(session, actor=by, action="webhook replay", subject=f"webhook {name} delivery {delivery_id}",
           detail=f"{delivery.type}, {delivery.count} event(s), id {delivery.event_id}")
    return delivery
