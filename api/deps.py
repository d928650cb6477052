"""Dependencies shared by the routers: a catalog session per request, the caller, lookups that 404."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.auth import require_role
from catalog.models import User


def db(request: Request) -> Iterator[Session]:
    """One catalog session per request, in one transaction."""
    with request.app.state.farm.sessions() as session, session.begin():
        yield session


DB = Annotated[Session, Depends(db)]
# every person's role; a distribution target's machine user reaches only its own feed (api/delivery.py)
Reader = Annotated[User, Depends(require_role("admin", "editor", "reviewer", "viewer"))]
Editor = Annotated[User, Depends(require_role("admin", "editor"))]
