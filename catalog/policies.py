"""Lifecycle policies per collection: which originals are due for the archive, how long assets are kept, and which
are proposed for deletion when that time is over (to admins: nothing is deleted by itself).

An asset follows the policy of its own collection (its watch folder's) and of every collection it was added to:
archived when any says so, kept as long as the longest says. **Without use** means no one viewed, played,
downloaded, rendered, exported, commented on or reviewed it (the audit trail says) for that many days, counted from
its ingest at the earliest. **After delivery** counts from the first time a target took or was sent one of its
renditions. **Retention** runs from ingest; a policy's retention only ever extends an asset's (``catalog/holds.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from catalog.audit import record
from catalog.models import (
    Asset,
    AssetCollection,
    AuditEntry,
    Collection,
    DeliveryEvent,
    LegalHold,
    LifecyclePolicy,
    Rendition,
    Version,
    utcnow,
)
from rushes.errors import InvalidInput, NotFound

# what counts as a use of an asset (audit actions on it)
USES = ("view asset", "download proxy", "download original", "download rendition", "render", "export", "comment",
        "approve", "request changes", "metadata change", "restore")
ENDS = ("propose_deletion", "keep")


@dataclass(frozen=True, slots=True)
class Due:
    version_id: int
    asset_id: int
    collection: str
    why: str
    location: str | None


def years_after(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def policy_view(policy: LifecyclePolicy, collection: str) -> dict[str, Any]:
    return {"collection": collection, "archive_unused_days": policy.archive_unused_days,
            "archive_delivered_days": policy.archive_delivered_days, "location": policy.location,
            "retention_years": policy.retention_years, "at_retention_end": policy.at_retention_end,
            "updated_by": policy.updated_by, "updated_at": policy.updated_at}


def set_policy(session: Session, collection: str, *, by: str, role: str | None, ip: str | None = None,
               archive_unused_days: int | None = None, archive_delivered_days: int | None = None,
               location: str | None = None, retention_years: int | None = None,
               at_retention_end: str = "propose_deletion") -> LifecyclePolicy:
    """Make or replace a collection's policy; its retention is applied to the assets already in it (extended
    only) and to every asset ingested later."""
    if at_retention_end not in ENDS:
        raise InvalidInput(f"at_retention_end is one of {', '.join(ENDS)}, not {at_retention_end!r}")
    for name, days in (("archive_unused_days", archive_unused_days), ("archive_delivered_days", archive_delivered_days),
                       ("retention_years", retention_years)):
        if days is not None and not 0 <= days <= 36_500:
            raise InvalidInput(f"{name} is 0 to 36500, not {days}")
    found = session.scalar(select(Collection).where(Collection.name == collection))
    if found is None:
        raise NotFound(f"no collection {collection!r}")
    policy = session.get(LifecyclePolicy, found.id) or LifecyclePolicy(collection_id=found.id)
    policy.archive_unused_days, policy.archive_delivered_days = archive_unused_days, archive_delivered_days
    policy.location, policy.retention_years, policy.at_retention_end = location, retention_years, at_retention_end
    policy.updated_by, policy.updated_at = by, utcnow()
    session.add(policy)
    session.flush()
    extended = _extend_retention(session, found.id, retention_years) if retention_years is not None else 0
    record(session, actor=by, role=role, ip=ip, action="lifecycle policy", subject=f"collection {collection}",
           detail=json.dumps({**{k: v for k, v in policy_view(policy, collection).items()
                                 if k not in ("updated_at", "updated_by")}, "assets_extended": extended}))
    return policy


def _in_collection(collection_id: int) -> Any:
    return or_(Asset.collection_id == collection_id,
               exists().where(AssetCollection.asset_id == Asset.id, AssetCollection.collection_id == collection_id))


def _extend_retention(session: Session, collection_id: int, years: int, batch: int = 1000) -> int:
    """Keep every asset of the collection at least ``years`` from its ingest (never shortening); how many moved."""
    extended, after = 0, 0
    while True:
        rows = session.execute(select(Asset.id, Asset.created_at, Asset.retain_until).where(
            _in_collection(collection_id), Asset.id > after).order_by(Asset.id).limit(batch)).all()
        if not rows:
            return extended
        for asset_id, created, until in rows:
            wanted = years_after(created, years)
            if until is None or until < wanted:
                session.execute(update(Asset).where(Asset.id == asset_id).values(retain_until=wanted))
                extended += 1
        after = rows[-1][0]


def retention_at_ingest(session: Session, asset: Asset) -> None:
    """A new asset gets the longest retention of its collection's policy."""
    policy = session.get(LifecyclePolicy, asset.collection_id)
    if policy is not None and policy.retention_years is not None:
        wanted = years_after(asset.created_at or utcnow(), policy.retention_years)
        if asset.retain_until is None or asset.retain_until < wanted:
            asset.retain_until = wanted


def _held() -> Any:
    """A WHERE clause on ``Asset``: a hold in force on it or on a collection it is in."""
    return or_(
        exists().where(LegalHold.asset_id == Asset.id, LegalHold.lifted_at.is_(None)),
        exists().where(LegalHold.collection_id == Asset.collection_id, LegalHold.lifted_at.is_(None)),
        exists().where(AssetCollection.asset_id == Asset.id, LegalHold.collection_id == AssetCollection.collection_id,
                       LegalHold.lifted_at.is_(None)))


def due_for_archive(session: Session, now: datetime | None = None, limit: int = 500) -> list[Due]:
    """Originals in the library that a policy sends to the archive now (not under a hold), oldest first."""
    now = now or utcnow()
    due: dict[int, Due] = {}
    for policy, name in session.execute(select(LifecyclePolicy, Collection.name).join(
            Collection, Collection.id == LifecyclePolicy.collection_id)).tuples():
        base = (select(Version.id, Version.asset_id).join(Asset, Asset.id == Version.asset_id)
                .where(_in_collection(policy.collection_id), Version.storage == "library", ~_held())
                .order_by(Version.id).limit(limit))
        if policy.archive_unused_days is not None:
            since = now - timedelta(days=policy.archive_unused_days)
            used = exists().where(AuditEntry.asset_id == Asset.id, AuditEntry.action.in_(USES), AuditEntry.at >= since)
            for version_id, asset_id in session.execute(base.where(Version.created_at < since, ~used)):
                due.setdefault(version_id, Due(version_id, asset_id, name,
                                               f"unused for {policy.archive_unused_days} days", policy.location))
        if policy.archive_delivered_days is not None:
            since = now - timedelta(days=policy.archive_delivered_days)
            delivered = or_(DeliveryEvent.action == "download",  # a failed push is no delivery
                            and_(DeliveryEvent.action == "push", DeliveryEvent.detail == "ok"))
            first = (select(func.min(DeliveryEvent.at)).join(Rendition, Rendition.id == DeliveryEvent.rendition_id)
                     .where(Rendition.version_id == Version.id, delivered).correlate(Version).scalar_subquery())
            for version_id, asset_id in session.execute(base.where(and_(first.is_not(None), first <= since))):
                due.setdefault(version_id, Due(version_id, asset_id, name,
                                               f"delivered {policy.archive_delivered_days} days ago or more",
                                               policy.location))
    return sorted(due.values(), key=lambda d: d.version_id)[:limit]


def proposed_for_deletion(session: Session, now: datetime | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Assets whose retention is over in a collection whose policy proposes their deletion (not under a hold)."""
    now = now or utcnow()
    proposing = select(LifecyclePolicy.collection_id).where(LifecyclePolicy.at_retention_end == "propose_deletion")
    rows = session.execute(select(Asset.id, Asset.name, Asset.retain_until, Collection.name)
                           .join(Collection, Collection.id == Asset.collection_id)
                           .where(Asset.retain_until < now, Asset.collection_id.in_(proposing), ~_held())
                           .order_by(Asset.retain_until).limit(limit)).all()
    return [{"asset_id": asset_id, "name": name, "retain_until": until, "collection": collection}
            for asset_id, name, until, collection in rows]
