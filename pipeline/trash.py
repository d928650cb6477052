"""Purging the trash: an asset's files (its library folder with every version's original and what was made from
it, its originals and renditions in the archive) and its rows, for good; the audit trail keeps what it says about
it. Purged by a person (``manage_lifecycle``) or, ``trash_days`` after it was deleted, by the reconciler's hourly
sweep — never under a legal hold or before its retention ends (those stay in the trash, saying why)."""

from __future__ import annotations

import logging
import shutil
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, select

from catalog.models import Asset, Rendition, utcnow
from catalog.trash import check_purge, purged_record
from pipeline.farm import Farm
from rushes.errors import Conflict

log = logging.getLogger(__name__)


def purge(farm: Farm, asset_id: int, *, by: str, role: str | None, ip: str | None = None) -> list[Path]:
    """Remove a trashed asset for good; the files removed (after the rows are gone: a purge stopped between the two
    leaves files no row names, never a row without its files)."""
    with farm.transaction() as session:
        asset = check_purge(session, asset_id)
        folders = {Path(v.stored_path).parent for v in asset.versions if v.stored_path}
        archived = [Path(v.archive_path) for v in asset.versions if v.archive_path]
        archived += [Path(p or "") for p in session.scalars(select(Rendition.archive_path).where(
            Rendition.version_id.in_([v.id for v in asset.versions]), Rendition.archive_path.is_not(None)))]
        purged_record(session, asset, by=by, role=role, ip=ip)
        # one statement: versions, steps, proxies, scenes, renditions, metadata… go by the catalog's own cascades
        session.execute(delete(Asset).where(Asset.id == asset_id))
    removed: list[Path] = []
    for folder in sorted(folders):
        if folder.is_dir() and folder.is_relative_to(farm.settings.library_dir):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    for path in archived:
        path.unlink(missing_ok=True)
        removed.append(path)
    asset_folder = farm.settings.library_dir / str(asset_id)
    if asset_folder.is_dir() and not any(asset_folder.iterdir()):
        asset_folder.rmdir()
    log.info("asset %s purged by %s: %d path(s) removed", asset_id, by, len(removed))
    return removed


def purge_due(farm: Farm, limit: int = 200) -> dict[str, list[object]]:
    """Purge what has waited ``trash_days`` in the trash; what a hold, retention or a running step keeps stays."""
    cutoff = utcnow() - timedelta(days=farm.settings.trash_days)
    with farm.sessions() as session:
        due = list(session.scalars(select(Asset.id).where(Asset.deleted_at < cutoff).order_by(Asset.deleted_at)
                                   .limit(limit)))
    purged: list[object] = []
    kept: list[object] = []
    for asset_id in due:
        try:
            purge(farm, asset_id, by="trash", role=None)
            purged.append(asset_id)
        except Conflict as exc:
            kept.append({"asset_id": asset_id, "reason": str(exc)})
    return {"purged": purged, "kept": kept}
