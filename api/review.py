"""Review routes: comments at a frame (threads, resolve, exports), review decisions under the approval rule,
what changed between versions, and the delivery panel's data.

Readers see everything here; admins, editors and reviewers comment and decide.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Annotated, Any, Literal

import opentimelineio as otio
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, StringConstraints, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import client_ip, visible_asset
from api.delivery import rendition_step, rendition_view
from api.deps import DB, CanApprove, CanComment, Reader, visible_version
from api.events import audit
from catalog.approvals import approvals_view
from catalog.changes import changes
from catalog.lookup import version_of
from catalog.models import Comment, MediaInfoRow, Rendition, Target, User, Version
from catalog.review import add_comment, resolve_comment, status_of, threads
from catalog.views import Clock, comment_view, reviews_view
from delivery.edit_export import Marker, csv_cell, to_edl, to_otio
from delivery.presets import load_presets
from delivery.targets import judge
from pipeline.review import review, rule_of, templates_of
from rushes.errors import NotFound, ReviewError

router = APIRouter(prefix="/api/v1", tags=["review"])
ResolvedFilter = Annotated[bool | None, Query(description="only resolved (true) or open (false) threads")]
Against = Annotated[int | None, Query(ge=1, description="the version number to compare with; default the previous")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
Note = Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=5000)]
CSV_FIELDS = ("id", "parent_id", "author", "start_tc", "end_tc", "start_s", "end_s", "resolved", "text",
              "created_at")


def _version(session: Session, user: User, asset_id: int, number: int, action: str = "view") -> Version:
    return version_of(visible_asset(session, user, asset_id, action), number)


def _clock(session: Session, version: Version) -> Clock:
    return Clock(session.get(MediaInfoRow, version.id))


# ------------------------------------------------------------------------------------------ comments


class CommentRequest(BaseModel):
    text: Text = Field(description="the comment (1 to 5000 characters, not blank)")
    frame: int | None = Field(None, ge=0, description="frame of the version, from 0; a reply may leave it out")
    end_frame: int | None = Field(None, description="end of a range (exclusive), after frame")
    parent_id: int | None = Field(None, description="the comment this replies to (same version)")

    @model_validator(mode="after")
    def _range(self) -> CommentRequest:
        if self.end_frame is not None and (self.frame is None or self.end_frame <= self.frame):
            raise ValueError("end_frame must come with a frame and be after it")
        return self


class ResolveRequest(BaseModel):
    resolved: bool = Field(True, description="true resolves the comment, false opens it again")


@router.get("/assets/{asset_id}/versions/{number}/comments", summary="Comments of a version")
def comments_route(asset_id: int, number: int, session: DB, user: Reader,
                   resolved: ResolvedFilter = None) -> dict[str, Any]:
    """Top comments ordered by frame, each with its replies (oldest first), at source timecode."""
    version = _version(session, user, asset_id, number)
    clock = _clock(session, version)
    return {"asset_id": asset_id, "version": number,
            "comments": [comment_view(top, number, clock, replies)
                         for top, replies in threads(session, version.id, resolved)]}


@router.post("/assets/{asset_id}/versions/{number}/comments", status_code=201, summary="Comment at a frame")
def add_comment_route(asset_id: int, number: int, body: CommentRequest, request: Request, session: DB,
                      user: CanComment) -> dict[str, Any]:
    """A comment at a frame (or a range of frames), or a reply to one; the frame must be within the media."""
    version = _version(session, user, asset_id, number, "comment")
    comment = add_comment(session, version, user.name, body.text, body.frame, body.end_frame, body.parent_id)
    audit(request, session, user, "comment", asset_id=asset_id, version_id=version.id,
          subject=f"comment {comment.id}" + (f" (reply to {body.parent_id})" if body.parent_id else ""))
    return comment_view(comment, number, _clock(session, version))


@router.post("/comments/{comment_id}/resolve", summary="Resolve or reopen a comment")
def resolve_route(comment_id: int, request: Request, session: DB, user: CanComment,
                  body: ResolveRequest | None = None) -> dict[str, Any]:
    """Mark a comment resolved (by the caller) or open again; returns the comment with its replies."""
    comment = session.get(Comment, comment_id)
    if comment is None:
        raise NotFound(f"no comment {comment_id}")
    visible_version(session, user, comment.version_id, "comment")
    resolved = (body or ResolveRequest()).resolved
    resolve_comment(session, comment, resolved, user.name)
    audit(request, session, user, "resolve comment", asset_id=comment.version.asset_id, version_id=comment.version_id,
          subject=f"comment {comment.id}", detail="resolved" if resolved else "reopened")
    replies = session.scalars(select(Comment).where(Comment.parent_id == comment.id).order_by(Comment.id)).all()
    return comment_view(comment, comment.version.number, _clock(session, comment.version), list(replies))


def _export(request: Request, session: Session, user: User, asset_id: int, number: int, fmt: str,
            media_type: str) -> Response:
    asset = visible_asset(session, user, asset_id)
    version = version_of(asset, number)
    info = session.get(MediaInfoRow, version.id)
    clock = Clock(info)
    found = threads(session, version.id)
    reel = Path(asset.name).stem
    if fmt == "csv":
        body = _csv(found, clock)
    else:
        markers = [_marker(top, replies) for top, replies in found]
        ends = [m.end_s for m in markers]
        duration = info.duration_s if info and info.duration_s else max(ends, default=0.0) + float(1 / clock.rate)
        args = (f"{asset.name} v{number} review", version.original_name, reel, [(0.0, duration)], clock.rate,
                clock.start)
        record_start = clock.start or "00:00:00:00"  # the record side runs on the source's own clock
        if fmt == "edl":
            body = to_edl(*args, drop_frame=clock.drop, markers=markers, record_start=record_start)
        else:
            timeline = to_otio(*args, drop_frame=clock.drop, markers=markers, record_start=record_start)
            body = otio.adapters.write_to_string(timeline, "otio_json")
    audit(request, session, user, "export", asset_id=asset_id, version_id=version.id, subject=f"comments.{fmt}")
    return Response(body, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{reel}-v{number}-comments.{fmt}"'})


def _marker(top: Comment, replies: list[Comment]) -> Marker:
    """One marker per thread: the author as its name, the text and the replies as its note."""
    note = " | ".join([top.text, *(f"{r.author}: {r.text}" for r in replies)])
    return Marker(top.start_s, top.end_s if top.end_s is not None else top.start_s, top.author, note=note,
                  color="GREEN" if top.resolved_at else "RED")


def _csv(found: list[tuple[Comment, list[Comment]]], clock: Clock) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for comment in (c for top, replies in found for c in (top, *replies)):
        writer.writerow([comment.id, comment.parent_id or "", csv_cell(comment.author), clock(comment.start_s),
                         clock(comment.end_s) or "", f"{comment.start_s:.3f}",
                         f"{comment.end_s:.3f}" if comment.end_s is not None else "",
                         "yes" if comment.resolved_at else "no", csv_cell(comment.text),
                         comment.created_at.isoformat()])
    return buffer.getvalue()


@router.get("/assets/{asset_id}/versions/{number}/comments.csv", summary="Comments as CSV",
            response_class=Response)
def comments_csv_route(asset_id: int, number: int, request: Request, session: DB, user: Reader) -> Response:
    """Every comment and reply, one row each, with source timecodes."""
    return _export(request, session, user, asset_id, number, "csv", "text/csv")


@router.get("/assets/{asset_id}/versions/{number}/comments.edl", summary="Comments as a CMX3600 EDL",
            response_class=Response)
def comments_edl_route(asset_id: int, number: int, request: Request, session: DB, user: Reader) -> Response:
    """The version as one event on its source timecode, each thread a ``* LOC:`` locator at its frame."""
    return _export(request, session, user, asset_id, number, "edl", "text/plain")


@router.get("/assets/{asset_id}/versions/{number}/comments.otio", summary="Comments as OpenTimelineIO",
            response_class=Response)
def comments_otio_route(asset_id: int, number: int, request: Request, session: DB, user: Reader) -> Response:
    """The version as one clip on its source timecode, each thread a marker at its frame (or range)."""
    return _export(request, session, user, asset_id, number, "otio", "application/json")


# ------------------------------------------------------------------------------------------ reviews


class ReviewRequest(BaseModel):
    decision: Literal["approve", "changes"] = Field(description="approve, or ask for changes")
    note: Note = Field(None, description="why (up to 5000 characters)")


@router.get("/assets/{asset_id}/versions/{number}/reviews", summary="Review status of a version")
def reviews_route(asset_id: int, number: int, request: Request, session: DB, user: Reader) -> dict[str, Any]:
    """The status under the approval rule (in words), each reviewer's latest decision, who is missing, history,
    and per approval template governing the version: its channels, status and stages (who is due, deadlines)."""
    return _reviews(session, _version(session, user, asset_id, number), request.app.state.farm.settings)


def _reviews(session: Session, version: Version, settings: Any) -> dict[str, Any]:
    return {**reviews_view(session, version, rule_of(settings)),
            "approvals": approvals_view(session, version, templates_of(settings))}


def submit_review(request: Request, asset_id: int, number: int, user: User, decision: str,
                  note: str | None = None) -> tuple[int, str]:
    """Record a decision (in its own transaction, pushing what became due); (version id, status). 409 if not ready."""
    farm = request.app.state.farm
    with farm.sessions() as session:  # a short read: the review writes in its own transaction
        version_id = _version(session, user, asset_id, number).id
    return version_id, review(farm, version_id, user.name, decision, note, role=user.role, ip=client_ip(request))


@router.post("/assets/{asset_id}/versions/{number}/reviews", summary="Approve or ask for changes")
def review_route(asset_id: int, number: int, body: ReviewRequest, request: Request,
                 user: CanApprove) -> dict[str, Any]:
    """Record the caller's decision on a ready version and apply the approval rule; returns the review status."""
    farm = request.app.state.farm
    version_id, _ = submit_review(request, asset_id, number, user, body.decision, body.note or None)
    with farm.sessions() as session:
        version = session.get(Version, version_id)
        assert version is not None
        return _reviews(session, version, farm.settings)


# ------------------------------------------------------------------------------------------ versions


@router.get("/assets/{asset_id}/versions/{number}/changes", summary="What changed from another version")
def changes_route(asset_id: int, number: int, session: DB, user: Reader, against: Against = None) -> dict[str, Any]:
    """The fields that differ (file, picture, sound, timecode, shots, transcript, loudness) from version ``against``
    (default: the previous version)."""
    asset = visible_asset(session, user, asset_id)
    version = version_of(asset, number)
    if against is None:
        earlier = [v for v in asset.versions if v.number < number]
        if not earlier:
            raise ReviewError(f"version {number} of {asset.name} is its first; give ?against=N to compare")
        other = earlier[-1]
    else:
        other = version_of(asset, against)
    return {"asset_id": asset_id, "version": number, "against": other.number,
            "changes": [{"field": c.field, "label": c.label, "before": c.before, "after": c.after}
                        for c in changes(session, other, version)],
            "same_content": other.content_hash == version.content_hash}


@router.get("/assets/{asset_id}/versions/{number}/delivery", summary="Delivery panel of a version")
def delivery_panel_route(asset_id: int, number: int, session: DB, user: Reader) -> dict[str, Any]:
    """Whether the version is approved, the presets, the targets (no secrets) and the version's renditions with
    the targets that take each, and those of its targets its rights refuse now (``refused``, with the reason)."""
    version = _version(session, user, asset_id, number)
    targets = list(session.scalars(select(Target).order_by(Target.name)))
    renditions = session.scalars(select(Rendition).where(Rendition.version_id == version.id).order_by(Rendition.id))
    return {
        "asset_id": asset_id, "version": number, "approved": version.approved_at is not None,
        "review_status": status_of(session, version),
        "presets": [{"name": p.name, "title": p.title, "category": p.category} for p in load_presets().values()],
        "targets": [{"name": t.name, "kind": t.kind, "presets": t.preset_names} for t in targets],
        "renditions": [_with_targets(session, rendition_view(r, rendition_step(session, r)), r, targets)
                       for r in renditions],
    }


def _with_targets(session: Session, view: dict[str, Any], rendition: Rendition,
                  targets: list[Target]) -> dict[str, Any]:
    """The rendition's view plus the targets of its preset that take it, and those its rights refuse (why)."""
    judged = [(t, judge(session, t, [rendition])[0][1]) for t in targets if rendition.preset in t.preset_names]
    return {**view, "targets": [t.name for t, v in judged if v.allowed],
            "refused": [{"target": t.name, "reason": v.reason} for t, v in judged if not v.allowed]}
