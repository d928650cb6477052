"""Webhook subscriptions through the API (``manage_webhooks``): make one (its secret is in this answer only),
list, change (enable again after it was disabled), remove, read its delivery log, send a delivery again."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import DB, CanManageWebhooks, ReadDB
from catalog.metadata import schema_in_force
from pipeline.webhooks.subscriptions import (
    EVENT_TYPES,
    all_webhooks,
    change_webhook,
    create_webhook,
    deliveries,
    delivery_view,
    remove_webhook,
    replay,
    webhook_named,
    webhook_view,
)

router = APIRouter(prefix="/api/v1/admin/webhooks", tags=["webhooks"])


class WebhookRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=64)
    url: str = Field(max_length=2000)
    events: list[str] = Field(min_length=1, max_length=20)
    filter: str | None = Field(None, max_length=4000, description="a CEL condition over the event's asset")


class WebhookChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(None, max_length=2000)
    events: list[str] | None = Field(None, min_length=1, max_length=20)
    filter: str | None = Field(None, max_length=4000, description="'' removes the filter")
    enabled: bool | None = None


def _schema(session: Any) -> Any:
    state = schema_in_force(session)
    return state.schema if state else None


@router.get("", summary="Webhook subscriptions (no secrets) and the event types there are")
def list_webhooks(session: ReadDB, user: CanManageWebhooks) -> dict[str, Any]:
    return {"webhooks": [webhook_view(w) for w in all_webhooks(session)], "event_types": list(EVENT_TYPES)}


@router.post("", status_code=201, summary="Make a subscription; the answer holds its secret, shown this once")
def make_webhook(body: WebhookRequest, session: DB, user: CanManageWebhooks) -> dict[str, Any]:
    row, secret = create_webhook(session, body.name, body.url, body.events, body.filter, user.name, _schema(session))
    return {**webhook_view(row), "secret": secret}


@router.patch("/{name}", summary="Change a subscription (enabled: true sends what waits for it again)")
def patch_webhook(name: str, body: WebhookChange, session: DB, user: CanManageWebhooks) -> dict[str, Any]:
    row = change_webhook(session, name, user.name, _schema(session), url=body.url, events=body.events,
                         filter_=body.filter, enabled=body.enabled)
    return webhook_view(row)


@router.delete("/{name}", status_code=204, summary="Remove a subscription and its delivery log")
def delete_webhook(name: str, session: DB, user: CanManageWebhooks) -> None:
    remove_webhook(session, name, user.name)


@router.get("/{name}/deliveries", summary="The delivery log, newest first: each try's status code and time")
def webhook_deliveries(name: str, session: ReadDB, user: CanManageWebhooks,
                       status: Annotated[str | None, Query(pattern="^(pending|delivered|failed)$")] = None,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    return {"webhook": webhook_view(webhook_named(session, name)), "deliveries": deliveries(session, name, status,
                                                                                            limit)}


@router.post("/{name}/deliveries/{delivery_id}/replay", summary="Send a delivery again (same event id and body)")
def replay_delivery(name: str, delivery_id: int, session: DB, user: CanManageWebhooks) -> dict[str, Any]:
    return delivery_view(replay(session, name, delivery_id, user.name))
