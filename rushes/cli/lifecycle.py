"""``rushes archive``, ``restore``, ``hold …``, ``retention``, ``storage``: the lifecycle from the command line.

Archive and restore queue farm steps that the running farm's workers carry out (``rushes assets show`` and the
asset page tell where each original is); holds and retention change at once. Every change is audited as the
command line's user (``cli:<login>``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from rushes.cli.base import cli_actor, main, open_farm

if TYPE_CHECKING:
    from pipeline.farm import Farm


def _asset_ids(farm: Farm, assets: tuple[int, ...], collection: str | None) -> list[int]:
    from sqlalchemy import select

    from catalog.models import Asset, Collection
    from catalog.permissions import in_collection
    from rushes.errors import InvalidInput, NotFound

    if bool(assets) == bool(collection):
        raise InvalidInput("name assets (ids) or --collection, not both")
    if not collection:
        return list(assets)
    with farm.sessions() as session:
        if session.scalar(select(Collection.id).where(Collection.name == collection)) is None:
            raise NotFound(f"no collection {collection!r}")
        return list(session.scalars(select(Asset.id).where(in_collection(collection)).order_by(Asset.id)))


def _move(ctx: click.Context, action: str, assets: tuple[int, ...], collection: str | None,
          location: str | None, renditions: bool | None = None) -> None:
    from pipeline.lifecycle import move_assets

    farm = open_farm(ctx)
    asset_ids = _asset_ids(farm, assets, collection)  # read before the move's transaction takes SQLite's write lock
    with farm.transaction() as session:
        queued, refused, messages = move_assets(session, farm.settings, asset_ids, action, by=cli_actor(),
                                                role="admin", why="asked from the command line", location=location,
                                                renditions=renditions)
        for version, why in refused:
            click.echo(f"asset {version.asset_id} version {version.number}: {why}", err=True)
    farm.send(messages)
    farm.close()
    click.echo(f"{action}: {len(queued)} version(s) queued" + (f", {len(refused)} refused" if refused else ""))
    if refused and not queued:
        raise click.exceptions.Exit(4)


@main.command()
@click.argument("assets", type=int, nargs=-1)
@click.option("--collection", help="every asset of this collection")
@click.option("--location", help="archive location (default: the first configured)")
@click.option("--renditions/--no-renditions", default=None,
              help="move the ready renditions too (default: RUSHES_ARCHIVE_RENDITIONS)")
@click.pass_context
def archive(ctx: click.Context, assets: tuple[int, ...], collection: str | None, location: str | None,
            renditions: bool | None) -> None:
    """Send the originals of ASSETS (or a collection) to the archive; proxies and metadata stay online."""
    _move(ctx, "archive", assets, collection, location, renditions)


@main.command()
@click.argument("assets", type=int, nargs=-1)
@click.option("--collection", help="every asset of this collection")
@click.pass_context
def restore(ctx: click.Context, assets: tuple[int, ...], collection: str | None) -> None:
    """Bring the archived originals of ASSETS (or a collection) back to the library."""
    _move(ctx, "restore", assets, collection, None)


@main.group()
def hold() -> None:
    """Legal holds: nothing under one is archived, deleted or replaced, by anyone, until it is lifted."""


@hold.command("place")
@click.option("--asset", "asset_id", type=int, help="the asset to hold")
@click.option("--collection", help="the collection to hold (every asset in it)")
@click.option("--reason", required=True, help="the matter, a case number")
@click.pass_context
def hold_place(ctx: click.Context, asset_id: int | None, collection: str | None, reason: str) -> None:
    from catalog.holds import place_hold

    farm = open_farm(ctx)
    with farm.transaction() as session:
        placed = place_hold(session, by=cli_actor(), role="admin", reason=reason, asset_id=asset_id,
                            collection=collection)
        hold_id = placed.id
    farm.close()
    click.echo(f"legal hold {hold_id} placed")


@hold.command("lift")
@click.argument("hold_id", type=int)
@click.option("--reason", required=True, help="why it is lifted")
@click.pass_context
def hold_lift(ctx: click.Context, hold_id: int, reason: str) -> None:
    from catalog.holds import lift_hold

    farm = open_farm(ctx)
    with farm.transaction() as session:
        lift_hold(session, hold_id, by=cli_actor(), role="admin", reason=reason)
    farm.close()
    click.echo(f"legal hold {hold_id} lifted")


@hold.command("list")
@click.option("--all", "everything", is_flag=True, help="lifted holds too")
@click.pass_context
def hold_list(ctx: click.Context, everything: bool) -> None:
    from sqlalchemy import select

    from catalog.models import Collection, LegalHold

    farm = open_farm(ctx)
    with farm.sessions() as session:
        query = select(LegalHold).order_by(LegalHold.id)
        if not everything:
            query = query.where(LegalHold.lifted_at.is_(None))
        for h in session.scalars(query):
            held = session.get(Collection, h.collection_id) if h.collection_id else None
            on = f"collection {held.name}" if held else f"asset {h.asset_id}"
            lifted = f"  lifted {h.lifted_at:%Y-%m-%d} by {h.lifted_by}: {h.lift_reason}" if h.lifted_at else ""
            click.echo(f"{h.id}\t{on}\t{h.placed_at:%Y-%m-%d} by {h.placed_by}: {h.reason}{lifted}")
    farm.close()


@main.command()
@click.argument("asset_id", type=int)
@click.option("--until", "until", type=click.DateTime(formats=["%Y-%m-%d"]), required=True,
              help="keep the asset at least until this date (YYYY-MM-DD, UTC); extend only")
@click.pass_context
def retention(ctx: click.Context, asset_id: int, until: datetime) -> None:
    """Keep ASSET_ID at least until a date (retention is extended, never shortened)."""
    from catalog.holds import extend_retention

    farm = open_farm(ctx)
    with farm.transaction() as session:
        extend_retention(session, asset_id, until, by=cli_actor(), role="admin")
    farm.close()
    click.echo(f"asset {asset_id} kept until {until:%Y-%m-%d}")


@main.command()
@click.pass_context
def storage(ctx: click.Context) -> None:
    """Bytes per collection and tier (library, each archive location, proxies, renditions)."""
    from catalog.storage_report import storage_report

    farm = open_farm(ctx)
    with farm.sessions() as session:
        rows = storage_report(session)
    farm.close()
    click.echo(f"{'collection':<24} {'tier':<20} {'files':>8} {'bytes':>16}")
    for row in rows:
        click.echo(f"{row.collection:<24} {row.tier:<20} {row.files:>8} {row.bytes:>16,}")
    click.echo(f"{'total':<24} {'':<20} {sum(r.files for r in rows):>8} {sum(r.bytes for r in rows):>16,}")


@main.group()
def policy() -> None:
    """Lifecycle policies per collection: archive after N days without use or after delivery, retention."""


@policy.command("set")
@click.argument("collection")
@click.option("--archive-unused-days", type=int, help="archive originals nobody used for this many days")
@click.option("--archive-delivered-days", type=int, help="archive originals this many days after their first delivery")
@click.option("--location", help="archive location (default: the first configured)")
@click.option("--retention-years", type=int, help="keep assets at least this long from ingest (extends only)")
@click.option("--at-retention-end", type=click.Choice(["propose_deletion", "keep"]), default="propose_deletion",
              show_default=True, help="what the end of retention brings (nothing is deleted by itself)")
@click.pass_context
def policy_set(ctx: click.Context, collection: str, archive_unused_days: int | None,
               archive_delivered_days: int | None, location: str | None, retention_years: int | None,
               at_retention_end: str) -> None:
    """Set COLLECTION's policy (the whole of it: an option left out is cleared)."""
    from catalog.policies import set_policy

    farm = open_farm(ctx)
    with farm.transaction() as session:
        set_policy(session, collection, by=cli_actor(), role="admin", archive_unused_days=archive_unused_days,
                   archive_delivered_days=archive_delivered_days, location=location,
                   retention_years=retention_years, at_retention_end=at_retention_end)
    farm.close()
    click.echo(f"policy of {collection} set")


@policy.command("list")
@click.pass_context
def policy_list(ctx: click.Context) -> None:
    from sqlalchemy import select

    from catalog.models import Collection, LifecyclePolicy

    farm = open_farm(ctx)
    with farm.sessions() as session:
        for p, name in session.execute(select(LifecyclePolicy, Collection.name).join(
                Collection, Collection.id == LifecyclePolicy.collection_id).order_by(Collection.name)).tuples():
            click.echo(f"{name}\tunused {p.archive_unused_days or '–'} d\tdelivered {p.archive_delivered_days or '–'} d"
                       f"\tretention {p.retention_years or '–'} y, then {p.at_retention_end}")
    farm.close()


@policy.command("apply")
@click.pass_context
def policy_apply(ctx: click.Context) -> None:
    """Queue now what the policies make due (the farm does it every hour)."""
    from pipeline.policies import apply_policies

    farm = open_farm(ctx)
    done = apply_policies(farm)
    farm.close()
    for q in done["queued"]:
        click.echo(f"asset {q['asset_id']} version {q['version_id']}: archive queued ({q['why']})")
    for r in done["refused"]:
        click.echo(f"asset {r['asset_id']} version {r['version_id']}: {r['reason']}", err=True)


@policy.command("proposals")
@click.pass_context
def policy_proposals(ctx: click.Context) -> None:
    """Assets whose retention is over, proposed for deletion (nothing is deleted by itself)."""
    from catalog.policies import proposed_for_deletion

    farm = open_farm(ctx)
    with farm.sessions() as session:
        for p in proposed_for_deletion(session):
            click.echo(f"{p['asset_id']}\t{p['collection']}\t{p['name']}\tkept until {p['retain_until']:%Y-%m-%d}")
    farm.close()


@main.command()
@click.argument("assets", type=int, nargs=-1, required=True)
@click.pass_context
def delete(ctx: click.Context, assets: tuple[int, ...]) -> None:
    """Move ASSETS to the trash (hidden everywhere; `rushes trash recover` takes one out until it is purged)."""
    from catalog.trash import trash_assets

    farm = open_farm(ctx)
    with farm.transaction() as session:
        moved, refused = trash_assets(session, list(assets), by=cli_actor(), role="admin")
    farm.close()
    for asset_id, why in refused.items():
        click.echo(f"asset {asset_id}: {why}", err=True)
    click.echo(f"{len(moved)} asset(s) moved to the trash (purged after {farm.settings.trash_days} days)"
               + (f", {len(refused)} refused" if refused else ""))
    if refused and not moved:
        raise click.exceptions.Exit(4)


@main.group()
def trash() -> None:
    """The trash: what was deleted, taken out again, or purged for good."""


@trash.command("list")
@click.pass_context
def trash_list(ctx: click.Context) -> None:
    from catalog.trash import trash_view

    farm = open_farm(ctx)
    with farm.sessions() as session:
        for row in trash_view(session, farm.settings.trash_days):
            kept = f"  kept: {row['kept']}" if row["kept"] else ""
            click.echo(f"{row['asset_id']}\t{row['name']}\tdeleted {row['deleted_at']:%Y-%m-%d} by {row['deleted_by']}"
                       f"\tpurged after {row['purge_after']:%Y-%m-%d}{kept}")
    farm.close()


@trash.command("recover")
@click.argument("asset_id", type=int)
@click.pass_context
def trash_recover(ctx: click.Context, asset_id: int) -> None:
    """Take ASSET_ID out of the trash."""
    from catalog.trash import recover_asset

    farm = open_farm(ctx)
    with farm.transaction() as session:
        recover_asset(session, asset_id, by=cli_actor(), role="admin")
    farm.close()
    click.echo(f"asset {asset_id} is back")


@trash.command("purge")
@click.argument("asset_id", type=int)
@click.pass_context
def trash_purge(ctx: click.Context, asset_id: int) -> None:
    """Purge ASSET_ID from the trash now: its files and rows, for good (never under a hold or retention)."""
    from pipeline.trash import purge

    farm = open_farm(ctx)
    removed = purge(farm, asset_id, by=cli_actor(), role="admin")
    farm.close()
    click.echo(f"asset {asset_id} purged ({len(removed)} path(s) removed)")
