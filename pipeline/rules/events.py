"""The events rules act on, read from what the catalog already records (no second write on every path): a version
that became ready or was ingested, a field's change, a tag a person accepted, a review decision, an approval, a
rendition made or rejected, a rights window about to end or ended, and the ticks of a schedule.

Every event has a **key**, unique among its trigger's events (``metadata:345``, ``rendition:7:2026-…``): a rule
acts once per (rule version, trigger, key). Events come oldest first; each names the asset and the version it is
about (the newest version for an asset-level event such as a metadata change) and what ``event.*`` carries in a
condition.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from catalog.models import ApprovalRequest, MetadataChange, Rendition, Review, Rights, Step, TagDecision, Version
from rushes.spans import seconds_of

#: what a condition's ``event`` holds (besides ``type`` and ``at``), the same names for every trigger
EVENT_FIELDS = ("type", "at", "by", "field", "old", "new", "label", "decision", "channel", "channels", "template",
                "preset", "target", "window_end")


@dataclass(frozen=True)
class Event:
    trigger: str
    key: str
    asset_id: int
    version_id: int
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    cause_run: int | None = None  # the rule run whose action made this event (a chain's depth)

    def carried(self) -> dict[str, Any]:
        """What ``event`` is in a condition."""
        return {name: None for name in EVENT_FIELDS} | self.data | {"type": self.trigger, "at": self.at.isoformat()}


def events(session: Session, trigger: str, since: datetime, now: datetime,
           option: str | None = None) -> Iterator[Event]:
    """The events of ``trigger`` from ``since`` to ``now``, oldest first. ``option``: the span of a
    ``rights.expiring`` trigger (how long before the end) or of a ``schedule`` (how often)."""
    latest = _Latest(session)
    if trigger in ("version.ready", "version.new"):
        column = Version.ready_at if trigger == "version.ready" else Version.created_at
        query = select(Version.id, Version.asset_id, column).where(column >= since, column <= now)
        if trigger == "version.ready":
            query = query.where(Version.status == "ready")
        for vid, aid, moment in session.execute(query.order_by(column, Version.id)):
            yield Event(trigger, f"version:{vid}", aid, vid, _utc(moment))
    elif trigger == "version.probed":
        for vid, aid, moment in session.execute(
                select(Step.version_id, Version.asset_id, Step.finished_at).join(Version, Version.id == Step.version_id)
                .where(Step.kind == "probe", Step.status == "done", Step.finished_at >= since,
                       Step.finished_at <= now).order_by(Step.finished_at, Step.id)):
            yield Event(trigger, f"version:{vid}", aid, vid, _utc(moment))
    elif trigger == "approval.reached":
        for request, aid, approver in session.execute(
                select(ApprovalRequest, Version.asset_id, Version.approved_by)
                .join(Version, Version.id == ApprovalRequest.version_id)
                .where(ApprovalRequest.approved_at >= since, ApprovalRequest.approved_at <= now)
                .order_by(ApprovalRequest.approved_at, ApprovalRequest.id)):
            at = _utc(request.approved_at)
            channels = sorted(request.channels)
            yield Event(trigger, f"approval:{request.id}:{at.isoformat()}", aid, request.version_id, at,
                        {"template": request.template, "channels": channels,
                         "channel": channels[0] if len(channels) == 1 else None, "by": approver})
    elif trigger == "metadata.changed":
        newest = select(func.max(Version.id)).where(Version.asset_id == MetadataChange.asset_id).scalar_subquery()
        for change, vid in session.execute(select(MetadataChange, newest).where(
                MetadataChange.log_id.is_(None), MetadataChange.at >= since, MetadataChange.at <= now)
                .order_by(MetadataChange.at, MetadataChange.id).execution_options(yield_per=1000)):
            if vid is not None:
                yield Event(trigger, f"metadata:{change.id}", change.asset_id, vid, _utc(change.at),
                            {"field": change.field, "old": change.old, "new": change.new, "by": change.actor},
                            change.rule_run_id)
    elif trigger == "tag.added":
        for tag in session.scalars(select(TagDecision).where(
                TagDecision.decision == "accept", TagDecision.decided_at >= since, TagDecision.decided_at <= now)
                .order_by(TagDecision.decided_at, TagDecision.id)):
            yield Event(trigger, f"tag:{tag.id}:{_utc(tag.decided_at).isoformat()}", tag.asset_id,
                        tag.version_id, _utc(tag.decided_at), {"label": tag.label, "by": tag.decided_by})
    elif trigger == "review.decided":
        for review, aid in session.execute(select(Review, Version.asset_id).join(
                Version, Version.id == Review.version_id).where(Review.created_at >= since, Review.created_at <= now)
                .order_by(Review.created_at, Review.id)):
            yield Event(trigger, f"review:{review.id}", aid, review.version_id, _utc(review.created_at),
                        {"decision": review.decision, "by": review.reviewer})
    elif trigger in ("rendition.ready", "rendition.rejected"):
        status = trigger.split(".")[1]
        for rendition, aid in session.execute(select(Rendition, Version.asset_id).join(
                Version, Version.id == Rendition.version_id).where(
                Rendition.status == status, Rendition.finished_at >= since, Rendition.finished_at <= now)
                .order_by(Rendition.finished_at, Rendition.id)):
            yield Event(trigger, f"rendition:{rendition.id}:{_utc(rendition.finished_at).isoformat()}", aid,
                        rendition.version_id, _utc(rendition.finished_at),
                        {"preset": rendition.preset, "by": rendition.requested_by})
    elif trigger in ("rights.expiring", "rights.expired"):
        yield from _rights(session, trigger, since, now, latest, option)
    elif trigger == "schedule":
        yield from _ticks(session, since, now, seconds_of(option or "1d"))
    else:
        raise ValueError(f"no events for trigger {trigger!r}")


def _rights(session: Session, trigger: str, since: datetime, now: datetime, latest: _Latest,
            option: str | None) -> Iterator[Event]:
    """A window's end (less the span ahead of it for ``rights.expiring``) — or, for rights recorded when that
    moment had passed already, the moment they were recorded: late rights are not missed (a window recorded
    ended already is not "expiring")."""
    ahead = timedelta(seconds=seconds_of(option or "14d")) if trigger == "rights.expiring" else timedelta(0)
    found = []
    for rights in session.scalars(select(Rights).where(Rights.window_end.is_not(None), or_(
            Rights.window_end.between(since + ahead, now + ahead),
            Rights.updated_at.between(since, now) & (Rights.window_end <= now + ahead)))):
        end = _utc(rights.window_end)
        at = max(end - ahead, _utc(rights.updated_at))
        newest = rights.version_id or latest(rights.asset_id)
        if since <= at <= now and newest is not None and (trigger == "rights.expired" or at < end):
            found.append(Event(trigger, f"rights:{rights.id}:{end.isoformat()}", rights.asset_id, newest, at,
                               {"window_end": end.isoformat(), "by": rights.updated_by}))
    yield from sorted(found, key=lambda e: (e.at, e.key))


def _ticks(session: Session, since: datetime, now: datetime, every: int) -> Iterator[Event]:
    """The newest tick of the schedule (a whole multiple of ``every`` since the epoch, UTC) between ``since`` and
    ``now`` — ticks missed while no worker ran are not made up — as one event per asset's newest ready version."""
    tick = datetime.fromtimestamp(int(now.timestamp()) // every * every, UTC)
    if tick < since:
        return
    newest = select(Version.asset_id, func.max(Version.id).label("vid")).group_by(Version.asset_id).subquery()
    rows = session.execute(select(newest.c.asset_id, newest.c.vid).join(Version, Version.id == newest.c.vid)
                           .where(Version.status == "ready").order_by(newest.c.vid))
    for aid, vid in rows:
        yield Event("schedule", f"schedule:{tick.isoformat()}:{vid}", aid, vid, tick)


def _utc(moment: datetime | None) -> datetime:
    """A stored moment (never None where events are read) in UTC; one without a zone counts as UTC."""
    assert moment is not None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class _Latest:
    """An asset's newest version, asked once per asset."""

    def __init__(self, session: Session) -> None:
        self.session, self.known = session, dict[int, int | None]()

    def __call__(self, asset_id: int) -> int | None:
        if asset_id not in self.known:
            self.known[asset_id] = self.session.scalar(select(func.max(Version.id))
                                                       .where(Version.asset_id == asset_id))
        return self.known[asset_id]
