"""`rushes users …`, `tokens …`, `token create`, `audit …`: people, grants, API tokens and the audit trail.

Every change is written to the audit trail with the actor ``cli:<login name>``.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

import click
from sqlalchemy import select

from catalog.models import ROLES, Token, User, utcnow
from catalog.permissions import PEOPLE
from rushes.cli.base import audit_change, cli_actor, main, open_farm
from rushes.errors import NotFound


@main.group()
def users() -> None:
    """People and their roles, and what they may see (grants)."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(PEOPLE), required=True)
@click.pass_context
def users_add(ctx: click.Context, name: str, role: str) -> None:
    """Create NAME with ROLE (or change their role)."""
    from catalog.auth import ensure_user

    with open_farm(ctx).transaction() as session:
        ensure_user(session, name, role)
        audit_change(session, f"user {name}: role {role}")
    click.echo(f"{name}: {role}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def users_list(ctx: click.Context, as_json: bool) -> None:
    """Every user with role, state and grants."""
    from catalog.auth import grants_of

    with open_farm(ctx).sessions() as session:
        rows: list[dict[str, Any]] = [{"name": u.name, "role": u.role, "disabled": u.disabled_at is not None,
                 "grants": grants_of(session, u)} for u in session.scalars(select(User).order_by(User.name))]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        grants = ", ".join(g["collection"] or f"asset {g['asset_id']}" for g in row["grants"]) or "none"
        state = " (disabled)" if row["disabled"] else ""
        click.echo(f"{row['name']:<20} {row['role']:<9}{state} grants: {grants}")


@users.command("disable")
@click.argument("name")
@click.pass_context
def users_disable(ctx: click.Context, name: str) -> None:
    """Stop NAME's tokens and browser sessions at once."""
    _set_disabled(ctx, name, True)


@users.command("enable")
@click.argument("name")
@click.pass_context
def users_enable(ctx: click.Context, name: str) -> None:
    """Let NAME's live tokens work again."""
    _set_disabled(ctx, name, False)


def _set_disabled(ctx: click.Context, name: str, disabled: bool) -> None:
    from catalog.auth import set_disabled, user_named

    with open_farm(ctx).transaction() as session:
        set_disabled(session, user_named(session, name), disabled)
        audit_change(session, f"user {name}: {'disabled' if disabled else 'enabled'}")
    click.echo(f"{name}: {'disabled' if disabled else 'enabled'}")


@users.command("grant")
@click.argument("name")
@click.option("--collection", default=None, help="a collection (made when new)")
@click.option("--asset", "asset_id", type=int, default=None, help="one asset, by id")
@click.pass_context
def users_grant(ctx: click.Context, name: str, collection: str | None, asset_id: int | None) -> None:
    """Let NAME see and act on a collection or one asset."""
    from catalog.auth import grant, user_named

    with open_farm(ctx).transaction() as session:
        grant(session, user_named(session, name), collection=collection, asset_id=asset_id, by=cli_actor())
        audit_change(session, f"granted {name} " + (f"collection {collection}" if collection else f"asset {asset_id}"),
               asset_id)
    click.echo(f"{name} may now act on " + (f"collection {collection}" if collection else f"asset {asset_id}"))


@users.command("revoke")
@click.argument("name")
@click.option("--collection", default=None)
@click.option("--asset", "asset_id", type=int, default=None)
@click.pass_context
def users_revoke(ctx: click.Context, name: str, collection: str | None, asset_id: int | None) -> None:
    """Take a grant away from NAME."""
    from catalog.auth import revoke_grant, user_named

    if (collection is None) == (asset_id is None):
        raise click.UsageError("give --collection or --asset")
    with open_farm(ctx).transaction() as session:
        gone = revoke_grant(session, user_named(session, name), collection=collection, asset_id=asset_id)
        if gone:
            audit_change(session, f"revoked {name}'s " + (f"collection {collection}" if collection else
                                                      f"asset {asset_id}"), asset_id)
    if not gone:
        raise NotFound(f"{name} has no such grant")
    click.echo("revoked")


@main.group()
def tokens() -> None:
    """API tokens: hashed in the catalog, shown once, revocable, with an optional expiry."""


@tokens.command("create")
@click.option("--user", "user_name", required=True)
@click.option("--role", type=click.Choice(ROLES), default=None,
              help="create the user with this role (or change it)")
@click.option("--label", default=None)
@click.option("--expires-in-days", type=click.FloatRange(min=0, min_open=True), default=None)
@click.pass_context
def tokens_create(ctx: click.Context, user_name: str, role: str | None, label: str | None,
                  expires_in_days: float | None) -> None:
    """Print a new token for USER (only its hash is kept)."""
    from catalog.auth import create_token, ensure_user, user_named

    expires = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    with open_farm(ctx).transaction() as session:
        user = ensure_user(session, user_name, role) if role else user_named(session, user_name)
        secret = create_token(session, user, label=label, expires_at=expires)
        audit_change(session, f"token for {user_name}" + (f", expires {expires:%Y-%m-%d %H:%M}" if expires else ""))
    click.echo(secret)


@tokens.command("list")
@click.option("--user", "user_name", default=None)
@click.pass_context
def tokens_list(ctx: click.Context, user_name: str | None) -> None:
    """Tokens (never their secrets): id, user, label, created, expiry, last use, state."""
    now = utcnow()
    with open_farm(ctx).sessions() as session:
        query = select(Token).join(User).order_by(Token.id)
        if user_name:
            query = query.where(User.name == user_name)
        for t in session.scalars(query):
            state = ("revoked" if t.revoked_at else "expired" if t.expires_at and t.expires_at <= now else "live")
            expiry = t.expires_at.strftime("%Y-%m-%d %H:%M") if t.expires_at else "never"
            used = t.last_used_at.strftime("%Y-%m-%d %H:%M") if t.last_used_at else "never"
            click.echo(f"{t.id:>5} {t.user.name:<20} {state:<8} expires {expiry:<16} last used {used:<16} "
                       f"{t.label or ''}")


@tokens.command("revoke")
@click.argument("token_id", type=int)
@click.pass_context
def tokens_revoke(ctx: click.Context, token_id: int) -> None:
    """Revoke token TOKEN_ID now (its browser sessions end too)."""
    from catalog.auth import revoke_token

    with open_farm(ctx).transaction() as session:
        row = revoke_token(session, token_id)
        audit_change(session, f"revoked token {token_id} of {row.user.name}")
    click.echo(f"token {token_id} revoked")


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.option("--user", "user_name", required=True)
@click.option("--role", type=click.Choice(["admin", "editor", "reviewer", "viewer"]), required=True)
@click.option("--label", default=None)
@click.pass_context
def token_create(ctx: click.Context, user_name: str, role: str, label: str | None) -> None:
    """Create USER (or change their role) and print a new token for them."""
    from catalog.auth import create_token, ensure_user

    farm = open_farm(ctx)
    with farm.transaction() as session:
        click.echo(create_token(session, ensure_user(session, user_name, role), label=label))


@main.group()
def audit() -> None:
    """The tamper-evident audit trail: verify its hash chain, export it."""


def _moment(_ctx: click.Context, _param: click.Parameter, value: str | None):
    """An ISO-8601 date or time (naive = UTC) for --since/--until."""
    from datetime import datetime

    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not an ISO-8601 date or time, e.g. 2026-11-27T09:30:00Z") from exc


@audit.command("verify")
@click.pass_context
def audit_verify(ctx: click.Context) -> None:
    """Recompute every line's hash and link; exit 1 naming the first bad line."""
    from catalog.audit import verify

    farm = open_farm(ctx)
    try:
        with farm.readers() as session:  # on SQLite: no write lock held while it walks the trail
            result = verify(session)
    finally:
        farm.close()
    if not result.ok:
        reason = (result.reason or "").removeprefix(f"row {result.bad_id}: ")
        click.echo(f"audit trail broken at row {result.bad_id}: {reason}", err=True)
        sys.exit(1)
    click.echo(f"audit trail intact: {result.checked} entries")
    if result.head_id is not None:
        click.echo(f"newest: row {result.head_id}, hash {result.head_hash}")


@audit.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--actor", default=None, help="only this user (or target)")
@click.option("--action", default=None, help="only this action, e.g. 'download proxy'")
@click.option("--asset", "asset_id", type=int, default=None, help="only lines about this asset id")
@click.option("--outcome", type=click.Choice(["allowed", "denied"]), default=None)
@click.option("--since", callback=_moment, default=None, help="from this ISO-8601 time, inclusive (naive = UTC)")
@click.option("--until", callback=_moment, default=None, help="before this ISO-8601 time, exclusive (naive = UTC)")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write to FILE (default: standard output)")
@click.pass_context
def audit_export(ctx: click.Context, fmt: str, actor: str | None, action: str | None, asset_id: int | None,
                 outcome: str | None, since: Any, until: Any, output: Path | None) -> None:
    """Export the lines matching the filters, newest first: CSV for spreadsheets, JSON exactly as hashed."""
    from catalog.audit import ACTIONS, entry_view, iter_entries, to_csv

    if action is not None and action not in ACTIONS:
        raise click.BadParameter(f"unknown action {action!r}; known: {', '.join(ACTIONS)}", param_hint="--action")
    farm = open_farm(ctx)
    stream: TextIO = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        with farm.readers() as session:
            first = True
            if fmt == "json":
                stream.write("[")
            for rows in iter_entries(session, actor=actor, action=action, asset_id=asset_id, outcome=outcome,
                                     since=since, until=until):
                if fmt == "csv":
                    stream.write(to_csv(rows, header=first))
                else:
                    for row in rows:
                        stream.write(("\n  " if first else ",\n  ") + json.dumps(entry_view(row)))
                        first = False
                first = False
            if fmt == "csv" and first:
                stream.write(to_csv([], header=True))
            if fmt == "json":
                stream.write("]\n" if first else "\n]\n")
    finally:
        if output:
            stream.close()
        farm.close()
