"""Assets, versions, collections and their media (proxy, poster, original), as far as the caller's grants reach."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import exists, func, select

from api.auth import visible_asset
from api.deps import (
    DB,
    PICTURE_CACHE,
    CanDeliver,
    CanDownloadOriginal,
    CanEditMetadata,
    CanView,
    ReadDB,
    visible_version,
)
from api.events import audit, audit_now
from api.lifecycle import restoring
from catalog.collections import collections_of, put_in_collection, take_out_of_collection
from catalog.metadata import schema_in_force
from catalog.metadata_query import facet_counts, parse_query
from catalog.models import Asset, AssetCollection, AssetMetadata, Collection, Proxy
from catalog.permissions import ACTIONS, asset_scope, can, in_collection, visible_asset_select, visible_collections
from catalog.views import SUMMARY_LOAD, asset_detail, asset_summary
from pipeline.lifecycle import needs_original
from pipeline.retry import retry_asset
from rushes.errors import InvalidInput, NotFound

router = APIRouter(prefix="/api/v1")
Status = Annotated[str | None, Query(pattern="^(queued|processing|ready|failed)$")]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]


@router.get("/me", tags=["auth"], summary="Who the caller is")
def me(user: CanView) -> dict[str, Any]:
    """Name, role and the actions the role may take (the pages show only what the caller can do)."""
    return {"name": user.name, "role": user.role, "can": [a for a in ACTIONS if can(user.role, a)]}


@router.get("/assets", tags=["assets"], summary="Assets the caller may see")
def list_assets(session: ReadDB, user: CanView, status: Status = None, collection: str | None = None,
                q: Annotated[str | None, Query(max_length=500, description="field terms: camera:\"A cam\" "
                                                                         "shoot_date:2026-11-01..2026-11-30")] = None,
                facets: Annotated[str | None, Query(max_length=500, description="facet fields, comma separated")]
                = None, attention: bool | None = None,
                limit: Limit = 100, offset: Offset = 0, after: Offset | None = None) -> dict[str, Any]:
    """Newest first; ``collection`` matches an asset's own collection and those it was added to; ``q`` filters by
    the team's metadata (field terms only: words are for /search); ``attention=true``: assets whose metadata needs
    a person; ``facets``: value counts over the assets the filters allow (every page the same).

    Page with ``after`` (the ``next`` of the page before: the last asset id shown): each page costs the same
    however deep it is. ``offset`` still works, but a deep offset reads every row before it."""
    query = select(Asset).where(asset_scope(user)).order_by(Asset.id.desc())
    clauses: list[Any] = []
    within: list[Any] = [chosen] if (chosen := visible_asset_select(user)) is not None else []
    if status:
        clauses.append(Asset.status == status)
        within.append(select(Asset.id).where(Asset.status == status))
    if collection:
        clauses.append(in_collection(collection))
        within.append(select(Asset.id).where(in_collection(collection)))
    state = schema_in_force(session)
    if q:
        parsed = parse_query(state.schema if state else None, q)
        if parsed.text:
            raise InvalidInput(f"the asset list filters by field terms (field:value); search words with /search: "
                               f"{parsed.text!r}")
        if parsed.filters:
            clauses.append(parsed.clause())
            within += parsed.filters
    if attention is not None:
        needs = exists().where(AssetMetadata.asset_id == Asset.id, AssetMetadata.attention > 0)
        clauses.append(needs if attention else ~needs)
        flagged = select(AssetMetadata.asset_id).where(AssetMetadata.attention > 0)
        within.append(flagged if attention else select(Asset.id).where(Asset.id.not_in(flagged)))
    for clause in clauses:
        query = query.where(clause)
    if after is not None:
        query = query.where(Asset.id < after)
    assets = session.scalars(query.options(*SUMMARY_LOAD).limit(limit).offset(offset)).all()
    body: dict[str, Any] = {"assets": [asset_summary(a) for a in assets], "limit": limit, "offset": offset,
                            "next": assets[-1].id if len(assets) == limit else None}
    if facets:
        if state is None:
            raise InvalidInput("no metadata schema yet: no facets")
        body["facets"] = facet_counts(session, state, [n.strip() for n in facets.split(",") if n.strip()],
                                      within)
    return body


@router.get("/collections", tags=["assets"], summary="Collections the caller may see")
def list_collections(session: ReadDB, user: CanView) -> dict[str, Any]:
    """Each collection with how many assets it holds (its own and added ones).

    Two grouped counts on indexes (an asset is never added to its own collection, catalog/collections.py), not
    a de-duplicated union of every asset."""
    own: dict[int, int] = {cid: n for cid, n in session.execute(
        select(Asset.collection_id, func.count()).group_by(Asset.collection_id))}
    added: dict[int, int] = {cid: n for cid, n in session.execute(
        select(AssetCollection.collection_id, func.count()).group_by(AssetCollection.collection_id))}
    rows = session.execute(select(Collection.id, Collection.name).where(visible_collections(user))
                           .order_by(Collection.name)).all()
    return {"collections": [{"name": name, "assets": own.get(cid, 0) + added.get(cid, 0)} for cid, name in rows]}


class CollectionChange(BaseModel):
    collection: str = Field(min_length=1, max_length=200, pattern=r"^[^/\\]+$",
                            description="the collection's name (made when new)")
    move: bool = Field(False, description="true: make it the asset's own collection; false: add the asset to it")


@router.post("/assets/{asset_id}/collections", tags=["assets"], summary="Add an asset to a collection, or move it")
def change_collection(asset_id: int, body: CollectionChange, request: Request, session: DB,
                      user: CanEditMetadata) -> dict[str, Any]:
    asset = visible_asset(session, user, asset_id, "edit_metadata")
    result = put_in_collection(session, asset, body.collection, move=body.move, by=user.name)
    audit(request, session, user, "collection change", asset_id=asset.id,
          subject=f"{'moved to' if body.move else 'added to'} {body.collection}")
    return result


@router.delete("/assets/{asset_id}/collections/{name}", tags=["assets"],
               summary="Take an asset out of a collection it was added to")
def remove_from_collection(asset_id: int, name: str, request: Request, session: DB,
                           user: CanEditMetadata) -> dict[str, Any]:
    asset = visible_asset(session, user, asset_id, "edit_metadata")
    result = take_out_of_collection(session, asset, name)
    audit(request, session, user, "collection change", asset_id=asset.id, subject=f"removed from {name}")
    return result


@router.get("/assets/{asset_id}", tags=["assets"],
            summary="One asset with its versions and steps (and ``also_in``: the collections it was added to)")
def get_asset(asset_id: int, request: Request, session: DB, user: CanView) -> dict[str, Any]:
    asset = visible_asset(session, user, asset_id)
    detail = {**asset_detail(asset), "also_in": collections_of(session, asset)["also_in"]}
    if "authorization" in request.headers:  # the pages record their own view (api/pages.py), once per page
        audit(request, session, user, "view asset", asset_id=asset_id, subject="api")
    return detail


@router.post("/assets/{asset_id}/retry", tags=["assets"], summary="Re-queue the failed steps of the newest version")
def retry(asset_id: int, request: Request, user: CanDeliver) -> dict[str, Any]:
    with request.app.state.farm.sessions() as session:
        visible_asset(session, user, asset_id, "deliver")
    retried = retry_asset(request.app.state.farm, asset_id)  # writes in its own transaction
    audit_now(request, user, "retry", asset_id=asset_id, subject=", ".join(retried) or "nothing failed")
    return {"asset_id": asset_id, "retried_steps": retried}


@router.get("/versions/{version_id}", tags=["assets"], summary="One version")
def get_version(version_id: int, session: DB, user: CanView) -> dict[str, Any]:
    detail = asset_detail(visible_version(session, user, version_id).asset)
    return next(v for v in detail["versions"] if v["id"] == version_id)


@router.get("/versions/{version_id}/proxy", tags=["media"], response_class=FileResponse,
            summary="The proxy MP4 (HTTP Range)")
def proxy(version_id: int, request: Request, session: DB, user: CanView) -> FileResponse:
    version = visible_version(session, user, version_id)
    row = session.get(Proxy, version_id)
    if row is None or not Path(row.path).is_file():
        raise NotFound(f"version {version_id} has no proxy (yet)")
    if request.headers.get("range", "bytes=0-").startswith("bytes=0-"):  # once per playback, not per range read
        audit(request, session, user, "download proxy", asset_id=version.asset_id, version_id=version_id)
    return FileResponse(row.path, media_type="video/mp4", filename=f"proxy-{version_id}.mp4",
                        content_disposition_type="inline")


@router.get("/versions/{version_id}/poster", tags=["media"], response_class=FileResponse, summary="The poster JPEG")
def poster(version_id: int, session: ReadDB, user: CanView) -> FileResponse:
    visible_version(session, user, version_id)
    row = session.get(Proxy, version_id)
    if row is None or not row.poster_path or not Path(row.poster_path).is_file():
        raise NotFound(f"version {version_id} has no poster (yet)")
    return FileResponse(row.poster_path, media_type="image/jpeg", headers=PICTURE_CACHE)


@router.get("/versions/{version_id}/original", tags=["media"], response_class=FileResponse,
            summary="The original camera file as ingested (HTTP Range)")
def original(version_id: int, request: Request, session: DB, user: CanDownloadOriginal) -> Response:
    version = visible_version(session, user, version_id, "download_original")
    if needs_original(session, version_id):  # archived: one restore however many ask; the client comes back
        return restoring(request, session, version_id, user, f"version {version_id}'s original")
    path = Path(version.stored_path or "")
    if not path.is_file():
        raise NotFound(f"version {version_id} has no stored original")
    audit(request, session, user, "download original", asset_id=version.asset_id, version_id=version_id)
    return FileResponse(path, media_type=mimetypes.guess_type(version.original_name)[0] or "application/octet-stream",
                        filename=version.original_name, headers={"X-Checksum-SHA256": version.content_hash})
