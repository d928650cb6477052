"""`rushes up`, `api`, `watch`, `worker`, `migrate`: the farm's process roles."""

from __future__ import annotations

from pathlib import Path

import click

from rushes.cli.base import main, open_farm, setup_logging
from rushes.errors import ConfigError


@main.command()
@click.option("--port", type=int, default=None, help="API port (default 8000)")
@click.option("--host", default=None, help="API address (default 127.0.0.1)")
@click.option("--data", "data_opt", type=click.Path(path_type=Path), default=None,
              help="data folder (default ./rushes-data)")
@click.pass_context
def up(ctx: click.Context, port: int | None, host: str | None, data_opt: Path | None) -> None:
    """Run everything in one process: API, watch folders, workers (embedded)."""
    from pipeline.watch import start_watcher
    from pipeline.workers import Workers
    from rushes.roles import admin_token_hint, ensure_admin_token, serve_api

    setup_logging(ctx)
    if data_opt is not None:
        ctx.obj["data"] = data_opt
    farm = open_farm(ctx, port=port, host=host)
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
    from rushes.roles import admin_token_hint, ensure_admin_token, serve_api

    setup_logging(ctx)
    farm = open_farm(ctx, port=port, host=host)
    click.echo(admin_token_hint(farm, ensure_admin_token(farm)))
    serve_api(farm, farm.settings.host, farm.settings.port)


@main.command()
@click.pass_context
def watch(ctx: click.Context) -> None:
    """Poll the watch folders and ingest what lands there (farm role)."""
    from pipeline.watch import start_watcher
    from rushes.roles import wait_for_signal

    setup_logging(ctx)
    farm = open_farm(ctx)
    watcher, _ = start_watcher(farm)
    for folder in farm.settings.watch_folders:
        click.echo(f"watching {farm.settings.watch_path(folder)}/ (collection {farm.settings.collection_of(folder)})")
    wait_for_signal()
    watcher.stop()


@main.command()
@click.option("--queues", default=None, help="comma-separated queues (default: all)")
@click.option("--threads", type=int, default=None, help="worker threads (default: RUSHES_WORKER_THREADS)")
@click.option("--metrics-port", type=int, default=None,
              help="serve this worker's /metrics on this port (default: RUSHES_METRICS_PORT, else none)")
@click.pass_context
def worker(ctx: click.Context, queues: str | None, threads: int | None, metrics_port: int | None) -> None:
    """Process steps from the broker (farm role; run as many as you like)."""
    from pipeline.workers import Workers
    from rushes.roles import wait_for_signal

    setup_logging(ctx)
    farm = open_farm(ctx, metrics_port=metrics_port)
    if farm.settings.embedded:
        raise ConfigError("'rushes worker' needs RUSHES_BROKER_URL=redis://…; "
                          "for one machine use 'rushes up'")
    names = [q.strip() for q in queues.split(",")] if queues else None
    unknown = set(names or ()) - set(farm.queues)
    if unknown:
        raise ConfigError(f"unknown queue(s) {sorted(unknown)}; known: {', '.join(farm.queues)}")
    workers = Workers(farm, queues=names, threads=threads)
    workers.start()
    click.echo(f"worker on {', '.join(names or farm.queues)} with "
               f"{threads or farm.settings.worker_threads} thread(s)")
    wait_for_signal()
    workers.stop()
    farm.close()


@main.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Bring the catalog schema up to date (every command does this on start)."""
    farm = open_farm(ctx)
    click.echo(f"catalog at {farm.engine.url.render_as_string(hide_password=True)} is up to date")


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """The farm at a glance: workers and what they hold, queues, steps, assets, renditions, latest failures."""
    import json

    from pipeline.report import farm_report

    farm = open_farm(ctx)
    with farm.sessions() as session:
        report = farm_report(session, farm.settings.worker_dead_after_s)
    farm.close()
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    alive = [w for w in report["workers"] if w["alive"]]
    click.echo(f"workers:    {len(alive)} alive" + "".join(
        f"\n  {w['name']} ({', '.join(w['queues'])}; {w['threads']} thread(s))" + "".join(
            f"\n    step {s['step_id']} {s['kind']} {s['progress']:.0%} of asset {s['asset_id']} {s['asset']}"
            for s in w["steps"]) for w in alive))
    for file in report["arriving"]:
        click.echo(f"arriving:   {file['name']} ({file['folder']}) {file['copied'] / 1e9:.1f} of "
                   f"{file['size'] / 1e9:.1f} GB copied" + (" - stalled" if file["stalled"] else ""))
    busy = {q: v for q, v in report["queues"].items() if v["queued"] or v["running"]}
    click.echo("queues:     " + (", ".join(f"{q} {v['queued']} queued / {v['running']} running"
                                           for q, v in sorted(busy.items())) or "idle"))
    click.echo("steps:      " + ", ".join(f"{n} {s}" for s, n in report["steps"].items()))
    hour = report["throughput"]
    click.echo(f"last hour:  {sum(b['done'] for b in hour)} step(s) done, {sum(b['failed'] for b in hour)} failed")
    click.echo("assets:     " + (", ".join(f"{n} {s}" for s, n in sorted(report["assets"].items())) or "none"))
    click.echo("renditions: " + (", ".join(f"{n} {s}" for s, n in sorted(report["renditions"].items())) or "none"))
    for failure in report["failures"]:
        click.echo(f"failed: asset {failure['asset_id']} {failure['asset']} v{failure['version']} "
                   f"{failure['step']}: {failure['error']}")
