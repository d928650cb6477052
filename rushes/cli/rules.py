"""``rushes rules``: check rule files, and show what a rule would have done to the catalog's assets (a dry run)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from catalog.metadata_schema import Schema
from rushes.cli.base import main, open_farm
from rushes.settings import load_settings


@main.group()
def rules() -> None:
    """Orchestration rules: triggers, CEL conditions, actions (YAML in <data>/rules or RUSHES_RULES_DIR)."""


def _schema(ctx: click.Context) -> Schema | None:
    """The metadata schema the rules are checked against: the catalog's in force, else the schema folder's."""
    from catalog.metadata import schema_in_force
    from catalog.metadata_files import folder_texts, schema_of

    settings = load_settings(data_dir=ctx.obj.get("data"))
    try:
        farm = open_farm(ctx)
        with farm.sessions() as session:
            state = schema_in_force(session)
        farm.close()
        if state is not None:
            return state.schema
    except Exception:  # no catalog yet: the folder's schema
        pass
    folder = settings.metadata_folder
    return schema_of(folder_texts(folder), folder) if folder.is_dir() else None


@rules.command("validate")
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.pass_context
def rules_validate(ctx: click.Context, path: Path | None) -> None:
    """Check a rules file or folder (default: the farm's) against the metadata schema, changing nothing."""
    from pipeline.rules.files import read_rules

    path = path or load_settings(data_dir=ctx.obj.get("data")).rules_folder
    found = read_rules(path, _schema(ctx))  # a ConfigError names the file, the line, the field
    click.echo(f"{path}: {len(found)} rule(s) valid" + "".join(
        f"\n  {r.name} ({r.file}:{r.line}) on {r.trigger}{'' if r.enabled else ' (disabled)'}: {r.label}"
        for r in found))


@rules.command("sync")
@click.pass_context
def rules_sync(ctx: click.Context) -> None:
    """Apply the rules folder now (after editing it or a git pull): a new rule version for each changed rule."""
    farm = open_farm(ctx)  # every process applies the folder at its start too
    result = farm.sync_rules(strict=True)  # a ConfigError names the file, the line, the field; nothing changes
    farm.close()
    click.echo(f"rules: {len(result.added)} new version(s) {result.added}, {len(result.retired)} retired "
               f"{result.retired}, {len(result.kept)} unchanged")


@rules.command("test")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--since", "since", default="30d", show_default=True,
              help="look at the events since: a span (30d, 12h, 90m) or an ISO-8601 moment")
@click.option("--json", "as_json", is_flag=True, help="the report as JSON")
@click.pass_context
def rules_test(ctx: click.Context, path: Path, since: str, as_json: bool) -> None:
    """What the rules of PATH would have done to the catalog's assets since --since, changing nothing."""
    from pipeline.rules.dry_run import dry_run, since_moment
    from pipeline.rules.files import read_rules
    from rushes.errors import InvalidInput

    try:
        moment = since_moment(since)
    except InvalidInput as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    schema = _schema(ctx)
    found = read_rules(path, schema)
    farm = open_farm(ctx)
    with farm.sessions() as session:
        report = dry_run(session, found, schema, farm.settings.tag_min_confidence, moment)
    farm.close()
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    click.echo(f"dry run since {report['since']} (nothing was changed)")
    for rule in report["rules"]:
        click.echo(f"\n{rule['rule']} ({rule['trigger']}): {rule['matched']} of {rule['events']} event(s) match"
                   + ("" if rule["enabled"] else " — disabled, not asked"))
        for item in rule["would"]:
            click.echo(f"  asset {item['asset_id']} {item['asset_name']} v{item['version']}: "
                       + "; ".join(item["actions"]))
        for error in rule["errors"]:
            click.echo(f"  ERROR asset {error['asset_id']} {error['asset_name']}: {error['error']}")
