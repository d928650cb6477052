"""Legal holds and retention: what keeps an asset's original where it is and the asset in the catalog.

A **legal hold** on an asset, or on a collection (every asset in it, by its watch folder or added to it), blocks
archiving, deleting and replacing the original — for everyone, admins included — until it is lifted, and lifting
needs a reason. **Retention** keeps an asset at least until a date; once set it can be extended, never shortened.
Placing, lifting and extending are audited (``legal hold``, ``retention change``).
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from catalog.audit import record
from catalog.models import Asset, AssetCollection, Collection, LegalHold, utcnow
from catalog.rights import as_utc
from rushes.errors import InvalidInput, NotFound, UnderHold, UnderRetention


def holds_on(session: Session, asset_id: int) -> list[LegalHold]:
    """The holds in force on an asset: its own and those of every collection it is in."""
    own = select(Asset.collection_id).where(Asset.id == asset_id)
    added = select(AssetCollection.collection_id).where(AssetCollection.asset_id == asset_id)
    return list(session.scalars(select(LegalHold).where(
        LegalHold.lifted_at.is_(None),
        or_(LegalHold.asset_id == asset_id, LegalHold.collection_id.in_(own), LegalHold.collection_id.in_(added)),
    ).order_by(LegalHold.id)))


def refuse_if_held(session: Session, asset_id: int, what: str) -> None:
    """Raise :class:`UnderHold` naming the hold when one covers the asset."""
    holds = holds_on(session, asset_id)
    if holds:
        hold = holds[0]
        collection = session.get(Collection, hold.collection_id) if hold.collection_id else None
        on = f"collection {collection.name!r}" if collection else f"asset {asset_id}"
        raise UnderHold(f"asset {asset_id} is under legal hold {hold.id} on {on} ({hold.reason!r}, placed by "
                        f"{hold.placed_by} on {hold.placed_at:%Y-%m-%d}): it cannot be {what} until the hold is "
                        "lifted")


def place_hold(session: Session, *, by: str, role: str | None, reason: str, asset_id: int | None = None,
               collection: str | None = None, ip: str | None = None) -> LegalHold:
    reason = reason.strip()
    if not reason:
        raise InvalidInput("a legal hold needs a reason (a matter, a case number)")
    if (asset_id is None) == (collection is None):
        raise InvalidInput("a legal hold is placed on an asset or on a collection")
    collection_id = None
    if collection is not None:
        collection_id = session.scalar(select(Collection.id).where(Collection.name == collection))
        if collection_id is None:
            raise NotFound(f"no collection {collection!r}")
    elif session.get(Asset, asset_id) is None:
        raise NotFound(f"no asset {asset_id}")
    hold = LegalHold(asset_id=asset_id, collection_id=collection_id, reason=reason, placed_by=by)
    session.add(hold)
    session.flush()
    subject = f"hold {hold.id} on " + (f"collection {collection}" if collection else f"asset {asset_id}")
    record(session, actor=by, role=role, ip=ip, action="legal hold", asset_id=asset_id, subject=subject,
           detail=json.dumps({"placed": reason}))
    return hold


def lift_hold(session: Session, hold_id: int, *, by: str, role: str | None, reason: str,
              ip: str | None = None) -> LegalHold:
    reason = reason.strip()
    if not reason:
        raise InvalidInput("lifting a legal hold needs a reason")
    hold = session.get(LegalHold, hold_id)
    if hold is None:
        raise NotFound(f"no legal hold {hold_id}")
    if hold.lifted_at is not None:
        raise InvalidInput(f"legal hold {hold_id} was lifted on {hold.lifted_at:%Y-%m-%d} by {hold.lifted_by}")
    hold.lifted_by, hold.lifted_at, hold.lift_reason = by, utcnow(), reason
    record(session, actor=by, role=role, ip=ip, action="legal hold", asset_id=hold.asset_id,
           subject=f"hold {hold.id} lifted", detail=json.dumps({"lifted": reason, "placed": hold.reason}))
    return hold


def extend_retention(session: Session, asset_id: int, until: datetime, *, by: str, role: str | None,
                     ip: str | None = None) -> Asset:
    """Keep the asset at least until ``until``; an earlier date than the one set is refused."""
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise NotFound(f"no asset {asset_id}")
    until = as_utc(until) or until
    if asset.retain_until is not None and until < asset.retain_until:
        raise UnderRetention(f"asset {asset_id} is kept until {asset.retain_until:%Y-%m-%d}: retention can be "
                             "extended, never shortened")
    old = asset.retain_until
    asset.retain_until = until
    record(session, actor=by, role=role, ip=ip, action="retention change", asset_id=asset_id,
           subject=f"kept until {until:%Y-%m-%d}",
           detail=json.dumps({"old": old.isoformat() if old else None, "new": until.isoformat()}))
    return asset
