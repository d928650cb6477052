"""Lifecycle routes: archive and restore (an asset, a library selection or a collection), legal holds, retention,
and the storage report.

Archiving and restoring are farm steps: a request answers 202 with what was queued, and the asset's ``storage``
says where each original is and how far a move has come. A legal hold refuses archiving for everyone (409, and a
``denied`` line in the audit trail).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Denial, Denied, client_ip, granted_asset, visible_asset
from api.deps import DB, CanArchive, CanHold, CanRestore, ReadDB, Reader
from catalog.holds import extend_retention, holds_on, lift_hold, place_hold
from catalog.models import Asset, Collection, LegalHold, User
from catalog.permissions import asset_scope, in_collection
from catalog.storage_report import storage_report
from pipeline.lifecycle import move_assets, restore_version, storage_of, versions_of
from rushes.errors import NotFound

router = APIRouter(prefix="/api/v1", tags=["lifecycle"])
SELECTION_LIMIT = 10_000
RESTORE_RETRY_S = 10  # how soon a download of an archived file is worth asking again


def restoring(request: Request, session: Session, version_id: int, user: User, what: str) -> JSONResponse:
    """The answer to a download of a file in the archive: its version's restore asked (one however many ask), the
    request's transaction committed, and 202 with ``Retry-After``."""
    messages = restore_version(session, version_id, by=user.name, role=user.role, why="a download waits for it",
                               ip=client_ip(request))
    session.commit()
    request.app.state.farm.send(messages)
    return JSONResponse(status_code=202, headers={"Retry-After": str(RESTORE_RETRY_S)}, content={
        "status": "restoring", "detail": f"{what} is in the archive: it is being restored; ask again in "
                                         f"{RESTORE_RETRY_S} s"})


class Selection(BaseModel):
    """Assets by id (a library selection) or every asset of a collection the caller sees."""

    assets: list[int] | None = Field(None, max_length=SELECTION_LIMIT, description="asset ids")
    collection: str | None = Field(None, max_length=200, description="a collection's name")

    @model_validator(mode="after")
    def _one(self) -> Selection:
        if (self.assets is None) == (self.collection is None):
            raise ValueError("give either assets (ids) or a collection")
        return self


class ArchiveSelection(Selection):
    location: str | None = Field(None, max_length=64, description="archive location; default the first configured")
    renditions: bool | None = Field(None, description="move the versions' renditions too (default: "
                                                      "RUSHES_ARCHIVE_RENDITIONS)")


class HoldSelection(Selection):
    reason: str = Field(min_length=1, max_length=2000, description="the matter, a case number")


class HoldRequest(BaseModel):
    asset_id: int | None = Field(None, ge=1)
    collection: str | None = Field(None, max_length=200)
    reason: str = Field(min_length=1, max_length=2000, description="the matter, a case number")


class LiftRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class RetentionRequest(BaseModel):
    until: datetime = Field(description="keep the asset at least until then (extend only)")


def selected_assets(session: Session, user: User, selection: Selection, action: str) -> list[int]:
    if selection.collection is not None:
        if session.scalar(select(Collection.id).where(Collection.name == selection.collection)) is None:
            raise NotFound(f"no collection {selection.collection!r}")
        return list(session.scalars(select(Asset.id).where(in_collection(selection.collection), asset_scope(user))
                                    .order_by(Asset.id).limit(SELECTION_LIMIT)))
    for asset_id in selection.assets or []:
        visible_asset(session, user, asset_id, action)
    return list(dict.fromkeys(selection.assets or []))


def _move(request: Request, user: User, action: str, location: str | None, *, asset_id: int | None = None,
          selection: Selection | None = None, renditions: bool | None = None) -> dict[str, Any]:
    """Queue the moves in a transaction of their own, then send them (a message lost here is sent again by the
    reconciler). A version a hold or its state refuses is listed with the reason; the others go on."""
    farm = request.app.state.farm
    with farm.transaction() as session:
        if asset_id is not None:
            visible_asset(session, user, asset_id, action)
            asset_ids = [asset_id]
        else:
            assert selection is not None
            asset_ids = selected_assets(session, user, selection, action)
        queued, refused, messages = move_assets(session, farm.settings, asset_ids, action, by=user.name,
                                                role=user.role, why="asked by a person", location=location,
                                                renditions=renditions, ip=client_ip(request))
        result = {"queued": [v.id for v in queued], "refused": {str(v.id): why for v, why in refused}}
    farm.send(messages)
    return result


@router.post("/assets/{asset_id}/archive", status_code=202, summary="Send the asset's originals to the archive")
def archive_asset(asset_id: int, request: Request, user: CanArchive, location: str | None = None,
                  renditions: bool | None = None) -> dict[str, Any]:
    """``renditions``: move the ready renditions too (default ``RUSHES_ARCHIVE_RENDITIONS``)."""
    result = _move(request, user, "archive", location, asset_id=asset_id, renditions=renditions)
    if result["refused"] and not result["queued"]:
        reason = next(iter(result["refused"].values()))
        raise Denied(409, reason, Denial(user.name, user.role, "archive", asset_id=asset_id, subject=reason))
    return result


@router.post("/assets/{asset_id}/restore", status_code=202, summary="Bring the asset's archived originals back")
def restore_asset(asset_id: int, request: Request, user: CanRestore) -> dict[str, Any]:
    return _move(request, user, "restore", None, asset_id=asset_id)


@router.post("/archive", status_code=202, summary="Archive a library selection or a collection")
def archive_selection(body: ArchiveSelection, request: Request, user: CanArchive) -> dict[str, Any]:
    return _move(request, user, "archive", body.location, selection=body, renditions=body.renditions)


@router.post("/restore", status_code=202, summary="Restore a library selection or a collection")
def restore_selection(body: Selection, request: Request, user: CanRestore) -> dict[str, Any]:
    return _move(request, user, "restore", None, selection=body)


@router.get("/assets/{asset_id}/storage", summary="Where each version's original is, and its holds and retention")
def asset_storage(asset_id: int, request: Request, session: ReadDB, user: Reader) -> dict[str, Any]:
    asset = visible_asset(session, user, asset_id)
    return {"asset_id": asset_id, "retain_until": asset.retain_until,
            "archive_renditions": request.app.state.farm.settings.archive_renditions,
            "holds": [_hold(h) for h in holds_on(session, asset_id)],
            "versions": [{"version_id": v.id, "number": v.number, "size": v.size, **storage_of(session, v)}
                         for v in versions_of(session, [asset_id])]}


def _hold(hold: LegalHold) -> dict[str, Any]:
    return {"id": hold.id, "asset_id": hold.asset_id, "collection_id": hold.collection_id, "reason": hold.reason,
            "placed_by": hold.placed_by, "placed_at": hold.placed_at, "lifted_by": hold.lifted_by,
            "lifted_at": hold.lifted_at, "lift_reason": hold.lift_reason}


@router.get("/holds", summary="Legal holds (in force, or all with ?all=true)")
def holds(session: ReadDB, user: CanHold, all: bool = False) -> list[dict[str, Any]]:
    query = select(LegalHold).order_by(LegalHold.id)
    if not all:
        query = query.where(LegalHold.lifted_at.is_(None))
    return [_hold(h) for h in session.scalars(query)]


@router.post("/holds", status_code=201, summary="Place a legal hold on an asset or a collection")
def new_hold(body: HoldRequest, request: Request, session: DB, user: CanHold) -> dict[str, Any]:
    if body.asset_id is not None:  # in the trash too: a hold keeps it from being purged
        granted_asset(session, user, body.asset_id, "hold")
    hold = place_hold(session, by=user.name, role=user.role, reason=body.reason, asset_id=body.asset_id,
                      collection=body.collection, ip=client_ip(request))
    return _hold(hold)


@router.post("/hold", status_code=201, summary="Legal holds on a library selection (one an asset) or a collection")
def hold_selection(body: HoldSelection, request: Request, session: DB, user: CanHold) -> dict[str, Any]:
    if body.collection is not None:
        placed = [place_hold(session, by=user.name, role=user.role, reason=body.reason, collection=body.collection,
                             ip=client_ip(request))]
    else:
        for asset_id in body.assets or []:  # in the trash too: a hold keeps it from being purged
            granted_asset(session, user, asset_id, "hold")
        placed = [place_hold(session, by=user.name, role=user.role, reason=body.reason, asset_id=asset_id,
                             ip=client_ip(request)) for asset_id in dict.fromkeys(body.assets or [])]
    return {"holds": [_hold(h) for h in placed]}


@router.post("/holds/{hold_id}/lift", summary="Lift a legal hold (a reason is required)")
def lift(hold_id: int, body: LiftRequest, request: Request, session: DB, user: CanHold) -> dict[str, Any]:
    return _hold(lift_hold(session, hold_id, by=user.name, role=user.role, reason=body.reason,
                           ip=client_ip(request)))


@router.put("/assets/{asset_id}/retention", summary="Keep an asset at least until a date (extend only)")
def retention(asset_id: int, body: RetentionRequest, request: Request, session: DB, user: CanHold) -> dict[str, Any]:
    granted_asset(session, user, asset_id, "hold")  # in the trash too: retention keeps it from being purged
    asset = extend_retention(session, asset_id, body.until, by=user.name, role=user.role, ip=client_ip(request))
    return {"asset_id": asset_id, "retain_until": asset.retain_until}


@router.get("/storage", summary="Bytes per collection and tier")
def storage(session: ReadDB, user: CanArchive) -> dict[str, Any]:
    rows = storage_report(session)
    return {"rows": [{"collection": r.collection, "tier": r.tier, "files": r.files, "bytes": r.bytes} for r in rows],
            "total_bytes": sum(r.bytes for r in rows)}
