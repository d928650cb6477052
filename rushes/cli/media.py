"""`rushes ingest`, `assets …`, `retry`, `search`: files in, and what the catalog knows of them."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import click

from rushes.cli.base import audit_change, cli_actor, main, open_farm, setup_logging
from rushes.errors import NotFound


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--folder", default="default", help="source folder name the files count as (default: default)")
@click.pass_context
def ingest(ctx: click.Context, files: tuple[Path, ...], folder: str) -> None:
    """Ingest FILES now (no server) and wait for them, with progress; non-zero exit if any failed."""
    from rushes.oneshot import ingest_and_wait

    setup_logging(ctx)
    logging.getLogger().setLevel(logging.WARNING)
    farm = open_farm(ctx)
    try:
        failures = ingest_and_wait(farm, list(files), folder)
    finally:
        farm.close()
    for name, reason in failures:
        click.echo(f"FAILED {name}: {reason}", err=True)
    # Everything is committed and closed. Skip the interpreter's module teardown, which takes ~1 s once
    # torch and the OCR models are loaded: a one-shot command should end when its work does.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1 if failures else 0)


@main.group()
def assets() -> None:
    """List and show assets."""


@assets.command("list")
@click.option("--status", type=click.Choice(["queued", "processing", "ready", "failed"]))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def assets_list(ctx: click.Context, status: str | None, as_json: bool) -> None:
    """Every asset, oldest first, printed page by page as it is read (a million assets start at once)."""
    from catalog.views import asset_pages

    farm = open_farm(ctx)
    first = True
    if as_json:
        click.echo("[", nl=False)
    with farm.sessions() as session:
        for page in asset_pages(session, status=status):
            for row in page:
                if as_json:
                    click.echo(("\n" if first else ",\n") + json.dumps(row), nl=False)
                else:
                    line = f"{row['id']:>6}  {row['status']:<10}  {row['collection']:<12}  {row['name']}"
                    click.echo(line + (f"  ({row['error']})" if row["error"] else ""))
                first = False
            session.expunge_all()  # what was printed is not kept
    if as_json:
        click.echo("]" if first else "\n]")


@assets.command("show")
@click.argument("asset_id", type=int)
@click.pass_context
def assets_show(ctx: click.Context, asset_id: int) -> None:
    from catalog.models import Asset
    from catalog.views import asset_detail

    farm = open_farm(ctx)
    with farm.sessions() as session:
        asset = session.get(Asset, asset_id)
        if asset is None:
            raise NotFound(f"no asset {asset_id}")
        click.echo(json.dumps(asset_detail(asset), indent=2))


@assets.command("collect")
@click.argument("asset_id", type=int)
@click.option("--collection", required=True, help="the collection (made when new)")
@click.option("--move", is_flag=True, help="make it the asset's own collection instead of adding it")
@click.option("--remove", is_flag=True, help="take the asset out of a collection it was added to")
@click.pass_context
def collect(ctx: click.Context, asset_id: int, collection: str, move: bool, remove: bool) -> None:
    """Add asset ASSET_ID to a collection, move it there, or take it out."""
    from catalog.collections import put_in_collection, take_out_of_collection
    from catalog.models import Asset

    with open_farm(ctx).transaction() as session:
        asset = session.get(Asset, asset_id)
        if asset is None:
            raise NotFound(f"no asset {asset_id}")
        if remove:
            result = take_out_of_collection(session, asset, collection)
        else:
            result = put_in_collection(session, asset, collection, move=move, by=cli_actor())
        what = "removed from" if remove else "moved to" if move else "added to"
        audit_change(session, f"{what} {collection}", asset_id, action="collection change")
    also = ", ".join(result["also_in"]) or "no other"
    click.echo(f"asset {asset_id}: collection {result['collection']}; also in {also}")


@main.command()
@click.argument("asset_id", type=int)
@click.pass_context
def retry(ctx: click.Context, asset_id: int) -> None:
    """Re-queue the failed steps of an asset's newest version."""
    from pipeline.retry import retry_asset

    farm = open_farm(ctx)
    kinds = retry_asset(farm, asset_id, enqueue=not farm.settings.embedded)
    click.echo(f"re-queued: {', '.join(kinds)}" if kinds else "nothing had failed")
    if kinds and farm.settings.embedded:
        click.echo("(embedded: a running 'rushes up' picks them up within its reconcile interval)")


@main.command("search")
@click.argument("query")
@click.option("--collection", default=None)
@click.option("--kind", type=click.Choice(["transcript", "ocr", "tag", "name", "metadata"]), default=None)
@click.option("--has-faces/--no-faces", default=None)
@click.option("--limit", type=int, default=20)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def search_command(ctx: click.Context, query: str, collection: str | None, kind: str | None,
                   has_faces: bool | None, limit: int, as_json: bool) -> None:
    """Find QUERY in transcripts, on-screen text, tags and names; hits at source timecode."""
    from catalog.search import SearchFilters
    from catalog.views import search_hits

    farm = open_farm(ctx)
    with farm.sessions() as session:
        hits = search_hits(session, query, SearchFilters(collection=collection, kind=kind, has_faces=has_faces),
                           limit=limit)
    if as_json:
        click.echo(json.dumps(hits, indent=2))
        return
    for hit in hits:
        click.echo(f"{hit['timecode'] or '--:--:--:--'}  {hit['kind']:<10}  {hit['asset_name']} "
                   f"(asset {hit['asset_id']} v{hit['version']})  {hit['text'][:80]}")
    if not hits:
        click.echo("no hits")
