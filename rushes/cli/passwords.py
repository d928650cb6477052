"""``rushes users password|invite|unlock``: people's passwords from the command line (audited as ``cli:<login>``)."""

from __future__ import annotations

import click

from rushes.cli.access import users
from rushes.cli.base import cli_actor, open_farm


@users.command("password")
@click.argument("name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="the new password (asked for when not given; at least 10 characters)")
@click.pass_context
def users_password(ctx: click.Context, name: str, password: str) -> None:
    """Set NAME's password (their browser sessions end, a lock is lifted)."""
    from catalog.auth import user_named
    from catalog.passwords import set_password

    with open_farm(ctx).transaction() as session:
        set_password(session, user_named(session, name), password, by=cli_actor(), role="admin")
    click.echo(f"{name}: password set")


@users.command("invite")
@click.argument("name")
@click.option("--reset", is_flag=True, help="a reset link (24 hours) rather than an invitation (7 days)")
@click.option("--base-url", default="http://127.0.0.1:8000", show_default=True, help="where people reach Rushes")
@click.pass_context
def users_invite(ctx: click.Context, name: str, reset: bool, base_url: str) -> None:
    """Print a one-time link for NAME to set their password (shown once)."""
    from catalog.auth import user_named
    from catalog.passwords import make_link

    with open_farm(ctx).transaction() as session:
        secret, expires = make_link(session, user_named(session, name), "reset" if reset else "invite",
                                    by=cli_actor(), role="admin")
    click.echo(f"{base_url.rstrip('/')}/login/password?link={secret}")
    click.echo(f"(valid until {expires:%Y-%m-%d %H:%M} UTC, once)", err=True)


@users.command("unlock")
@click.argument("name")
@click.pass_context
def users_unlock(ctx: click.Context, name: str) -> None:
    """Unlock NAME's account after failed sign-ins."""
    from catalog.auth import user_named
    from catalog.passwords import unlock

    with open_farm(ctx).transaction() as session:
        unlock(session, user_named(session, name), by=cli_actor(), role="admin")
    click.echo(f"{name}: unlocked")
