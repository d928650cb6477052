"""Finding assets and versions by id or number, with a NotFound that says what is missing (API and CLI)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from catalog.models import Asset, Version
from rushes.errors import NotFound


def asset_or_404(session: Session, asset_id: int) -> Asset:
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise NotFound(f"no asset {asset_id}")
    return asset


def version_or_404(session: Session, version_id: int) -> Version:
    version = session.get(Version, version_id)
    if version is None:
        raise NotFound(f"no version {version_id}")
    return version


def version_of(asset: Asset, number: int | None = None) -> Version:
    """The asset's version ``number``, or its newest."""
    if not asset.versions:
        raise NotFound(f"asset {asset.id} has no version (its file was quarantined)")
    if number is None:
        return asset.versions[-1]
    for version in asset.versions:
        if version.number == number:
            return version
    raise NotFound(f"asset {asset.id} has no version {number}")
