"""Who is asking: a Bearer token (API clients) or the review pages' sign-in cookie (browsers).

The pages sign in with an API token once (``/login``); the token then travels in an HttpOnly,
SameSite=Strict cookie. A state-changing request authenticated by that cookie must also carry the
``X-CSRF-Token`` header equal to the (script-readable) ``rushes_csrf`` cookie: a double-submit check
that a page on another site cannot pass.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from catalog.auth import user_for_token
from catalog.models import User

SESSION_COOKIE = "rushes_session"
CSRF_COOKIE = "rushes_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

bearer = HTTPBearer(auto_error=False, description="an API token: `rushes token create --user NAME --role ROLE`")
cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False,
                      description="set by signing in at /login (the review pages); unsafe methods also need "
                                  f"the {CSRF_HEADER} header equal to the {CSRF_COOKIE} cookie")
CHALLENGE = {"WWW-Authenticate": "Bearer"}


def user_of(request: Request, token: str) -> User | None:
    """The user a live token belongs to, detached from its session, or None."""
    farm = request.app.state.farm
    with farm.sessions() as session, session.begin():
        user = user_for_token(session, token)
        if user is not None:
            session.expunge(user)
    return user


def _csrf_ok(request: Request) -> bool:
    if request.method in SAFE_METHODS:
        return True
    sent, expected = request.headers.get(CSRF_HEADER, ""), request.cookies.get(CSRF_COOKIE, "")
    return bool(expected) and hmac.compare_digest(sent, expected)


def current_user(request: Request,
                 credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
                 session_token: Annotated[str | None, Depends(cookie)]) -> User:
    if credentials is not None and credentials.scheme.lower() == "bearer":
        token = credentials.credentials
    elif session_token:
        if not _csrf_ok(request):
            raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header: reload the page and try again")
        token = session_token
    else:
        raise HTTPException(401, "missing token: send 'Authorization: Bearer <token>' or sign in at /login",
                            headers=CHALLENGE)
    user = user_of(request, token)
    if user is None:
        raise HTTPException(401, "invalid or revoked token", headers=CHALLENGE)
    return user


def require_role(*roles: str) -> Callable[[User], User]:
    def check(user: Annotated[User, Depends(current_user)]) -> User:
        if user.role not in roles:
            raise HTTPException(403, f"role {user.role!r} may not do this; needs one of {', '.join(roles)}")
        return user

    return check
