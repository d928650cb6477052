"""``rushes agents``: AI agents as users of role ``agent`` with a tool allowlist (read-only unless more is listed),
tools held for a person, a rate limit, and grants; the token is printed once."""

from __future__ import annotations

import click

from rushes.cli.base import cli_actor, main, open_farm


@main.group()
def agents() -> None:
    """Agents that call the MCP server (/mcp) within a policy."""


@agents.command("add")
@click.argument("name")
@click.option("--collection", "collections", multiple=True, help="a collection it may see (again for more)")
@click.option("--tool", "tools", multiple=True,
              help="a tool besides the read tools: suggest_metadata, suggest_tags, request_review, render, deliver")
@click.option("--hold", "hold", multiple=True, help="a tool whose calls wait for a person in the inbox")
@click.option("--per-minute", type=int, default=60, show_default=True, help="tool calls a minute at most")
@click.option("--token/--no-token", default=True, show_default=True, help="print a new API token for it")
@click.pass_context
def agents_add(ctx: click.Context, name: str, collections: tuple[str, ...], tools: tuple[str, ...],
               hold: tuple[str, ...], per_minute: int, token: bool) -> None:
    """Make an agent (or change its policy and add grants)."""
    from catalog.auth import create_token
    from pipeline.agents import make_agent, policy_of

    farm = open_farm(ctx)
    with farm.transaction() as session:
        user = make_agent(session, name, list(collections), list(tools), list(hold), per_minute, cli_actor())
        policy = policy_of(session, user)
        secret = create_token(session, user, label=f"agent {name}") if token else None
    farm.close()
    click.echo(f"agent {name}: tools {', '.join(policy.tools)}"
               + (f"; held for a person: {', '.join(policy.hold)}" if policy.hold else "")
               + f"; {policy.per_minute} calls a minute")
    if secret:
        click.echo(f"token (shown once): {secret}")
