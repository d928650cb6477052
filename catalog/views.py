"""How catalog rows look to people: plain dicts with stable field names, times as source timecode.

Used by the API and the CLI alike."""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections.abc import Iterator
from datetime import datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, object_session, selectinload

from catalog.models import Asset, Comment, MediaInfoRow, Review, Scene, Step, Version
from catalog.review import (
    ApprovalRule,
    frame_rate,
    history,
    latest_reviews,
    open_comment_count,
    review_status,
    status_of,
)
from catalog.search import Hit, SearchFilters, asset_matches, search
from catalog.tag_trust import trusted
from rushes.errors import InvalidTimecode
from rushes.timecode import seconds_to_timecode

log = logging.getLogger(__name__)


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# What asset_summary reads, loaded with the page in a fixed number of statements (not five per asset).
SUMMARY_LOAD = (
    joinedload(Asset.collection),
    selectinload(Asset.versions).options(selectinload(Version.media_info), selectinload(Version.proxy),
                                         selectinload(Version.steps)),
)


def asset_summary(asset: Asset) -> dict[str, Any]:
    latest = asset.versions[-1] if asset.versions else None
    return {
        "id": asset.id,
        "name": asset.name,
        "status": asset.status,
        "error": asset.error,
        "collection": asset.collection.name,
        "source_folder": asset.source_folder,
        "created_at": _time(asset.created_at),
        "updated_at": _time(asset.updated_at),
        "version": latest.number if latest else None,
        "duration_s": latest.media_info.duration_s if latest and latest.media_info else None,
        "start_timecode": latest.media_info.start_timecode if latest and latest.media_info else None,
        "media": media_kind(latest.media_info) if latest else None,
        **(picture_urls(latest) if latest else dict.fromkeys(PICTURES)),
        "progress": progress_view(latest.steps) if latest else None,
    }


def asset_pages(session: Session, *, status: str | None = None, size: int = 500) -> Iterator[list[dict[str, Any]]]:
    """Every asset's summary, oldest first, ``size`` at a time by keyset (``id > last``): no offset scan,
    and memory bounded by one page however large the catalog."""
    last = 0
    while True:
        query = select(Asset).where(Asset.id > last).order_by(Asset.id).limit(size).options(*SUMMARY_LOAD)
        if status:
            query = query.where(Asset.status == status)
        page = session.scalars(query).all()
        if not page:
            return
        last = page[-1].id
        yield [asset_summary(a) for a in page]


def media_kind(info: MediaInfoRow | None) -> str | None:
    """``video`` (a picture, with or without sound), ``audio`` (sound only) or None before the probe."""
    if info is None:
        return None
    return "video" if info.width else "audio" if info.audio_codec else None


PICTURES = ("poster_url", "waveform_url", "contact_sheet_url")


def picture_urls(version: Version) -> dict[str, str | None]:
    """URLs of the version's poster, waveform and contact sheet, None for any that was not made: sound-only
    sources have no poster, sources without sound no waveform, and nothing exists before its step is done."""
    done = {s.kind for s in version.steps if s.status == "done"}
    proxy = version.proxy
    return {
        "poster_url": f"/api/v1/versions/{version.id}/poster" if proxy and proxy.poster_path else None,
        "waveform_url": f"/api/v1/versions/{version.id}/waveform" if "audio" in done else None,
        "contact_sheet_url": f"/api/v1/versions/{version.id}/contact-sheet" if "keyframes" in done else None,
    }


def progress_view(steps: list[Step]) -> dict[str, Any]:
    """How far a version's workflow is: finished/total steps and the running ones with their progress."""
    workflow = [s for s in steps if s.rendition_id is None]
    return {"done": sum(s.status in ("done", "skipped") for s in workflow), "total": len(workflow),
            "running": [{"kind": s.kind, "progress": round(s.progress, 3)} for s in workflow
                        if s.status == "running"]}


def step_view(step: Step) -> dict[str, Any]:
    return {
        "kind": step.kind, "status": step.status, "attempts": step.attempts,
        "progress": round(step.progress, 4), "error": step.error, "worker": step.worker,
        "started_at": _time(step.started_at), "finished_at": _time(step.finished_at),
        "lease_expires_at": _time(step.lease_expires_at),
    }


def version_view(version: Version) -> dict[str, Any]:
    info = version.media_info
    proxy = version.proxy
    return {
        "id": version.id,
        "number": version.number,
        "status": version.status,
        "error": version.error,
        "content_hash": version.content_hash,
        "size": version.size,
        "original_name": version.original_name,
        "source_folder": version.source_folder,
        "created_at": _time(version.created_at),
        "ready_at": _time(version.ready_at),
        "sidecar": version.sidecar,
        "steps": [step_view(s) for s in version.steps],
        "media_info": info.info if info else None,
        "clock": clock_view(info),
        "proxy_url": f"/api/v1/versions/{version.id}/proxy" if proxy else None,
        "media": media_kind(info),
        **picture_urls(version),
        "proxy": {"width": proxy.width, "height": proxy.height, "duration_s": proxy.duration_s,
                  "size": proxy.size} if proxy else None,
        "duplicates": [{"original_name": d.original_name, "source_folder": d.source_folder,
                        "detected_at": _time(d.detected_at)} for d in version.duplicates],
        **_review_facts(version),
    }


def _review_facts(version: Version) -> dict[str, Any]:
    session = object_session(version)
    return {
        "review_status": status_of(session, version) if session else review_status({}, version.approved_at is not None),
        "approved_at": _time(version.approved_at),
        "approved_by": version.approved_by,
        "comment_count": open_comment_count(session, version.id) if session else 0,  # unresolved threads
    }


def asset_detail(asset: Asset) -> dict[str, Any]:
    detail = asset_summary(asset)
    versions = [version_view(v) for v in asset.versions]
    latest = versions[-1] if versions else None
    detail.update(
        versions=versions,
        media_info=latest["media_info"] if latest else None,
        steps=latest["steps"] if latest else [],
        proxy_url=latest["proxy_url"] if latest else None,
    )
    return detail


class Clock:
    """Seconds → SMPTE timecode on a version's own start timecode and frame rate (drop-frame where due)."""

    def __init__(self, info: MediaInfoRow | None) -> None:
        self.rate: Fraction = frame_rate(info)
        self.start = info.start_timecode if info else None
        self.drop = bool(info and info.drop_frame)
        self.broken: str | None = None  # a stored start label that cannot exist: no timecodes, not an error page
        try:
            seconds_to_timecode(0, self.rate, start=self.start, drop_frame=self.drop)
        except InvalidTimecode as exc:
            self.broken = str(exc)
            log.warning("version %s: no source timecodes shown: %s", info.version_id if info else "?", exc)

    def __call__(self, seconds: float | None) -> str | None:
        if seconds is None or self.broken:
            return None
        return seconds_to_timecode(seconds, self.rate, start=self.start, drop_frame=self.drop)


def clock_view(info: MediaInfoRow | None) -> dict[str, Any]:
    """What a player needs to show SMPTE timecode: the frame rate, the start timecode, drop-frame or not."""
    clock = Clock(info)
    return {"rate": f"{clock.rate.numerator}/{clock.rate.denominator}", "fps": float(clock.rate),
            "start_timecode": clock.start or "00:00:00:00", "drop_frame": clock.drop}


def keyframe_url(scene: Scene | None) -> str | None:
    return _keyframe_url(scene.version_id, scene.index, scene.keyframe_path) if scene else None


def _keyframe_url(version_id: int, index: int, keyframe_path: str | None) -> str | None:
    return f"/api/v1/versions/{version_id}/keyframes/{index}" if keyframe_path else None


def scene_view(scene: Scene, clock: Clock, decisions: dict[str, str] | None = None,
               min_confidence: float = 0.0) -> dict[str, Any]:
    """A shot; its keyframe labels are those people may trust (catalog/tag_trust.py): ``labels_hidden`` counts those
    under the confidence threshold, ``decisions`` says which were accepted or rejected."""
    tags = dict(scene.tags or {})
    if tags.get("labels"):
        tags["labels"], tags["labels_hidden"] = trusted(tags["labels"], decisions or {}, min_confidence)
    tags["decisions"] = decisions or {}
    return {
        "id": scene.id, "index": scene.index, "start_s": scene.start_s, "end_s": scene.end_s,
        "start_frame": scene.start_frame,
        "end_frame": scene.end_frame, "start_tc": clock(scene.start_s), "end_tc": clock(scene.end_s),
        "keyframe_s": scene.keyframe_s, "keyframe_url": keyframe_url(scene), "faces": scene.faces,
        "tags": tags,
    }


def search_hits(session: Session, q: str, filters: SearchFilters, *, limit: int = 50,
                offset: int = 0, found: list[Hit] | None = None) -> list[dict[str, Any]]:
    """Ranked hits with the source timecode and the keyframe of the scene each hit falls in: three queries
    a page (hits, the versions' media facts, their scenes), however many hits."""
    if found is not None:  # ranked already (words and meaning: catalog/semantic.py)
        hits = found
    else:
        hits = search(session, q, filters, limit=limit, offset=offset) if q.strip() else \
            asset_matches(session, filters, limit=limit, offset=offset)
    versions = {hit.version_id for hit in hits}
    infos = {row.version_id: row for row in session.scalars(
        select(MediaInfoRow).where(MediaInfoRow.version_id.in_(versions)))} if versions else {}
    clocks = {version_id: Clock(infos.get(version_id)) for version_id in versions}
    starts: dict[int, list[tuple[float, int, str | None]]] = {}
    if versions:
        for version_id, start_s, index, path in session.execute(
                select(Scene.version_id, Scene.start_s, Scene.index, Scene.keyframe_path)
                .where(Scene.version_id.in_(versions)).order_by(Scene.version_id, Scene.start_s)):
            starts.setdefault(version_id, []).append((start_s, index, path))
    return [{
        "asset_id": hit.asset_id, "asset_name": hit.asset_name, "version_id": hit.version_id,
        "version": hit.version, "kind": hit.kind, "start_s": hit.start_s, "end_s": hit.end_s,
        "timecode": clocks[hit.version_id](hit.start_s), "text": hit.text, "rank": hit.rank,
        "keyframe_url": _keyframe_at(hit.version_id, starts.get(hit.version_id, []), hit.start_s),
        "doc_id": hit.doc_id, "matched": list(hit.matched), **hit.extra,
    } for hit in hits]


def _keyframe_at(version_id: int, scenes: list[tuple[float, int, str | None]], seconds: float | None) -> str | None:
    """The keyframe URL of the scene (start_s, index, keyframe path; sorted) that holds ``seconds``."""
    if not scenes:
        return None
    at = 0 if seconds is None else max(0, bisect_right([s[0] for s in scenes], seconds + 1e-6) - 1)
    _start, index, path = scenes[at]
    return _keyframe_url(version_id, index, path)


def comment_view(comment: Comment, number: int, clock: Clock, replies: list[Comment] | None = None) -> dict[str, Any]:
    """A comment as the review page shows it: frames, seconds from the first frame and source timecodes."""
    return {
        "id": comment.id, "version_id": comment.version_id, "version": number, "parent_id": comment.parent_id,
        "author": comment.author, "text": comment.text, "start_frame": comment.start_frame,
        "end_frame": comment.end_frame, "start_s": comment.start_s, "end_s": comment.end_s,
        "start_tc": clock(comment.start_s), "end_tc": clock(comment.end_s),
        "resolved": comment.resolved_at is not None, "resolved_by": comment.resolved_by,
        "resolved_at": _time(comment.resolved_at), "created_at": _time(comment.created_at),
        "replies": [comment_view(r, number, clock) for r in replies or []],
    }


def _review_view(review: Review) -> dict[str, Any]:
    return {"reviewer": review.reviewer, "decision": review.decision, "note": review.note,
            "created_at": _time(review.created_at)}


def reviews_view(session: Session, version: Version, rule: ApprovalRule) -> dict[str, Any]:
    """Where a version's review stands: status, the rule in words, latest decisions, who is missing, history."""
    latest = latest_reviews(session, version.id)
    decisions = {name: review.decision for name, review in latest.items()}
    return {
        "asset_id": version.asset_id, "version": version.number,
        "status": review_status(decisions, version.approved_at is not None),
        "approved_at": _time(version.approved_at), "approved_by": version.approved_by,
        "rule": rule.view(), "decisions": [_review_view(r) for r in latest.values()],
        "missing": rule.missing(decisions),
        "history": [_review_view(r) for r in history(session, version.id)],
    }
