"""`rushes users …` and `rushes tokens …`: people, roles, grants and API tokens from the command line.

Every change is written to the audit trail with the actor ``cli:<login name>``.
"""

from __future__ import annotations

import getpass
import json
import os
from datetime import timedelta
from typing import Any

import click
from sqlalchemy import select

from catalog.models import ROLES, Token, User, utcnow
from catalog.permissions import PEOPLE


def _farm(ctx: click.Context) -> Any:
    from pipeline.cli import _farm as open_farm

    return open_farm(ctx)


def cli_actor() -> str:
    """Who the audit trail names for a change made here: ``cli:<login name>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # a container user with no name
        return f"cli:uid {os.getuid()}"



def _audit(session: Any, subject: str, asset_id: int | None = None, action: str = "permission change") -> None:
    from catalog.audit import record

    record(session, actor=cli_actor(), role="admin", action=action, subject=subject, asset_id=asset_id)


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


@click.group()
def users() -> None:
    """People and their roles, and what they may see (grants)."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(PEOPLE), required=True)
@click.pass_context
def users_add(ctx: click.Context, name: str, role: str) -> None:
    """Create NAME with ROLE (or change their role)."""
    from catalog.auth import ensure_user

    with _farm(ctx).transaction() as session:
        ensure_user(session, name, role)
        _audit(session, f"user {name}: role {role}")
    click.echo(f"{name}: {role}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def users_list(ctx: click.Context, as_json: bool) -> None:
    """Every user with role, state and grants."""
    from catalog.auth import grants_of

    with _farm(ctx).sessions() as session:
        rows = [{"name": u.name, "role": u.role, "disabled": u.disabled_at is not None,
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
    from rushes.errors import RushesError

    try:
        with _farm(ctx).transaction() as session:
            set_disabled(session, user_named(session, name), disabled)
            _audit(session, f"user {name}: {'disabled' if disabled else 'enabled'}")
    except RushesError as exc:
        raise _fail(exc) from exc
    click.echo(f"{name}: {'disabled' if disabled else 'enabled'}")


@users.command("grant")
@click.argument("name")
@click.option("--collection", default=None, help="a collection (made when new)")
@click.option("--asset", "asset_id", type=int, default=None, help="one asset, by id")
@click.pass_context
def users_grant(ctx: click.Context, name: str, collection: str | None, asset_id: int | None) -> None:
    """Let NAME see and act on a collection or one asset."""
    from catalog.auth import grant, user_named
    from rushes.errors import RushesError

    try:
        with _farm(ctx).transaction() as session:
            grant(session, user_named(session, name), collection=collection, asset_id=asset_id, by=cli_actor())
            _audit(session, f"granted {name} " + (f"collection {collection}" if collection else f"asset {asset_id}"),
                   asset_id)
    except RushesError as exc:
        raise _fail(exc) from exc
    click.echo(f"{name} may now act on " + (f"collection {collection}" if collection else f"asset {asset_id}"))


@users.command("revoke")
@click.argument("name")
@click.option("--collection", default=None)
@click.option("--asset", "asset_id", type=int, default=None)
@click.pass_context
def users_revoke(ctx: click.Context, name: str, collection: str | None, asset_id: int | None) -> None:
    """Take a grant away from NAME."""
    from catalog.auth import revoke_grant, user_named
    from rushes.errors import RushesError

    if (collection is None) == (asset_id is None):
        raise click.UsageError("give --collection or --asset")
    try:
        with _farm(ctx).transaction() as session:
            gone = revoke_grant(session, user_named(session, name), collection=collection, asset_id=asset_id)
            if gone:
                _audit(session, f"revoked {name}'s " + (f"collection {collection}" if collection else
                                                          f"asset {asset_id}"), asset_id)
    except RushesError as exc:
        raise _fail(exc) from exc
    if not gone:
        raise click.ClickException(f"{name} has no such grant")
    click.echo("revoked")


@click.group()
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
    from rushes.errors import RushesError

    expires = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    try:
        with _farm(ctx).transaction() as session:
            user = ensure_user(session, user_name, role) if role else user_named(session, user_name)
            secret = create_token(session, user, label=label, expires_at=expires)
            _audit(session, f"token for {user_name}" + (f", expires {expires:%Y-%m-%d %H:%M}" if expires else ""))
    except RushesError as exc:
        raise _fail(exc) from exc
    click.echo(secret)


@tokens.command("list")
@click.option("--user", "user_name", default=None)
@click.pass_context
def tokens_list(ctx: click.Context, user_name: str | None) -> None:
    """Tokens (never their secrets): id, user, label, created, expiry, last use, state."""
    now = utcnow()
    with _farm(ctx).sessions() as session:
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
    from rushes.errors import RushesError

    try:
        with _farm(ctx).transaction() as session:
            row = revoke_token(session, token_id)
            _audit(session, f"revoked token {token_id} of {row.user.name}")
    except RushesError as exc:
        raise _fail(exc) from exc
    click.echo(f"token {token_id} revoked")


@click.command("collect")
@click.argument("asset_id", type=int)
@click.option("--collection", required=True, help="the collection (made when new)")
@click.option("--move", is_flag=True, help="make it the asset's own collection instead of adding it")
@click.option("--remove", is_flag=True, help="take the asset out of a collection it was added to")
@click.pass_context
def collect(ctx: click.Context, asset_id: int, collection: str, move: bool, remove: bool) -> None:
    """Add asset ASSET_ID to a collection, move it there, or take it out."""
    from catalog.collections import put_in_collection, take_out_of_collection
    from catalog.models import Asset
    from rushes.errors import RushesError

    try:
        with _farm(ctx).transaction() as session:
            asset = session.get(Asset, asset_id)
            if asset is None:
                raise click.ClickException(f"no asset {asset_id}")
            if remove:
                result = take_out_of_collection(session, asset, collection)
            else:
                result = put_in_collection(session, asset, collection, move=move, by=cli_actor())
            what = "removed from" if remove else "moved to" if move else "added to"
            _audit(session, f"{what} {collection}", asset_id, action="collection change")
    except RushesError as exc:
        raise _fail(exc) from exc
    also = ", ".join(result["also_in"]) or "no other"
    click.echo(f"asset {asset_id}: collection {result['collection']}; also in {also}")
