"""Analysis routes: search at timecodes, scenes with keyframes, transcripts, QC, editor exports."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import opentimelineio as otio
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import visible_asset
from api.deps import DB, PICTURE_CACHE, CanEditMetadata, ReadDB, Reader, visible_version
from api.events import audit
from api.semantic import semantic_of
from catalog.lookup import version_of
from catalog.metadata import SchemaInForce, schema_in_force
from catalog.metadata_query import facet_counts, parse_query
from catalog.metadata_values import log_notes
from catalog.models import Asset, MediaInfoRow, QCReport, Scene, Transcript, TranscriptSegment, User, Version
from catalog.permissions import asset_scope, in_collection, visible_asset_select
from catalog.search import SearchFilters
from catalog.semantic import hybrid
from catalog.tag_trust import decide, decisions_of
from catalog.views import Clock, scene_view, search_hits
from delivery.edit_export import Marker, to_csv, to_edl, to_otio
from rushes.errors import InvalidInput, NotFound

router = APIRouter(prefix="/api/v1", tags=["analysis"])


@router.get("/search")
def search_route(request: Request, session: DB, user: Reader, q: Annotated[str, Query(min_length=1, max_length=500)],
                 collection: str | None = None,
                 status: Annotated[str | None, Query(pattern="^(queued|processing|ready|failed)$")] = None,
                 kind: Annotated[str | None, Query(pattern="^(transcript|ocr|tag|name|metadata|field|log)$")] = None,
                 created_from: datetime | None = None, created_to: datetime | None = None,
                 min_duration: Annotated[float | None, Query(ge=0)] = None,
                 max_duration: Annotated[float | None, Query(ge=0)] = None,
                 has_faces: bool | None = None,
                 facets: Annotated[str | None, Query(max_length=500, description="facet fields, comma separated")]
                 = None,
                 mode: Annotated[Literal["hybrid", "words", "meaning"], Query(
                     description="hybrid: words and meaning fused (default, when documents have embeddings); "
                                 "words: full text only; meaning: embeddings only")] = "hybrid",
                 limit: Annotated[int, Query(ge=1, le=500)] = 50,
                 offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0) -> dict[str, Any]:
    """Hits at timecodes. Field terms in ``q`` (``camera:"A cam" shoot_date:2026-11-01..2026-11-30``) filter the
    assets; a query of field terms only lists the matching assets (kind ``asset``). ``facets``: value counts of
    those fields over the assets the filters (not the words) allow."""
    state = schema_in_force(session)
    parsed = parse_query(state.schema if state else None, q)
    filters = SearchFilters(collection=collection, status=status, kind=kind, created_from=created_from,
                            created_to=created_to, min_duration_s=min_duration, max_duration_s=max_duration,
                            has_faces=has_faces, asset_scope=asset_scope(user), metadata=parsed.clause())
    semantic = semantic_of(request)
    used = "words"
    if mode != "words" and parsed.text and semantic.any_text(session):
        embedder, index = semantic.text()
        vector = embedder.embed([parsed.text])[0]
        ranked = hybrid(session, parsed.text, vector, index, filters, limit=limit, offset=offset,
                        words=mode == "hybrid", **semantic.narrowing(session, user))
        hits = search_hits(session, parsed.text, filters, found=ranked)
        used = mode
    elif mode == "meaning" and parsed.text:
        hits, used = [], "meaning"  # nothing embedded (yet): no document can be found by its meaning
    else:
        hits = search_hits(session, parsed.text, filters, limit=limit, offset=offset)
    audit(request, session, user, "search", subject=q[:500], detail=f"{len(hits)} hit(s) by {used}")
    body: dict[str, Any] = {"query": q, "text": parsed.text, "mode": used,
                            "filters": [vars(f) for f in parsed.filters], "hits": hits, "limit": limit,
                            "offset": offset}
    if facets:
        body["facets"] = _facets(session, user, state, facets, list(parsed.filters), collection)
    return body


def _facets(session: Session, user: User, state: SchemaInForce | None, names: str,
            selects: list[Any], collection: str | None) -> dict[str, Any]:
    if state is None:
        raise InvalidInput("no metadata schema yet: no facets")
    within = [chosen] if (chosen := visible_asset_select(user)) is not None else []
    within += selects
    if collection:
        within.append(select(Asset.id).where(in_collection(collection)))
    return facet_counts(session, state, [n.strip() for n in names.split(",") if n.strip()], within)


@router.get("/assets/{asset_id}/scenes")
def scenes_route(asset_id: int, request: Request, session: DB, user: Reader,
                 version: int | None = None) -> dict[str, Any]:
    chosen = version_of(visible_asset(session, user, asset_id), version)
    clock = Clock(session.get(MediaInfoRow, chosen.id))
    scenes = session.scalars(select(Scene).where(Scene.version_id == chosen.id).order_by(Scene.index))
    decided = decisions_of(session, chosen.id)
    threshold = request.app.state.farm.settings.tag_min_confidence
    return {"asset_id": asset_id, "version": chosen.number, "tag_min_confidence": threshold,
            "scenes": [scene_view(s, clock, decided.get(s.index, {}), threshold) for s in scenes]}


class TagDecisionRequest(BaseModel):
    label: str = Field(min_length=1, max_length=200, description="one of the shot's keyframe labels")
    decision: Literal["accept", "reject"] = Field(description="accept: it becomes the asset's metadata (keywords); "
                                                              "reject: never shown or searched for this shot again")
    version: int | None = Field(None, ge=1, description="version number; default the newest")


@router.post("/assets/{asset_id}/scenes/{index}/tags", summary="Accept or reject a keyframe tag of a shot")
def decide_tag(asset_id: int, index: int, body: TagDecisionRequest, request: Request, session: DB,
               user: CanEditMetadata) -> dict[str, Any]:
    chosen = version_of(visible_asset(session, user, asset_id, "edit_metadata"), body.version)
    settings = request.app.state.farm.settings
    state = schema_in_force(session)
    return decide(session, state.schema if state else None, chosen, index, body.label, body.decision, by=user.name,
                  role=user.role, min_confidence=settings.tag_min_confidence,
                  keywords_field=settings.accepted_tags_field)


def _transcript(session: Session, user: User, asset_id: int, version: int | None) -> tuple[Version, Transcript]:
    chosen = version_of(visible_asset(session, user, asset_id), version)
    transcript = session.get(Transcript, chosen.id)
    if transcript is None:
        raise NotFound(f"asset {asset_id} version {chosen.number} has no transcript (yet, or no audio)")
    return chosen, transcript


@router.get("/assets/{asset_id}/transcript")
def transcript_route(asset_id: int, session: DB, user: Reader, version: int | None = None) -> dict[str, Any]:
    chosen, transcript = _transcript(session, user, asset_id, version)
    clock = Clock(session.get(MediaInfoRow, chosen.id))
    segments = session.scalars(select(TranscriptSegment).where(TranscriptSegment.version_id == chosen.id)
                               .order_by(TranscriptSegment.index))
    return {
        "asset_id": asset_id, "version": chosen.number, "language": transcript.language,
        "language_probability": transcript.language_probability, "model": transcript.model,
        "languages": transcript.languages or {},
        "segments": [{"index": s.index, "start_s": s.start_s, "end_s": s.end_s, "start_tc": clock(s.start_s),
                      "text": s.text, "confidence": s.confidence, "language": s.language,
                      "words": (s.words or {}).get("words", [])}
                     for s in segments],
    }


def _sidecar_file(version: Version, name: str) -> Path:
    path = Path(version.stored_path or "").parent / name
    if not path.is_file():
        raise NotFound(f"version {version.id} has no {name} (yet)")
    return path


@router.get("/assets/{asset_id}/transcript.vtt", response_class=PlainTextResponse)
def transcript_vtt(asset_id: int, session: DB, user: Reader, version: int | None = None) -> Response:
    chosen, _ = _transcript(session, user, asset_id, version)
    return FileResponse(_sidecar_file(chosen, "transcript.vtt"), media_type="text/vtt")


@router.get("/assets/{asset_id}/transcript.srt", response_class=PlainTextResponse)
def transcript_srt(asset_id: int, session: DB, user: Reader, version: int | None = None) -> Response:
    chosen, _ = _transcript(session, user, asset_id, version)
    return FileResponse(_sidecar_file(chosen, "transcript.srt"), media_type="application/x-subrip")


@router.get("/assets/{asset_id}/qc")
def qc_route(asset_id: int, session: DB, user: Reader, version: int | None = None) -> dict[str, Any]:
    chosen = version_of(visible_asset(session, user, asset_id), version)
    report = session.get(QCReport, chosen.id)
    if report is None:
        raise NotFound(f"asset {asset_id} version {chosen.number} has no QC report (yet)")
    clock = Clock(session.get(MediaInfoRow, chosen.id))
    events = {kind: [{**seg, "start_tc": clock(seg["start_s"]), "end_tc": clock(seg["end_s"])}
                     for seg in report.report.get(kind, [])]
              for kind in ("black", "freeze", "flash", "silence", "clipping")}
    transitions = [{**t, "start_tc": clock(t["start_s"]), "end_tc": clock(t["end_s"])}
                   for t in report.report.get("transitions", [])]
    return {"asset_id": asset_id, "version": chosen.number, "integrated_lufs": report.integrated_lufs,
            "loudness_range_lu": report.loudness_range_lu, "true_peak_dbtp": report.true_peak_dbtp, **events,
            "transitions": transitions}


@router.get("/versions/{version_id}/keyframes/{index}", response_class=FileResponse)
def keyframe_route(version_id: int, index: int, session: ReadDB, user: Reader) -> FileResponse:
    visible_version(session, user, version_id)
    scene = session.scalar(select(Scene).where(Scene.version_id == version_id, Scene.index == index))
    if scene is None or not scene.keyframe_path or not Path(scene.keyframe_path).is_file():
        raise NotFound(f"version {version_id} has no keyframe for scene {index}")
    return FileResponse(scene.keyframe_path, media_type="image/jpeg", headers=PICTURE_CACHE)


@router.get("/versions/{version_id}/contact-sheet", response_class=FileResponse)
def contact_sheet_route(version_id: int, session: ReadDB, user: Reader) -> FileResponse:
    version = visible_version(session, user, version_id)
    return FileResponse(_sidecar_file(version, "contact.jpg"), media_type="image/jpeg", headers=PICTURE_CACHE)


@router.get("/versions/{version_id}/waveform", response_class=FileResponse)
def waveform_route(version_id: int, session: ReadDB, user: Reader) -> FileResponse:
    version = visible_version(session, user, version_id)
    return FileResponse(_sidecar_file(version, "waveform.png"), media_type="image/png", headers=PICTURE_CACHE)


EXPORTS = {"edl": "text/plain", "otio": "application/json", "xml": "application/xml", "csv": "text/csv"}


@router.get("/assets/{asset_id}/export.{fmt}")
def export_route(asset_id: int, fmt: str, request: Request, session: DB, user: Reader,
                 version: int | None = None) -> Response:
    """Scenes as cuts, transcript segments (blue) and logged ranges (green) as markers: CMX3600 EDL, OTIO, FCP XML
    (``xml``) or CSV."""
    if fmt not in EXPORTS:
        raise NotFound(f"no export format {fmt!r}; choose one of {', '.join(EXPORTS)}")
    asset = visible_asset(session, user, asset_id)
    chosen = version_of(asset, version)
    info = session.get(MediaInfoRow, chosen.id)
    scenes = [(s.start_s, s.end_s) for s in session.scalars(
        select(Scene).where(Scene.version_id == chosen.id).order_by(Scene.index))]
    if not scenes:
        raise NotFound(f"asset {asset_id} version {chosen.number} has no scenes (yet)")
    markers = [Marker(s.start_s, s.end_s, s.text[:60], note=s.text, color="BLUE") for s in session.scalars(
        select(TranscriptSegment).where(TranscriptSegment.version_id == chosen.id)
        .order_by(TranscriptSegment.index))]
    state = schema_in_force(session)
    if state is not None:  # logged ranges (the team's metadata) as green markers
        markers += [Marker(start, end, name, note=note, color="GREEN")
                    for start, end, name, note in log_notes(session, state.schema, chosen.id)]
        markers.sort(key=lambda m: (m.start_s, m.end_s))
    clock = Clock(info)
    title, reel = f"{asset.name} v{chosen.number}", Path(asset.name).stem
    args = (title, chosen.original_name, reel, scenes, clock.rate, clock.start)
    if fmt == "edl":
        body = to_edl(*args, drop_frame=clock.drop, markers=markers)
    elif fmt == "csv":
        body = to_csv(chosen.original_name, scenes, clock.rate, clock.start, drop_frame=clock.drop, markers=markers)
    else:
        timeline = to_otio(*args, drop_frame=clock.drop, markers=markers)
        body = otio.adapters.write_to_string(timeline, "otio_json" if fmt == "otio" else "fcp_xml")
    filename = f"{reel}-v{chosen.number}.{fmt}"
    audit(request, session, user, "export", asset_id=asset_id, version_id=chosen.id, subject=f"export.{fmt}")
    return Response(body, media_type=EXPORTS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
