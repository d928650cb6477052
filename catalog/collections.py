"""Collections an asset belongs to: its own (the watch folder's, or where it was moved) and any it was added to."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from catalog.models import Asset, AssetCollection, Collection
from rushes.errors import NotFound


def collection_named(session: Session, name: str) -> Collection:
    """The collection ``name``, made when new."""
    row = session.scalar(select(Collection).where(Collection.name == name))
    if row is None:
        row = Collection(name=name)
        session.add(row)
        session.flush()
    return row


def put_in_collection(session: Session, asset: Asset, name: str, *, move: bool, by: str | None) -> dict[str, Any]:
    """Move the asset to collection ``name`` (its own from now on) or add it there too; idempotent."""
    target = collection_named(session, name)
    if move:
        session.execute(delete(AssetCollection).where(AssetCollection.asset_id == asset.id,
                                                      AssetCollection.collection_id == target.id))
        asset.collection_id = target.id
    elif target.id != asset.collection_id and session.get(AssetCollection, (asset.id, target.id)) is None:
        session.add(AssetCollection(asset_id=asset.id, collection_id=target.id, added_by=by))
    session.flush()
    session.refresh(asset)
    return collections_of(session, asset)


def take_out_of_collection(session: Session, asset: Asset, name: str) -> dict[str, Any]:
    """Remove the asset from a collection it was added to (its own collection cannot be left, only changed)."""
    if asset.collection.name == name:
        raise NotFound(f"{name} is the asset's own collection: move it elsewhere instead")
    gone = session.execute(delete(AssetCollection).where(
        AssetCollection.asset_id == asset.id,
        AssetCollection.collection_id == select(Collection.id).where(Collection.name == name).scalar_subquery()))
    if not gone.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"asset {asset.id} is not in collection {name!r}")
    return collections_of(session, asset)


def collections_of(session: Session, asset: Asset) -> dict[str, Any]:
    added = session.scalars(select(Collection.name)
                            .join(AssetCollection, AssetCollection.collection_id == Collection.id)
                            .where(AssetCollection.asset_id == asset.id).order_by(Collection.name)).all()
    return {"asset_id": asset.id, "collection": asset.collection.name, "also_in": list(added)}
