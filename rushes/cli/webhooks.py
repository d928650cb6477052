"""``rushes webhooks``: subscriptions (the secret is printed once, when one is made), the delivery log, replays."""

from __future__ import annotations

import json
from typing import Any

import click

from rushes.cli.base import cli_actor, main, open_farm


@main.group()
def webhooks() -> None:
    """Webhook subscriptions: signed POSTs of the farm's events to other systems."""


def _schema(session: Any) -> Any:
    from catalog.metadata import schema_in_force

    state = schema_in_force(session)
    return state.schema if state else None


@webhooks.command("list")
@click.pass_context
def webhooks_list(ctx: click.Context) -> None:
    """Every subscription, enabled or not (and why not)."""
    from pipeline.webhooks.subscriptions import all_webhooks

    farm = open_farm(ctx)
    with farm.sessions() as session:
        for row in all_webhooks(session):
            state = "enabled" if row.enabled else f"DISABLED ({row.disabled_reason})"
            click.echo(f"{row.name}: {row.url} on {', '.join(row.events)}"
                       + (f" if {row.filter}" if row.filter else "") + f" — {state}")
    farm.close()


@webhooks.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--event", "events", multiple=True, required=True,
              help="an event type (version.ready, metadata.changed, …); give it again for more")
@click.option("--filter", "filter_", default=None, help="a CEL condition over the event's asset")
@click.pass_context
def webhooks_add(ctx: click.Context, name: str, url: str, events: tuple[str, ...], filter_: str | None) -> None:
    """Subscribe URL to events; prints the signing secret — the only time it is shown."""
    from pipeline.webhooks.subscriptions import create_webhook

    farm = open_farm(ctx)
    with farm.transaction() as session:
        _row, secret = create_webhook(session, name, url, list(events), filter_, cli_actor(), _schema(session))
    farm.close()
    click.echo(f"webhook {name} made; its signing secret (shown this once):\n{secret}")


@webhooks.command("change")
@click.argument("name")
@click.option("--url", default=None)
@click.option("--event", "events", multiple=True, help="the event types from now on (replaces them)")
@click.option("--filter", "filter_", default=None, help="a CEL condition; '' removes it")
@click.option("--enable/--disable", "enabled", default=None, help="enabling sends what waits for it again")
@click.pass_context
def webhooks_change(ctx: click.Context, name: str, url: str | None, events: tuple[str, ...], filter_: str | None,
                    enabled: bool | None) -> None:
    """Change a subscription."""
    from pipeline.webhooks.subscriptions import change_webhook

    farm = open_farm(ctx)
    with farm.transaction() as session:
        change_webhook(session, name, cli_actor(), _schema(session), url=url, events=list(events) or None,
                       filter_=filter_, enabled=enabled)
    farm.close()
    click.echo(f"webhook {name} changed")


@webhooks.command("remove")
@click.argument("name")
@click.pass_context
def webhooks_remove(ctx: click.Context, name: str) -> None:
    """Remove a subscription and its delivery log."""
    from pipeline.webhooks.subscriptions import remove_webhook

    farm = open_farm(ctx)
    with farm.transaction() as session:
        remove_webhook(session, name, cli_actor())
    farm.close()
    click.echo(f"webhook {name} removed")


@webhooks.command("deliveries")
@click.argument("name")
@click.option("--status", type=click.Choice(["pending", "delivered", "failed"]), default=None)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def webhooks_deliveries(ctx: click.Context, name: str, status: str | None, limit: int, as_json: bool) -> None:
    """The delivery log, newest first: each try's status code."""
    from pipeline.webhooks.subscriptions import deliveries

    farm = open_farm(ctx)
    with farm.sessions() as session:
        found = deliveries(session, name, status, limit)
    farm.close()
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    for item in found:
        tries = ", ".join(str(t["status_code"] or t["error"]) for t in item["log"]) or "not tried yet"
        click.echo(f"{item['id']} {item['created_at']} {item['type']} ×{item['count']} {item['status']}: {tries}")


@webhooks.command("replay")
@click.argument("name")
@click.argument("delivery_id", type=int)
@click.pass_context
def webhooks_replay(ctx: click.Context, name: str, delivery_id: int) -> None:
    """Send a delivery again (the same event id and body) with the next pass."""
    from pipeline.webhooks.subscriptions import replay

    farm = open_farm(ctx)
    with farm.transaction() as session:
        replay(session, name, delivery_id, cli_actor())
    farm.close()
    click.echo(f"webhook {name} delivery {delivery_id} will be sent again")
