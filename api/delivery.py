"""Delivery routes: presets, renditions with their QC reports, approval, and distribution targets.

A target's token reaches only its own feed and downloads; everything else answers 403 to it.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import client_ip, current_user, visible_asset
from api.deps import DB, CanApprove, CanDeliver, CanDownloadRendition, CanManageUsers, Reader, visible_version
from api.events import audit
from api.lifecycle import restoring
from catalog.lookup import version_of
from catalog.models import DeliveryEvent, Rendition, Step, Target, User
from catalog.rights import channel_name, territory_code
from delivery.presets import load_preset, load_presets
from delivery.targets import create_target, deliverable, eligible, judge, media_rss, record
from pipeline.renditions import request_rendition
from rushes.errors import ConfigError, NotApproved, NotFound

router = APIRouter(prefix="/api/v1", tags=["delivery"])
Anyone = Annotated[User, Depends(current_user)]


def preset_view(preset: Any) -> dict[str, Any]:
    return {"name": preset.name, "category": preset.category, "title": preset.title, "spec": preset.spec,
            "container": preset.container, "hash": preset.content_hash, "definition": preset.model_dump(mode="json")}


def rendition_view(rendition: Rendition, step: Step | None = None) -> dict[str, Any]:
    return {
        "id": rendition.id, "version_id": rendition.version_id, "preset": rendition.preset,
        "preset_hash": rendition.preset_hash, "tools": rendition.tools, "status": rendition.status,
        "error": rendition.error, "size": rendition.size, "sha256": rendition.sha256, "qc": rendition.qc,
        "created_at": rendition.created_at.isoformat(),
        "finished_at": rendition.finished_at.isoformat() if rendition.finished_at else None,
        "progress": step.progress if step else None,
        "download_url": f"/api/v1/renditions/{rendition.id}/download" if rendition.status == "ready" else None,
    }


def rendition_step(session: Session, rendition: Rendition) -> Step | None:
    """The render step of a rendition (its progress)."""
    return session.scalar(select(Step).where(Step.rendition_id == rendition.id))


@router.get("/presets")
def presets_route(user: Reader) -> dict[str, Any]:
    return {"presets": [preset_view(p) for p in load_presets().values()]}


@router.get("/presets/{name:path}")
def preset_route(name: str, user: Reader) -> dict[str, Any]:
    try:
        return preset_view(load_preset(name))
    except ConfigError as exc:
        raise NotFound(str(exc)) from exc


class RenditionRequest(BaseModel):
    preset: str = Field(description="a preset name, e.g. web/h264-720p")
    version: int | None = Field(None, description="the version number; default the newest")


@router.post("/assets/{asset_id}/renditions", status_code=202)
def request_route(asset_id: int, body: RenditionRequest, request: Request, user: CanDeliver) -> dict[str, Any]:
    farm = request.app.state.farm
    with farm.sessions() as session:  # short reads: the request below writes in its own transaction
        version_id = version_of(visible_asset(session, user, asset_id, "deliver"), body.version).id
    rendition_id, new = request_rendition(farm, version_id, body.preset, user.name, role=user.role,
                                          ip=client_ip(request))
    with farm.sessions() as session:
        rendition = session.get(Rendition, rendition_id)
        assert rendition is not None
        return {**rendition_view(rendition, rendition_step(session, rendition)), "new": new}


@router.get("/assets/{asset_id}/renditions")
def renditions_route(asset_id: int, session: DB, user: Reader) -> dict[str, Any]:
    asset = visible_asset(session, user, asset_id)
    rows = session.scalars(select(Rendition).where(Rendition.version_id.in_([v.id for v in asset.versions]))
                           .order_by(Rendition.id))
    return {"asset_id": asset_id, "renditions": [rendition_view(r, rendition_step(session, r)) for r in rows]}


def _rendition(session: Session, rendition_id: int, user: User | None = None, action: str = "view") -> Rendition:
    """The rendition; with ``user``, only if their grants reach its asset (404 otherwise)."""
    rendition = session.get(Rendition, rendition_id)
    if rendition is None:
        raise NotFound(f"no rendition {rendition_id}")
    if user is not None:
        visible_version(session, user, rendition.version_id, action)
    return rendition


@router.get("/renditions/{rendition_id}")
def rendition_route(rendition_id: int, session: DB, user: Reader) -> dict[str, Any]:
    rendition = _rendition(session, rendition_id, user)
    return rendition_view(rendition, rendition_step(session, rendition))


def _file(rendition: Rendition) -> FileResponse:
    path = Path(rendition.path or "")
    if rendition.status != "ready" or not path.is_file():
        raise NotFound(f"rendition {rendition.id} has no file to take (status {rendition.status})")
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type, filename=path.name,
                                        headers={"X-Checksum-SHA256": rendition.sha256 or ""})


@router.get("/renditions/{rendition_id}/download", response_class=FileResponse)
def download_route(rendition_id: int, request: Request, session: DB, user: CanDownloadRendition) -> Response:
    """The rendition's file, only once its version is approved (rendering before approval is for preview/QC)."""
    rendition = _rendition(session, rendition_id, user, "download_rendition")
    version = rendition.version
    if version.approved_at is None:
        raise NotApproved(f"version {version.number} of {version.asset.name} is not approved; "
                          "only approved versions can be delivered")
    if rendition.storage == "archive":
        return restoring(request, session, rendition.version_id, user, f"rendition {rendition.id}")
    response = _file(rendition)
    record(session, user.name, "download", rendition_id=rendition.id)
    audit(request, session, user, "download rendition", asset_id=version.asset_id, version_id=version.id,
          subject=f"rendition {rendition.id} ({rendition.preset})")
    return response


@router.post("/assets/{asset_id}/versions/{number}/approve")
def approve_route(asset_id: int, number: int, request: Request, user: CanApprove) -> dict[str, Any]:
    """The caller approves a ready version (409 otherwise); it is approved once the approval rule is met."""
    from api.review import submit_review  # api.review builds on this module

    _, status = submit_review(request, asset_id, number, user, "approve")
    return {"asset_id": asset_id, "version": number, "approved": status == "approved", "review_status": status}


class TargetRequest(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    kind: str = Field(pattern="^(pull|push)$")
    presets: list[str]
    folder: str | None = None
    channel: str | None = Field(None, description="broadcast, web or social: what its deliveries count as for the "
                                                  "rights; default each preset's category (audio counts as broadcast)")
    territory: str | None = Field(None, description="the ISO 3166-1 alpha-2 country it publishes in, e.g. GB; "
                                                    "default worldwide")

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        return channel_name(value) if value else None

    @field_validator("territory")
    @classmethod
    def _territory(cls, value: str | None) -> str | None:
        return territory_code(value) if value else None


@router.post("/targets", status_code=201)
def create_target_route(body: TargetRequest, request: Request, session: DB, user: CanManageUsers) -> dict[str, Any]:
    for name in body.presets:
        load_preset(name)  # a ConfigError names the unknown preset
    target, token = create_target(session, body.name, body.kind, body.presets, body.folder, channel=body.channel,
                                  territory=body.territory)
    audit(request, session, user, "target change", subject=f"added {body.kind} target {body.name}",
          detail=", ".join(body.presets))
    return {"name": target.name, "kind": target.kind, "presets": target.preset_names, "folder": target.folder,
            "channel": target.channel, "territory": target.territory, "token": token}


@router.get("/targets")
def targets_route(session: DB, user: CanManageUsers) -> dict[str, Any]:
    return {"targets": [{"name": t.name, "kind": t.kind, "presets": t.preset_names, "folder": t.folder,
                         "channel": t.channel, "territory": t.territory}
                        for t in session.scalars(select(Target).order_by(Target.name))]}


@router.get("/deliveries")
def deliveries_route(session: DB, user: CanManageUsers,
                     limit: Annotated[int, Query(ge=1, le=5000)] = 200) -> dict[str, Any]:
    events = session.scalars(select(DeliveryEvent).order_by(DeliveryEvent.id.desc()).limit(min(limit, 1000)))
    return {"events": [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "target": e.target,
                        "rendition_id": e.rendition_id, "detail": e.detail} for e in events]}


def _target_for(session: Session, name: str, user: User) -> Target:
    """The target ``name`` if ``user`` may read it: its own machine user, or an admin; else 404/403."""
    target = session.scalar(select(Target).where(Target.name == name))
    if user.role != "admin" and (target is None or target.user_id != user.id):
        raise NotFound(f"no target {name} for this token")  # a target learns nothing of the others
    if target is None:
        raise NotFound(f"no target {name}")
    if target.kind != "pull":
        raise ConfigError(f"target {name} is a push target; it has no feed")
    return target


def _feed_items(session: Session, target: Target) -> list[dict[str, Any]]:
    items = []
    for rendition in deliverable(session, target):
        version = rendition.version
        path = Path(rendition.path or "")
        items.append({
            "id": rendition.id, "asset_id": version.asset_id, "asset": version.asset.name,
            "version": version.number, "preset": rendition.preset, "size": rendition.size,
            "sha256": rendition.sha256, "file": path.name,
            "mime_type": mimetypes.guess_type(path.name)[0] or "application/octet-stream",
            "ready_at": (rendition.finished_at or rendition.created_at).isoformat(),
            "download_url": f"/api/v1/targets/{target.name}/renditions/{rendition.id}"
                            + ("/master.m3u8" if path.is_dir() else ""),
        })
    return items


@router.get("/targets/{name}/feed")
def feed_route(name: str, request: Request, session: DB, user: Anyone) -> dict[str, Any]:
    target = _target_for(session, name, user)
    items = _feed_items(session, target)
    record(session, user.name, "feed", target=name, detail=f"{len(items)} item(s)")
    audit(request, session, user, "feed", subject=f"target {name}", detail=f"{len(items)} item(s)")
    return {"target": name, "renditions": items}


@router.get("/targets/{name}/feed.rss")
def feed_rss_route(name: str, request: Request, session: DB, user: Anyone) -> Response:
    target = _target_for(session, name, user)
    items = _feed_items(session, target)
    record(session, user.name, "feed", target=name, detail=f"rss, {len(items)} item(s)")
    audit(request, session, user, "feed", subject=f"target {name} (rss)", detail=f"{len(items)} item(s)")
    base = str(request.base_url).rstrip("/")
    return Response(media_rss(target, items, base), media_type="application/rss+xml")


def _deliverable(request: Request, session: Session, name: str, rendition_id: int,
                 user: User) -> Rendition | JSONResponse:
    """The rendition if the target may take it now; 404 if it is not the target's to take (not approved, not QC
    passed, another preset); a 403 answer with the reason (logged as ``refused``) if its rights do not allow it."""
    target = _target_for(session, name, user)
    judged = judge(session, target, [r for r in eligible(session, target) if r.id == rendition_id])
    if not judged:
        raise NotFound(f"rendition {rendition_id} is not in {name}'s feed")
    [(rendition, verdict)] = judged
    if not verdict.allowed:  # answered, not raised: the request's transaction keeps the log line
        record(session, user.name, "refused", target=name, rendition_id=rendition.id, detail=verdict.reason)
        audit(request, session, user, "download", outcome="denied", version_id=rendition.version_id,
              subject=f"target {name}: rendition {rendition.id}", detail=verdict.reason)
        return JSONResponse({"error": f"rendition {rendition_id} may not go to {name}: {verdict.reason}",
                             "status": 403}, status_code=403)
    return rendition


@router.get("/targets/{name}/renditions/{rendition_id}", response_class=FileResponse)
def target_download_route(name: str, rendition_id: int, request: Request, session: DB, user: Anyone) -> Response:
    """The file, if the rendition is in the target's feed now; 403 with the reason when its rights refuse it."""
    rendition = _deliverable(request, session, name, rendition_id, user)
    if isinstance(rendition, JSONResponse):
        return rendition
    if rendition.storage == "archive":  # the target comes back when it has been restored
        return restoring(request, session, rendition.version_id, user, f"rendition {rendition.id}")
    response = _file(rendition)
    record(session, user.name, "download", target=name, rendition_id=rendition.id, detail="ok")
    audit(request, session, user, "download", version_id=rendition.version_id,
          subject=f"target {name}: rendition {rendition.id}")
    return response


@router.get("/targets/{name}/renditions/{rendition_id}/{file:path}", response_class=FileResponse)
def target_package_file_route(name: str, rendition_id: int, file: str, request: Request, session: DB,
                              user: Anyone) -> Response:
    """One file of an HLS package (the master playlist's relative links resolve here)."""
    rendition = _deliverable(request, session, name, rendition_id, user)
    if isinstance(rendition, JSONResponse):
        return rendition
    package = Path(rendition.path or "").resolve()
    wanted = (package / file).resolve()
    if not package.is_dir() or package not in wanted.parents or not wanted.is_file():
        raise NotFound(f"rendition {rendition_id} has no file {file!r}")
    record(session, user.name, "download", target=name, rendition_id=rendition.id, detail=file)
    if file.endswith(".m3u8") and "/" not in file:  # once per package, not per segment
        audit(request, session, user, "download", version_id=rendition.version_id,
              subject=f"target {name}: rendition {rendition.id} ({file})")
    return FileResponse(wanted, media_type=mimetypes.guess_type(wanted.name)[0] or "application/octet-stream")
