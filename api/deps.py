"""Dependencies shared by the routers: a catalog session per request, and the caller, allowed to take an
action by the permission matrix (catalog/permissions.py). Asset routes also check the caller's grants
(``api.auth.visible_asset``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.auth import Denial, Denied, allowed, visible_asset
from catalog.models import User, Version

__all__ = ["DB", "PICTURE_CACHE", "ReadDB", "CanApprove", "CanComment", "CanDeliver", "CanDownloadOriginal",
           "CanDownloadRendition", "CanEditMetadata", "CanManageSchema", "CanManageUsers", "CanView", "Editor",
           "Reader", "visible_version"]


def db(request: Request) -> Iterator[Session]:
    """One catalog session per request, in one transaction."""
    with request.app.state.farm.sessions() as session, session.begin():
        yield session


def read_db(request: Request) -> Iterator[Session]:
    """A session for a route that only reads: on SQLite it takes no write lock, so a page's many thumbnails and
    lists are served side by side instead of one at a time. A route that writes (an audit line) uses ``DB``."""
    with request.app.state.farm.readers() as session, session.begin():
        yield session


# a version's pictures (poster, keyframes, waveform, contact sheet) are made once by its steps: a browser may
# keep them a few minutes (``private``: never a shared cache), so the library's refreshes and reloads do not
# ask for every thumbnail again
PICTURE_CACHE = {"Cache-Control": "private, max-age=300"}

# scope="function": the transaction ends (commits, or rolls back and answers the error) before the answer is sent,
# by declaration. FastAPI's default scope may end a yield dependency after the answer has gone (it does in a bare
# app; in this one the commit came first when measured): a client could then read 201 before the row is committed,
# and a failed commit would never reach it (tests/test_api_transactions.py).
DB = Annotated[Session, Depends(db, scope="function")]
ReadDB = Annotated[Session, Depends(read_db, scope="function")]
CanView = Annotated[User, Depends(allowed("view"))]
CanDownloadOriginal = Annotated[User, Depends(allowed("download_original"))]
CanDownloadRendition = Annotated[User, Depends(allowed("download_rendition"))]
CanComment = Annotated[User, Depends(allowed("comment"))]
CanApprove = Annotated[User, Depends(allowed("approve"))]
CanDeliver = Annotated[User, Depends(allowed("deliver"))]
CanEditMetadata = Annotated[User, Depends(allowed("edit_metadata"))]
CanManageUsers = Annotated[User, Depends(allowed("manage_users"))]
CanManageSchema = Annotated[User, Depends(allowed("manage_schema"))]
CanManageRules = Annotated[User, Depends(allowed("manage_rules"))]
CanManageWebhooks = Annotated[User, Depends(allowed("manage_webhooks"))]
CanArchive = Annotated[User, Depends(allowed("archive"))]
CanRestore = Annotated[User, Depends(allowed("restore"))]
CanHold = Annotated[User, Depends(allowed("hold"))]
CanDelete = Annotated[User, Depends(allowed("delete"))]
CanManageLifecycle = Annotated[User, Depends(allowed("manage_lifecycle"))]
Reader = CanView  # every person's role; a distribution target reaches only its own feed (api/delivery.py)
Editor = CanEditMetadata


def visible_version(session: Session, user: User, version_id: int, action: str = "view") -> Version:
    """The version, if the caller's grants reach its asset; 404 otherwise."""
    version = session.get(Version, version_id)
    if version is None:
        raise Denied(404, f"no version {version_id}", Denial(user.name, user.role, action))
    visible_asset(session, user, version.asset_id, action)
    return version
