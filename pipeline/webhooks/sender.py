"""The sender: POSTs the outbox's due deliveries, signed (``delivery/webhook_post.py``), eight at a time over
kept-alive connections, from every worker process. A delivery is **claimed** before it is sent (its next try moved a
lease ahead, its attempt counted, only if no other process claimed it first), so two processes never send it at
once and one that dies mid-send leaves it to be sent again when the lease ends: at least once, never lost.

A 2xx delivers it. Anything else — a refusal, a timeout, a 500 — is logged with its status code and tried again
after 10 s, 20 s, 40 s … (at most an hour apart) up to ``webhook_max_attempts``; then it is ``failed`` (replay sends it
again). A subscription whose tries fail ``webhook_disable_after`` times in a row is disabled with the reason
(audited); its waiting deliveries wait for it to be enabled again.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from catalog.audit import record
from catalog.db import transaction
from catalog.models import Webhook, WebhookDelivery, utcnow
from delivery.webhook_post import Attempt, post
from pipeline.loops import FarmLoop
from pipeline.webhooks.outbox import Outbox
from rushes.settings import Settings

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)  # a claimed delivery is tried again after this if its sender died
AT_ONCE = 8
PER_PASS = 64


def backoff(attempts: int, first_s: float = 10.0) -> timedelta:
    return timedelta(seconds=min(3600.0, first_s * 2 ** max(0, attempts - 1)))


class Sender:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self.sessions, self.settings = sessions, settings
        self.client = httpx.Client(limits=httpx.Limits(max_connections=AT_ONCE * 2,
                                                       max_keepalive_connections=AT_ONCE * 2))
        self.pool = ThreadPoolExecutor(AT_ONCE, thread_name_prefix="webhook-post")

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.client.close()

    def send_pass(self, now: datetime | None = None) -> int:
        """Send the due deliveries this process could claim (at most ``PER_PASS``); how many were tried."""
        now = now or utcnow()
        claimed = self._claim(now)
        if not claimed:
            return 0
        timeout = self.settings.webhook_timeout_s
        tries = list(self.pool.map(lambda c: post(self.client, c["url"], c["event_id"], c["type"], c["body"],
                                                  c["secret"], timeout), claimed))
        self._record(claimed, tries, now)
        return len(claimed)

    def _claim(self, now: datetime) -> list[dict[str, Any]]:
        claimed = []
        with transaction(self.sessions) as session:
            rows = session.execute(
                select(WebhookDelivery.id, WebhookDelivery.attempts, WebhookDelivery.event_id, WebhookDelivery.type,
                       WebhookDelivery.body, Webhook.url, Webhook.secret)
                .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
                .where(WebhookDelivery.status == "pending", WebhookDelivery.next_at <= now,
                       Webhook.enabled.is_(True))
                .order_by(WebhookDelivery.next_at, WebhookDelivery.id).limit(PER_PASS)).all()
            for row in rows:
                taken = session.execute(update(WebhookDelivery).where(
                    WebhookDelivery.id == row.id, WebhookDelivery.attempts == row.attempts,
                    WebhookDelivery.status == "pending").values(attempts=row.attempts + 1, next_at=now + LEASE))
                if taken.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append({"id": row.id, "event_id": row.event_id, "type": row.type,
                                    "body": row.body.encode(), "url": row.url, "secret": row.secret})
        return claimed

    def _record(self, claimed: list[dict[str, Any]], tries: list[Attempt], now: datetime) -> None:
        limit, disable_after = self.settings.webhook_max_attempts, self.settings.webhook_disable_after
        with transaction(self.sessions) as session:
            for item, attempt in zip(claimed, tries, strict=True):
                delivery = session.get(WebhookDelivery, item["id"])
                if delivery is None:  # its subscription was removed meanwhile
                    continue
                hook = session.get(Webhook, delivery.webhook_id)
                assert hook is not None
                delivery.log = [*delivery.log, {"at": utcnow().isoformat(), "status_code": attempt.status_code,
                                                "error": attempt.error, "ms": attempt.ms}][-20:]
                if attempt.ok:
                    delivery.status, delivery.delivered_at = "delivered", utcnow()
                    hook.failures = 0
                    continue
                hook.failures += 1
                if delivery.attempts >= limit:
                    delivery.status = "failed"
                else:
                    delivery.next_at = now + backoff(delivery.attempts)
                if hook.enabled and hook.failures >= disable_after:
                    hook.enabled = False
                    hook.disabled_reason = (f"disabled after {hook.failures} failed tries in a row; "
                                            f"the last: {attempt.error}")[:2000]
                    record(session, actor="webhooks", action="webhook change",
                           subject=f"webhook {hook.name} disabled", detail=hook.disabled_reason)
                    log.warning("webhook %s: %s", hook.name, hook.disabled_reason)


class WebhookThread(FarmLoop):
    """In each worker process: the outbox filled by one process a turn, the due deliveries sent by all."""

    EVERY_S = 1.0

    def __init__(self, farm: Any) -> None:
        super().__init__(farm, "webhooks")
        self.outbox = Outbox(farm.sessions, farm.settings)
        self.sender = Sender(farm.sessions, farm.settings)

    def step(self) -> None:
        if self.farm.take_turn("webhooks", 60.0):
            try:
                self.outbox.fill()
            finally:
                self.farm.release_turn("webhooks")
        while self.sender.send_pass() == PER_PASS and not self._halt.is_set():
            pass

    def stop(self) -> None:
        super().stop()
        self.sender.close()
