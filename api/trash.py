"""Trash routes: delete an asset (to the trash: hidden everywhere, recoverable), the trash's list, take an asset out
of it, and purge one now (for good; never under a legal hold or before its retention ends). What waits
``RUSHES_TRASH_DAYS`` in the trash is purged by the farm itself."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select

from api.auth import Denial, Denied, client_ip, granted_asset
from api.deps import DB, CanDelete, CanManageLifecycle, ReadDB
from api.lifecycle import Selection, selected_assets
from catalog.models import Asset
from catalog.permissions import granted_scope
from catalog.trash import recover_asset, trash_asset, trash_assets, trash_view
from pipeline.trash import purge
from rushes.errors import Conflict

router = APIRouter(prefix="/api/v1", tags=["lifecycle"])


@router.delete("/assets/{asset_id}", summary="Move an asset to the trash (recoverable until it is purged)")
def delete_asset(asset_id: int, request: Request, session: DB, user: CanDelete) -> dict[str, Any]:
    granted_asset(session, user, asset_id, "delete")
    try:
        asset = trash_asset(session, asset_id, by=user.name, role=user.role, ip=client_ip(request))
    except Conflict as exc:  # a legal hold: refused, and the refusal is in the trail
        raise Denied(409, str(exc), Denial(user.name, user.role, "delete", asset_id=asset_id, subject=str(exc))) \
            from exc
    return {"asset_id": asset_id, "deleted_at": asset.deleted_at, "deleted_by": asset.deleted_by}


@router.post("/delete", summary="Move a library selection or a collection's assets to the trash")
def delete_selection(body: Selection, request: Request, session: DB, user: CanDelete) -> dict[str, Any]:
    """Each asset on its own: one under a legal hold is refused (listed with the reason, a ``denied`` line in the
    trail) and the others go to the trash."""
    asset_ids = selected_assets(session, user, body, "delete")
    moved, refused = trash_assets(session, asset_ids, by=user.name, role=user.role, ip=client_ip(request))
    return {"deleted": moved, "refused": {str(k): v for k, v in refused.items()}}


@router.get("/trash", summary="What is in the trash (with when it will be purged, or what keeps it)")
def trash(request: Request, session: ReadDB, user: CanDelete) -> dict[str, Any]:
    rows = trash_view(session, request.app.state.farm.settings.trash_days)
    if user.role != "admin":
        mine = set(session.scalars(select(Asset.id).where(Asset.id.in_([r["asset_id"] for r in rows]),
                                                          granted_scope(user))))
        rows = [r for r in rows if r["asset_id"] in mine]
    return {"trash_days": request.app.state.farm.settings.trash_days, "assets": rows}


@router.post("/trash/{asset_id}/recover", summary="Take an asset out of the trash")
def recover(asset_id: int, request: Request, session: DB, user: CanDelete) -> dict[str, Any]:
    granted_asset(session, user, asset_id, "delete")
    recover_asset(session, asset_id, by=user.name, role=user.role, ip=client_ip(request))
    return {"asset_id": asset_id, "deleted_at": None}


@router.post("/trash/{asset_id}/purge", summary="Purge an asset from the trash now: files and rows, for good")
def purge_now(asset_id: int, request: Request, user: CanManageLifecycle) -> dict[str, Any]:
    removed = purge(request.app.state.farm, asset_id, by=user.name, role=user.role, ip=client_ip(request))
    return {"asset_id": asset_id, "removed": [str(p) for p in removed]}
