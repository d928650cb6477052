"""Bearer-token authentication: every /api/ route knows who is asking and with which role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from catalog.auth import user_for_token
from catalog.models import User

bearer = HTTPBearer(auto_error=False, description="an API token: `rushes token create --user NAME --role ROLE`")
CHALLENGE = {"WWW-Authenticate": "Bearer"}


def current_user(request: Request,
                 credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "missing token: send 'Authorization: Bearer <token>'", headers=CHALLENGE)
    farm = request.app.state.farm
    with farm.sessions() as session, session.begin():
        user = user_for_token(session, credentials.credentials)
        if user is None:
            raise HTTPException(401, "invalid or revoked token", headers=CHALLENGE)
        session.expunge(user)
    return user


def require_role(*roles: str) -> Callable[[User], User]:
    def check(user: Annotated[User, Depends(current_user)]) -> User:
        if user.role not in roles:
            raise HTTPException(403, f"role {user.role!r} may not do this; needs one of {', '.join(roles)}")
        return user

    return check
