"""The trash: a deleted asset is hidden everywhere (``catalog.permissions.NOT_TRASHED``) but kept, files and rows,
for ``trash_days``; it can be taken out again until then. Purging removes it for good — never under a legal hold or
before its retention ends — and the audit trail keeps every line about it (``pipeline/trash.py`` removes the files).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.audit import record
from catalog.holds import holds_on, refuse_if_held
from catalog.models import Asset, Step, Version, utcnow
from rushes.errors import Conflict, NotFound, UnderRetention


def trash_asset(session: Session, asset_id: int, *, by: str, role: str | None, ip: str | None = None) -> Asset:
    asset = session.get(Asset, asset_id)
    if asset is None or asset.deleted_at is not None:
        raise NotFound(f"no asset {asset_id}" if asset is None else f"asset {asset_id} is in the trash already")
    refuse_if_held(session, asset_id, "deleted")
    asset.deleted_at, asset.deleted_by = utcnow(), by
    record(session, actor=by, role=role, ip=ip, action="delete", asset_id=asset_id,
           subject=f"{asset.name}: to the trash")
    return asset


def trash_assets(session: Session, asset_ids: list[int], *, by: str, role: str | None, ip: str | None = None,
                 ) -> tuple[list[int], dict[int, str]]:
    """Move each asset to the trash in a savepoint of its own: (the ids moved, the refused ones with the reason —
    a legal hold, already in the trash). A refusal is a ``denied`` line in the trail; the others go on."""
    moved: list[int] = []
    refused: dict[int, str] = {}
    for asset_id in dict.fromkeys(asset_ids):
        try:
            with session.begin_nested():
                trash_asset(session, asset_id, by=by, role=role, ip=ip)
        except (Conflict, NotFound) as exc:
            refused[asset_id] = str(exc)
            if isinstance(exc, Conflict):
                record(session, actor=by, role=role, ip=ip, action="delete", outcome="denied", asset_id=asset_id,
                       subject=str(exc))
            continue
        moved.append(asset_id)
    return moved, refused


def recover_asset(session: Session, asset_id: int, *, by: str, role: str | None, ip: str | None = None) -> Asset:
    asset = session.get(Asset, asset_id)
    if asset is None or asset.deleted_at is None:
        raise NotFound(f"asset {asset_id} is not in the trash")
    asset.deleted_at, asset.deleted_by = None, None
    record(session, actor=by, role=role, ip=ip, action="delete", asset_id=asset_id,
           subject=f"{asset.name}: taken out of the trash")
    return asset


def purge_blocker(session: Session, asset: Asset, now: datetime | None = None) -> str | None:
    """Why the asset cannot be purged now (None: it can)."""
    now = now or utcnow()
    holds = holds_on(session, asset.id)
    if holds:
        return f"under legal hold {holds[0].id} ({holds[0].reason!r})"
    if asset.retain_until is not None and asset.retain_until > now:
        return f"kept until {asset.retain_until:%Y-%m-%d} (retention)"
    busy = session.scalar(select(Step.kind).join(Version, Version.id == Step.version_id).where(
        Version.asset_id == asset.id, Step.status.in_(("queued", "running"))).limit(1))
    if busy:
        return f"its {busy} step is still running"
    return None


def check_purge(session: Session, asset_id: int) -> Asset:
    """The asset, if it is in the trash and nothing keeps it (UnderHold, UnderRetention, Conflict otherwise)."""
    asset = session.get(Asset, asset_id)
    if asset is None or asset.deleted_at is None:
        raise NotFound(f"asset {asset_id} is not in the trash: only what is in the trash is purged")
    refuse_if_held(session, asset_id, "purged")
    blocker = purge_blocker(session, asset)
    if blocker and "retention" in blocker:
        raise UnderRetention(f"asset {asset_id} is {blocker}: it cannot be purged before")
    if blocker:
        raise Conflict(f"asset {asset_id}: {blocker}; purge it once that ends")
    return asset


def purged_record(session: Session, asset: Asset, *, by: str, role: str | None, ip: str | None = None) -> None:
    """The audit line a purge leaves (what was removed, for good), in the purge's transaction."""
    versions = [{"number": v.number, "sha256": v.content_hash, "size": v.size, "original": v.original_name}
                for v in asset.versions]
    record(session, actor=by, role=role, ip=ip, action="purge", asset_id=asset.id,
           subject=f"{asset.name} (in the trash since {asset.deleted_at:%Y-%m-%d}, by {asset.deleted_by})",
           detail=json.dumps({"versions": versions}))


def trash_view(session: Session, trash_days: int, limit: int = 500) -> list[dict[str, Any]]:
    rows = session.scalars(select(Asset).where(Asset.deleted_at.is_not(None)).order_by(Asset.deleted_at)
                           .limit(limit)).all()
    return [{"asset_id": a.id, "name": a.name, "deleted_at": a.deleted_at, "deleted_by": a.deleted_by,
             "purge_after": a.deleted_at + timedelta(days=trash_days) if a.deleted_at else None,
             "kept": purge_blocker(session, a)} for a in rows]
