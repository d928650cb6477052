"""The storage report: bytes per collection and tier (originals in the library, originals in each archive location,
and what stays online beside them: proxies and renditions; renditions archived with their original count in its
archive location's tier)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from catalog.models import Asset, Collection, Proxy, Rendition, Version


@dataclass(frozen=True, slots=True)
class StorageRow:
    collection: str
    tier: str  # "library", "archive:<location>", "proxies", "renditions"
    files: int
    bytes: int


def storage_report(session: Session) -> list[StorageRow]:
    """Every (collection, tier) with files in it, by collection then tier. An asset counts in its own collection
    (its watch folder's), once, whatever collections it was added to."""
    totals: dict[tuple[str, str], list[int]] = {}
    originals = session.execute(
        select(Collection.name, Version.storage, Version.archive_location, func.count(),
               func.coalesce(func.sum(Version.size), 0))
        .join(Asset, Asset.id == Version.asset_id).join(Collection, Collection.id == Asset.collection_id)
        .group_by(Collection.name, Version.storage, Version.archive_location))
    found: list[tuple[str, str, int, int]] = [
        (name, "library" if storage == "library" else f"archive:{location}", n, size or 0)
        for name, storage, location, n, size in originals]
    for label, table, online in (("proxies", Proxy, true()), ("renditions", Rendition, Rendition.storage == "library")):
        found += [(name, label, n, size or 0) for name, n, size in session.execute(
            select(Collection.name, func.count(), func.coalesce(func.sum(table.size), 0))
            .join(Version, Version.id == table.version_id).join(Asset, Asset.id == Version.asset_id)
            .join(Collection, Collection.id == Asset.collection_id).where(table.size.is_not(None), online)
            .group_by(Collection.name))]
    found += [(name, f"archive:{location}", n, size or 0) for name, location, n, size in session.execute(
        select(Collection.name, Version.archive_location, func.count(), func.coalesce(func.sum(Rendition.size), 0))
        .join(Version, Version.id == Rendition.version_id).join(Asset, Asset.id == Version.asset_id)
        .join(Collection, Collection.id == Asset.collection_id)
        .where(Rendition.storage == "archive", Rendition.size.is_not(None))
        .group_by(Collection.name, Version.archive_location))]
    for name, tier, n, size in found:
        total = totals.setdefault((name, tier), [0, 0])
        total[0] += n
        total[1] += int(size)
    return [StorageRow(name, tier, n, size) for (name, tier), (n, size) in sorted(totals.items())]
