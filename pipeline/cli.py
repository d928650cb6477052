"""The ``rushes`` command: run the farm embedded or as its parts, ingest files, inspect the catalog."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from pipeline.settings import Settings, load_settings
from rushes.errors import ConfigError, RushesError

log = logging.getLogger("rushes")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    logging.getLogger("dramatiq").setLevel(logging.WARNING)
    # Alembic narrates every start (plugins, context, each migration) at INFO: only with --verbose.
    logging.getLogger("alembic").setLevel(logging.DEBUG if verbose else logging.WARNING)


def _settings(ctx: click.Context, **overrides: Any) -> Settings:
    try:
        return load_settings(data_dir=ctx.obj.get("data"), **overrides)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _farm(ctx: click.Context, **overrides: Any):  # type: ignore[no-untyped-def]
    from pipeline.farm import Farm

    try:
        return Farm(_settings(ctx, **overrides))
    except RushesError as exc:
        raise click.ClickException(str(exc)) from exc


def _version(farm, asset_id: int, number: int | None):  # type: ignore[no-untyped-def]
    """The asset's version ``number`` (or its newest), detached, or a ClickException saying what is missing."""
    from catalog.lookup import asset_or_404, version_of

    with farm.sessions() as session:
        try:
            version = version_of(asset_or_404(session, asset_id), number)
        except RushesError as exc:
            raise click.ClickException(str(exc)) from exc
        session.expunge(version)
        return version


@click.group()
@click.option("--data", type=click.Path(path_type=Path), envvar="RUSHES_DATA_DIR",
              help="data folder (default ./rushes-data)")
@click.option("-v", "--verbose", is_flag=True, help="debug logging")
@click.pass_context
def main(ctx: click.Context, data: Path | None, verbose: bool) -> None:
    """Rushes: a media asset management ingest farm."""
    # Several OpenMP runtimes (torch, CTranslate2) share a worker's cores with ffmpeg: idle OpenMP threads
    # must sleep, not spin, or they starve the job next to them. Set before any of them loads.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    ctx.ensure_object(dict)
    ctx.obj["data"] = data
    ctx.obj["verbose"] = verbose


@main.command()
@click.option("--port", type=int, default=None, help="API port (default 8000)")
@click.option("--host", default=None, help="API address (default 127.0.0.1)")
@click.option("--data", "data_opt", type=click.Path(path_type=Path), default=None,
              help="data folder (default ./rushes-data)")
@click.pass_context
def up(ctx: click.Context, port: int | None, host: str | None, data_opt: Path | None) -> None:
    """Run everything in one process: API, watch folders, workers (embedded)."""
    from pipeline.services import Workers, admin_token_hint, ensure_admin_token, serve_api
    from pipeline.watch import start_watcher

    _setup_logging(ctx.obj["verbose"])
    if data_opt is not None:
        ctx.obj["data"] = data_opt
    farm = _farm(ctx, port=port, host=host)
    settings = farm.settings
    token = ensure_admin_token(farm)
    workers = Workers(farm, resend_all_queued_first=True)
    workers.start()
    watcher, _ = start_watcher(farm)
    url = f"http://{settings.host}:{settings.port}"
    click.echo(f"Rushes is up ({'embedded' if settings.embedded else 'farm broker'}, "
               f"catalog {farm.engine.dialect.name}).")
    for folder in settings.watch_folders:
        click.echo(f"  drop files into: {settings.watch_path(folder)}/")
    click.echo(f"  API:             {url}  (docs at {url}/docs)")
    click.echo(f"  {admin_token_hint(farm, token)}")
    try:
        # the banner above says where and how; uvicorn's start-up lines only with --verbose
        serve_api(farm, settings.host, settings.port, log_level="info" if ctx.obj["verbose"] else "warning")
    finally:
        watcher.stop()
        workers.stop()
        farm.close()


@main.command()
@click.option("--port", type=int, default=None)
@click.option("--host", default=None)
@click.pass_context
def api(ctx: click.Context, port: int | None, host: str | None) -> None:
    """Run the API alone (farm role)."""
    from pipeline.services import admin_token_hint, ensure_admin_token, serve_api

    _setup_logging(ctx.obj["verbose"])
    farm = _farm(ctx, port=port, host=host)
    click.echo(admin_token_hint(farm, ensure_admin_token(farm)))
    serve_api(farm, farm.settings.host, farm.settings.port)


@main.command()
@click.pass_context
def watch(ctx: click.Context) -> None:
    """Poll the watch folders and ingest what lands there (farm role)."""
    from pipeline.services import wait_for_signal
    from pipeline.watch import start_watcher

    _setup_logging(ctx.obj["verbose"])
    farm = _farm(ctx)
    watcher, _ = start_watcher(farm)
    for folder in farm.settings.watch_folders:
        click.echo(f"watching {farm.settings.watch_path(folder)}/ (collection {farm.settings.collection_of(folder)})")
    wait_for_signal()
    watcher.stop()


@main.command()
@click.option("--queues", default=None, help="comma-separated queues (default: all)")
@click.option("--threads", type=int, default=None, help="worker threads (default: RUSHES_WORKER_THREADS)")
@click.pass_context
def worker(ctx: click.Context, queues: str | None, threads: int | None) -> None:
    """Process steps from the broker (farm role; run as many as you like)."""
    from pipeline.services import Workers, wait_for_signal

    _setup_logging(ctx.obj["verbose"])
    farm = _farm(ctx)
    if farm.settings.embedded:
        raise click.ClickException("'rushes worker' needs RUSHES_BROKER_URL=redis://…; "
                                   "for one machine use 'rushes up'")
    names = [q.strip() for q in queues.split(",")] if queues else None
    unknown = set(names or ()) - set(farm.queues)
    if unknown:
        raise click.ClickException(f"unknown queue(s) {sorted(unknown)}; known: {', '.join(farm.queues)}")
    workers = Workers(farm, queues=names, threads=threads)
    workers.start()
    click.echo(f"worker on {', '.join(names or farm.queues)} with "
               f"{threads or farm.settings.worker_threads} thread(s)")
    wait_for_signal()
    workers.stop()
    farm.close()


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--folder", default="default", help="source folder name the files count as (default: default)")
@click.pass_context
def ingest(ctx: click.Context, files: tuple[Path, ...], folder: str) -> None:
    """Ingest FILES now (no server) and wait for them, with progress; non-zero exit if any failed."""
    from pipeline.oneshot import ingest_and_wait

    _setup_logging(ctx.obj["verbose"])
    logging.getLogger().setLevel(logging.WARNING)
    farm = _farm(ctx)
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
    from sqlalchemy import select

    from catalog.models import Asset
    from catalog.views import asset_summary

    farm = _farm(ctx)
    with farm.sessions() as session:
        query = select(Asset).order_by(Asset.id)
        if status:
            query = query.where(Asset.status == status)
        rows = [asset_summary(a) for a in session.scalars(query)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        line = f"{row['id']:>6}  {row['status']:<10}  {row['collection']:<12}  {row['name']}"
        click.echo(line + (f"  ({row['error']})" if row["error"] else ""))


@assets.command("show")
@click.argument("asset_id", type=int)
@click.pass_context
def assets_show(ctx: click.Context, asset_id: int) -> None:
    from catalog.models import Asset
    from catalog.views import asset_detail

    farm = _farm(ctx)
    with farm.sessions() as session:
        asset = session.get(Asset, asset_id)
        if asset is None:
            raise click.ClickException(f"no asset {asset_id}")
        click.echo(json.dumps(asset_detail(asset), indent=2))


@main.command()
@click.argument("asset_id", type=int)
@click.pass_context
def retry(ctx: click.Context, asset_id: int) -> None:
    """Re-queue the failed steps of an asset's newest version."""
    from pipeline.retry import retry_asset

    farm = _farm(ctx)
    try:
        kinds = retry_asset(farm, asset_id, enqueue=not farm.settings.embedded)
    except RushesError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"re-queued: {', '.join(kinds)}" if kinds else "nothing had failed")
    if kinds and farm.settings.embedded:
        click.echo("(embedded: a running 'rushes up' picks them up within its reconcile interval)")


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

    farm = _farm(ctx)
    with farm.transaction() as session:
        click.echo(create_token(session, ensure_user(session, user_name, role), label=label))


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

    farm = _farm(ctx)
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


@main.group()
def presets() -> None:
    """Delivery presets (YAML under presets/)."""


@presets.command("list")
def presets_list() -> None:
    from delivery.presets import load_presets

    try:
        for name, preset in load_presets().items():
            click.echo(f"{name:<36} {preset.container:<5} {preset.title}")
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@presets.command("show")
@click.argument("name")
def presets_show(name: str) -> None:
    from delivery.presets import load_preset

    try:
        preset = load_preset(name)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps({**preset.model_dump(mode="json"), "hash": preset.content_hash}, indent=2))


@presets.command("validate")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def presets_validate(files: tuple[Path, ...]) -> None:
    """Check preset FILES (default: every preset); exit 1 naming each bad file, field and allowed values."""
    from delivery.presets import parse_preset, preset_files

    targets = [(f"{f.parent.name}/{f.stem}", f) for f in files] or list(preset_files().items())
    bad = 0
    for name, path in targets:
        try:
            parse_preset(path, name)
            click.echo(f"ok      {path}")
        except ConfigError as exc:
            bad += 1
            click.echo(f"INVALID {exc}", err=True)
    if bad:
        sys.exit(1)


@main.command()
@click.argument("asset_id", type=int)
@click.argument("preset")
@click.option("--version", "number", type=int, default=None, help="version number (default: the newest)")
@click.pass_context
def render(ctx: click.Context, asset_id: int, preset: str, number: int | None) -> None:
    """Ask for a rendition of ASSET_ID to PRESET (rendered by the running farm's workers)."""
    from pipeline.renditions import request_rendition

    farm = _farm(ctx)
    version = _version(farm, asset_id, number)
    try:
        rendition_id, new = request_rendition(farm, version.id, preset, "cli")
    except (ValueError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"rendition {rendition_id} {'queued' if new else 'exists already'}")


@main.command()
@click.argument("asset_id", type=int)
@click.option("--version", "number", type=int, default=None)
@click.option("--by", "by", default="cli", help="who approves")
@click.pass_context
def approve(ctx: click.Context, asset_id: int, number: int | None, by: str) -> None:
    """Approve a version for delivery (pushes its renditions to push targets once the approval rule is met)."""
    from pipeline.renditions import approve as approve_version
    from pipeline.review import rule_of

    farm = _farm(ctx)
    version = _version(farm, asset_id, number)
    if version.status != "ready":
        raise click.ClickException(f"asset {asset_id} version {version.number} is {version.status}; "
                                   "only a ready version can be approved")
    status = approve_version(farm, version.id, by)
    if status == "approved":
        click.echo(f"asset {asset_id} version {version.number} approved")
    else:
        click.echo(f"asset {asset_id} version {version.number}: approval by {by} recorded; "
                   f"the version is {status.replace('_', ' ')} (rule: {rule_of(farm.settings).text})")


@main.group()
def targets() -> None:
    """Distribution targets."""


@targets.command("add")
@click.argument("name")
@click.option("--pull", "kind", flag_value="pull", default=True, help="the target pulls its feed (default)")
@click.option("--push", "folder", default=None, help="push files (with a manifest) into this folder")
@click.option("--preset", "preset_names", multiple=True, required=True)
@click.option("--channel", type=click.Choice(["broadcast", "web", "social"]), default=None,
              help="what its deliveries count as for the rights (default: each preset's category)")
@click.option("--territory", default=None, help="ISO 3166-1 alpha-2 country it publishes in (default: worldwide)")
@click.pass_context
def targets_add(ctx: click.Context, name: str, kind: str, folder: str | None, preset_names: tuple[str, ...],
                channel: str | None, territory: str | None) -> None:
    """Add a target; a pull target's token is printed once."""
    from delivery.presets import load_preset
    from delivery.targets import create_target

    farm = _farm(ctx)
    try:
        for preset in preset_names:
            load_preset(preset)
        with farm.transaction() as session:
            _target, token = create_target(session, name, "push" if folder else "pull", preset_names, folder,
                                           channel=channel, territory=territory)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(token if token else f"push target {name} -> {folder}")


@main.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Bring the catalog schema up to date (every command does this on start)."""
    farm = _farm(ctx)
    click.echo(f"catalog at {farm.engine.url.render_as_string(hide_password=True)} is up to date")


@main.group()
def audit() -> None:
    """The tamper-evident audit trail: verify its hash chain, export it."""


def _moment(_ctx: click.Context, _param: click.Parameter, value: str | None):  # type: ignore[no-untyped-def]
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

    farm = _farm(ctx)
    try:
        with farm.sessions() as session:
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
    farm = _farm(ctx)
    stream = output.open("w", encoding="utf-8", newline="") if output else click.get_text_stream("stdout")
    try:
        with farm.sessions() as session:
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


def _register() -> None:
    from pipeline.cli_access import collect, tokens, users

    main.add_command(users)
    main.add_command(tokens)
    assets.add_command(collect)


_register()

if __name__ == "__main__":
    main()
