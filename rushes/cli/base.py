"""The ``rushes`` group and what every command shares: logging, settings, the farm, the caller's name.

A :class:`~rushes.errors.RushesError` that leaves a command is printed as ``Error: <message>`` and ends the
process with the exit code of its row in :data:`rushes.errors.STATUS`, as the API answers with its status.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from rushes.errors import RushesError, status_of
from rushes.settings import load_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from catalog.models import Version
    from pipeline.farm import Farm


class RushesGroup(click.Group):
    """The command group that prints every RushesError of a command and exits with the code of its row."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RushesError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(status_of(exc).exit)


@click.group(cls=RushesGroup)
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


class JsonLines(logging.Formatter):
    """One JSON object per line (``RUSHES_LOG_FORMAT=json``): time, level, logger, message, process, thread."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": record.getMessage(),
                 "process": record.process, "thread": record.threadName}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(ctx: click.Context) -> None:
    verbose = ctx.obj["verbose"]
    handler = logging.StreamHandler()
    if load_settings(data_dir=ctx.obj.get("data")).log_format == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])
    logging.getLogger("dramatiq").setLevel(logging.WARNING)
    # Alembic narrates every start (plugins, context, each migration) at INFO: only with --verbose.
    logging.getLogger("alembic").setLevel(logging.DEBUG if verbose else logging.WARNING)


def open_farm(ctx: click.Context, **overrides: Any) -> Farm:
    from pipeline.farm import Farm

    return Farm(load_settings(data_dir=ctx.obj.get("data"), **overrides))


def version_of_asset(farm: Farm, asset_id: int, number: int | None) -> Version:
    """The asset's version ``number`` (or its newest), detached; NotFound says what is missing."""
    from catalog.lookup import asset_or_404, version_of

    with farm.sessions() as session:
        version = version_of(asset_or_404(session, asset_id), number)
        session.expunge(version)
        return version


def cli_actor() -> str:
    """Who the audit trail names for a change made here: ``cli:<login name>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # a container user with no name
        return f"cli:uid {os.getuid()}"


def audit_change(session: Session, subject: str, asset_id: int | None = None,
                 action: str = "permission change") -> None:
    """One line of the audit trail for a change made from the command line (an admin's act)."""
    from catalog.audit import record

    record(session, actor=cli_actor(), role="admin", action=action, subject=subject, asset_id=asset_id)
