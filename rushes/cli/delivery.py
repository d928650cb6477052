"""`rushes presets …`, `render`, `approve`, `targets …`: delivery from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from rushes.cli.base import cli_actor, main, open_farm, version_of_asset
from rushes.errors import ConfigError, NotReady
from rushes.settings import load_settings


@main.group()
def presets() -> None:
    """Delivery presets (YAML under presets/)."""


@presets.command("list")
def presets_list() -> None:
    from delivery.presets import load_presets

    for name, preset in load_presets().items():
        click.echo(f"{name:<36} {preset.container:<5} {preset.title}")


@presets.command("show")
@click.argument("name")
def presets_show(name: str) -> None:
    from delivery.presets import load_preset

    preset = load_preset(name)
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

    farm = open_farm(ctx)
    version = version_of_asset(farm, asset_id, number)
    rendition_id, new = request_rendition(farm, version.id, preset, "cli")
    click.echo(f"rendition {rendition_id} {'queued' if new else 'exists already'}")


@main.command()
@click.argument("asset_id", type=int)
@click.option("--version", "number", type=int, default=None)
@click.option("--by", "by", default="cli", help="who approves")
@click.pass_context
def approve(ctx: click.Context, asset_id: int, number: int | None, by: str) -> None:
    """Approve a version for delivery (pushes its renditions to push targets once the approval rule is met)."""
    from pipeline.review import approve as approve_version
    from pipeline.review import rule_of

    farm = open_farm(ctx)
    version = version_of_asset(farm, asset_id, number)
    if version.status != "ready":
        raise NotReady(f"asset {asset_id} version {version.number} is {version.status}; "
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

    farm = open_farm(ctx)
    for preset in preset_names:
        load_preset(preset)
    with farm.transaction() as session:
        _target, token = create_target(session, name, "push" if folder else "pull", preset_names, folder,
                                       channel=channel, territory=territory)
    click.echo(token if token else f"push target {name} -> {folder}")


@targets.command("validate")
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.pass_context
def targets_validate(ctx: click.Context, path: Path | None) -> None:
    """Check a targets file (default: the farm's, presets/targets.yaml or RUSHES_TARGETS_FILE)."""
    from delivery.target_files import load_targets_file, targets_file_of

    path = path or targets_file_of(load_settings(data_dir=ctx.obj.get("data")))
    declared = load_targets_file(path)  # a ConfigError names the file, the target and the field
    click.echo(f"{path}: {len(declared)} target(s) valid" if path.is_file() else f"{path}: no such file (no targets)")


@targets.command("sync")
@click.pass_context
def targets_sync(ctx: click.Context) -> None:
    """Apply the targets file now; a pull target created here gets its token printed once."""
    from delivery.target_files import apply_targets_file, targets_file_of

    farm = open_farm(ctx)
    changes, tokens = apply_targets_file(farm.transaction, targets_file_of(farm.settings), actor=cli_actor(),
                                         with_tokens=True)
    for said in changes:
        click.echo(said)
    for name, token in tokens.items():
        click.echo(f"token of pull target {name}: {token}")
    if not changes:
        click.echo("targets already match the file")

