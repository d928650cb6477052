"""A version's approvals per destination channel, in the catalog: which template governs each channel, the
approval requests (one per template a version is reviewed under), a decision recorded in every open stage the
reviewer takes part in, and what delivery trusts — the channels a version is approved for.

``versions.approved_at`` is kept: set when every channel is approved (with the default template alone, when its one
stage is — as before templates), cleared when one is no longer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from catalog.approval_stages import CHANNELS, DEFAULT, StageState, Template, evaluate, template_of
from catalog.collections import collections_of
from catalog.models import ApprovalRequest, Asset, MediaInfoRow, Review, Version, utcnow
from catalog.views import media_kind
from rushes.errors import NotFound, NotReady, ReviewError


@dataclass(frozen=True)
class Templates:
    """The templates in force: those of the approvals folder, in order, and the default (from the settings)."""

    found: tuple[Template, ...]
    default: Template

    def named(self, name: str) -> Template:
        if name == DEFAULT:
            return self.default
        for template in self.found:
            if template.name == name:
                return template
        raise NotFound(f"no approval template {name!r} (templates: {', '.join(t.name for t in self.found) or 'none'}"
                       f", {DEFAULT})")


def _template(request: ApprovalRequest, templates: Templates) -> Template:
    return templates.default if request.definition is None else template_of(request.template, request.definition)


def governing(session: Session, version: Version, templates: Templates) -> dict[str, Template]:
    """The template that governs each channel of ``version``: a template it was asked to be reviewed under that
    covers the channel, else the first whose ``applies_to`` matches, else the default."""
    asset = session.get(Asset, version.asset_id)
    assert asset is not None
    where = collections_of(session, asset)
    names = [where["collection"], *where["also_in"]]
    kind = media_kind(session.get(MediaInfoRow, version.id))
    asked = [_template(r, templates) for r in requests_of(session, version.id) if r.definition is not None]
    out = {}
    for channel in CHANNELS:
        chosen = next((t for t in asked if not t.channels or channel in t.channels), None)
        chosen = chosen or next((t for t in templates.found if t.applies(names, kind, channel)), templates.default)
        out[channel] = chosen
    return out


def requests_of(session: Session, version_id: int) -> list[ApprovalRequest]:
    return list(session.scalars(select(ApprovalRequest).where(ApprovalRequest.version_id == version_id)
                                .order_by(ApprovalRequest.id)))


def _ensure(session: Session, version: Version, template: Template, channels: list[str], by: str) -> ApprovalRequest:
    row = session.scalar(select(ApprovalRequest).where(ApprovalRequest.version_id == version.id,
                                                       ApprovalRequest.template == template.name))
    if row is None:
        row = ApprovalRequest(version_id=version.id, template=template.name, template_hash=template.content_hash,
                              definition=None if template.name == DEFAULT else template.definition(),
                              channels=channels, status="open", requested_by=by, created_at=utcnow())
        session.add(row)
        session.flush()
    elif sorted(row.channels) != sorted(channels):
        row.channels = channels
    return row


def _by_template(session: Session, version: Version, templates: Templates) -> dict[str, tuple[Template, list[str]]]:
    """Each template governing some of the version's channels, with those channels."""
    out: dict[str, tuple[Template, list[str]]] = {}
    for channel, template in governing(session, version, templates).items():
        out.setdefault(template.name, (template, []))[1].append(channel)
    return out


def open_requests(session: Session, version: Version, templates: Templates, by: str) -> list[ApprovalRequest]:
    """The requests of the templates governing the version's channels (made when missing)."""
    governed = _by_template(session, version, templates).values()
    return [_ensure(session, version, t, channels, by) for t, channels in governed]


def request_review(session: Session, version_id: int, template_name: str, templates: Templates,
                   by: str) -> ApprovalRequest:
    """Ask for ``version_id`` to be reviewed under a template (a rule's ``request_review``; it then governs the
    channels it covers): the request opens its first stage now."""
    template = templates.named(template_name)
    version = _ready(session, version_id)
    return _ensure(session, version, template, list(template.channels or CHANNELS), by)


def decisions_of(session: Session, request_id: int) -> list[tuple[str, str, str, datetime]]:
    return [(r.stage or "review", r.reviewer, r.decision, r.created_at) for r in session.scalars(
        select(Review).where(Review.request_id == request_id).order_by(Review.id))]


def state_of(session: Session, request: ApprovalRequest, templates: Templates) -> tuple[str, list[StageState]]:
    return evaluate(_template(request, templates), decisions_of(session, request.id), request.created_at)


def _ready(session: Session, version_id: int) -> Version:
    version = session.scalar(select(Version).where(Version.id == version_id).with_for_update())
    if version is None:
        raise NotFound(f"no version {version_id}")
    if version.status != "ready":
        raise NotReady(f"version {version.number} of {version.asset.name} is {version.status}; "
                       "only a ready version can be reviewed")
    return version


def decide(session: Session, version_id: int, reviewer: str, role: str, decision: str, note: str | None,
           templates: Templates) -> tuple[Version, list[ApprovalRequest]]:
    """Record ``reviewer``'s decision in every opened stage they take part in (of every request governing the
    version; a stage approved already too: a later "changes" opens it again); the approvals follow.
    ``ReviewError`` says which stages are open and who is due there when the reviewer is due in none. The version
    row is locked first: decisions apply in turn."""
    version = _ready(session, version_id)
    touched, open_where = [], []
    for request in open_requests(session, version, templates, reviewer):
        template = _template(request, templates)
        _status, states = state_of(session, request, templates)
        stages = [s for s, st in zip(template.stages, states, strict=True) if st.status != "waiting"]
        mine = [s for s in stages if s.takes(reviewer, role)]
        open_where += [f"{s.name} ({s.who()}) for {', '.join(request.channels)}" for s in stages]
        for stage in mine:
            session.add(Review(version_id=version.id, reviewer=reviewer, decision=decision, note=note,
                               request_id=request.id, stage=stage.name))
        if mine:
            touched.append(request)
    if not touched:
        raise ReviewError(f"{reviewer} is not due in an open stage of version {version.number}"
                          + (f" (open: {'; '.join(open_where)})" if open_where else " (every stage is decided)"))
    session.flush()
    refresh(session, version, templates, reviewer)
    return version, touched


def refresh(session: Session, version: Version, templates: Templates, by: str) -> None:
    """Each request's status from its decisions, and the version's ``approved_at`` from its channels'."""
    now = utcnow()
    for request in requests_of(session, version.id):
        status, _states = state_of(session, request, templates)
        if status == "approved" and request.status != "approved":
            request.approved_at = now
        elif status != "approved":
            request.approved_at = None
        request.status = status
    approved = approved_channels(session, [version.id], with_version=False).get(version.id, set())
    if approved >= set(CHANNELS):
        if version.approved_at is None:
            version.approved_at, version.approved_by = now, by
    elif version.approved_at is not None:
        version.approved_at, version.approved_by = None, None


def approved_channels(session: Session, version_ids: Sequence[int], with_version: bool = True) -> dict[int, set[str]]:
    """The channels each version is approved for (its approved requests'; every channel when ``with_version`` and
    the version's own ``approved_at`` is set — an approval made before templates, or by ``rushes approve``)."""
    out: dict[int, set[str]] = {}
    ids = list(version_ids)
    for start in range(0, len(ids), 500):
        part = ids[start:start + 500]
        for vid, channels in session.execute(select(ApprovalRequest.version_id, ApprovalRequest.channels).where(
                ApprovalRequest.version_id.in_(part), ApprovalRequest.status == "approved")):
            out.setdefault(vid, set()).update(channels)
        if with_version:
            for vid in session.scalars(select(Version.id).where(Version.id.in_(part),
                                                                Version.approved_at.is_not(None))):
                out[vid] = set(CHANNELS)
    return out


def approvals_view(session: Session, version: Version, templates: Templates) -> list[dict[str, Any]]:
    """Per template governing the version: its channels, status and stages (who is due, deadlines)."""
    now = utcnow()
    out = []
    known = {r.template: r for r in requests_of(session, version.id)}
    for name, (template, channels) in _by_template(session, version, templates).items():
        request = known.get(name)
        if request is not None:
            status, states = state_of(session, request, templates)
        else:
            status, states = evaluate(template, [], now)
            status = "not requested"
        out.append({"template": name, "label": template.label, "channels": channels, "status": status,
                    "parallel": template.parallel, "request_id": request.id if request else None,
                    "stages": [s.view(now) for s in states]})
    return out


def waiting_for(session: Session, user: str, role: str, visible: Any, templates: Templates,
                limit: int = 200) -> list[dict[str, Any]]:
    """Open requests (on assets ``visible`` keeps) with a stage open to ``user`` that they have not decided:
    the reviewer's inbox, oldest first."""
    now = utcnow()
    out = []
    rows = session.execute(select(ApprovalRequest, Version, Asset.name).join(
        Version, Version.id == ApprovalRequest.version_id).join(Asset, Asset.id == Version.asset_id).where(
        or_(ApprovalRequest.status == "open", ApprovalRequest.status == "changes"), visible)
        .order_by(ApprovalRequest.id).limit(limit * 5))
    for request, version, asset_name in rows:
        template = _template(request, templates)
        _status, states = state_of(session, request, templates)
        for stage, state in zip(template.stages, states, strict=True):
            if state.status in ("open", "changes") and stage.takes(user, role) and \
                    user not in state.approvals + state.changes:
                out.append({"request_id": request.id, "asset_id": version.asset_id, "asset_name": asset_name,
                            "version": version.number, "template": request.template, "label": template.label,
                            "channels": request.channels, "stage": state.view(now)})
                break
        if len(out) >= limit:
            break
    return out
