"""``rushes metadata``: check the schema folder, apply it, show the schema in force and an asset's values."""

from __future__ import annotations

import json
from pathlib import Path

import click

from rushes.cli.base import main, open_farm
from rushes.settings import load_settings


@main.group()
def metadata() -> None:
    """The team's metadata schema (fields, vocabularies, taxonomies, views) and values."""


@metadata.command("validate")
@click.argument("folder", type=click.Path(path_type=Path), required=False)
@click.pass_context
def metadata_validate(ctx: click.Context, folder: Path | None) -> None:
    """Check a schema folder (default: the farm's, <data>/metadata or RUSHES_METADATA_DIR) without applying it."""
    from catalog.metadata_files import folder_texts, schema_of

    folder = folder or load_settings(data_dir=ctx.obj.get("data")).metadata_folder
    schema = schema_of(folder_texts(folder), folder)  # a ConfigError names the file, the field, the allowed values
    click.echo(f"{folder}: {len(schema.fields)} fields, {len(schema.views)} views, "
               f"{len(schema.vocabularies)} vocabularies, {len(schema.taxonomies)} taxonomies: valid")


@metadata.command("sync")
@click.pass_context
def metadata_sync(ctx: click.Context) -> None:
    """Apply the schema folder now (after editing it or a git pull): a new version when its meaning changed."""
    from catalog.db import migrate
    from catalog.metadata import schema_versions
    from catalog.metadata_files import ensure_folder, sync_folder
    from pipeline.farm import Farm

    farm = Farm(load_settings(data_dir=ctx.obj.get("data")), migrate_schema=False)  # not synced at its start
    migrate(farm.engine)
    ensure_folder(farm.settings.metadata_folder)
    with farm.transaction() as session:
        result = sync_folder(session, farm.settings.metadata_folder, actor="cli")
        newest = schema_versions(session)[0]
    click.echo(f"schema version {result.version} " + ("made" if result.created else "in force already")
               + f": {newest['summary']}")


@metadata.command("show")
@click.argument("asset_id", type=int, required=False)
@click.pass_context
def metadata_show(ctx: click.Context, asset_id: int | None) -> None:
    """The schema in force as JSON, or one asset's values (with what needs attention)."""
    from catalog.metadata import require_schema
    from catalog.metadata_values import plain, rejects_of, stored_values
    from catalog.models import AssetMetadata

    farm = open_farm(ctx)
    with farm.sessions() as session:
        state = require_schema(session)
        if asset_id is None:
            click.echo(json.dumps({"version": state.version, **state.schema.definition}, indent=2,
                                  ensure_ascii=False))
            return
        rows = stored_values(session, asset_id, []).get(None, {})
        meta = session.get(AssetMetadata, asset_id)
        click.echo(json.dumps({
            "asset_id": asset_id, "revision": meta.revision if meta else 0,
            "values": {key: plain(state.schema, key, values) for key, values in rows.items()},
            "kept_aside": [{"field": r.field, "value": r.value, "source": r.source, "reason": r.reason}
                           for r in rejects_of(session, asset_id)],
        }, indent=2, ensure_ascii=False))
