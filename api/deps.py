"""Dependencies shared by the routers: a catalog session per request, the caller, lookups that 404."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.auth import require_role
from catalog.models import Asset, User, Version
from rushes.errors import NotFound


def db(request: Request) -> Iterator[Session]:
    """One catalog session per request, in one transaction."""
    with request.app.state.farm.sessions() as session, session.begin():
        yield session


DB = Annotated[Session, Depends(db)]
# every person's role; a distribution target's machine user reaches only its own feed (api/delivery.py)
Reader = Annotated[User, Depends(require_role("admin", "editor", "reviewer", "viewer"))]
Editor = Annotated[User, Depends(require_role("admin", "editor"))]


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
