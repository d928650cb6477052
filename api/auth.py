"""Who is asking, and may they: a Bearer token (API clients) or a browser session (the review pages),
checked against the permission matrix (``catalog/permissions.py``) and the caller's grants.

The pages sign in once with an API token (``POST /api/v1/session``); the browser then holds an HttpOnly,
SameSite=Strict session cookie (only its hash is stored) and a script-readable ``rushes_csrf`` cookie. A
state-changing request made with the session cookie must send that CSRF value in ``X-CSRF-Token``.
Every refusal is written to the audit trail as ``denied``.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.auth import use_due, use_token, web_session
from catalog.models import Asset, User
from catalog.permissions import asset_scope, can, granted_scope, roles_that_can

SESSION_COOKIE = "rushes_session"
CSRF_COOKIE = "rushes_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

bearer = HTTPBearer(auto_error=False, description="an API token: `rushes tokens create --user NAME`")
cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False,
                      description="set by signing in (POST /api/v1/session); changes also need the "
                                  f"{CSRF_HEADER} header")
CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class Denial:
    """What the audit trail needs to know about a refusal (``api/app.py`` writes it)."""

    actor: str
    role: str | None
    action: str
    asset_id: int | None = None
    subject: str | None = None


class Denied(HTTPException):
    """A refused request: 401/403/404 to the caller, a ``denied`` line in the audit trail."""

    def __init__(self, status: int, message: str, denial: Denial, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, message, headers=headers)
        self.denial = denial


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _farm(request: Request):
    return request.app.state.farm


def user_of(request: Request, token: str) -> User | None:
    """The user a live token belongs to, detached from the session, or None. Read without SQLite's write lock;
    the token's use (at most once a minute) is written behind the request (``api.use_notes``)."""
    farm = _farm(request)
    with farm.readers() as session, session.begin():
        row = use_token(session, token, note=False)
        if row is None:
            return None
        user, due = row.user, use_due(row)
        session.expunge(user)
    if due:
        request.app.state.use_notes.note(row)
    return user


def session_user(request: Request, cookie_value: str) -> tuple[User, str] | None:
    """The user of a live browser session and its CSRF value, or None (read as :func:`user_of` reads)."""
    farm = _farm(request)
    with farm.readers() as session, session.begin():
        row = web_session(session, cookie_value, note=False)
        if row is None:
            return None
        user, csrf, due = row.user, row.csrf, use_due(row)
        session.expunge(user)
    if due:
        request.app.state.use_notes.note(row)
    return user, csrf


def current_user(request: Request,
                 credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
                 session_cookie: Annotated[str | None, Depends(cookie)]) -> User:
    if credentials is not None and credentials.scheme.lower() == "bearer":
        user = user_of(request, credentials.credentials)
        if user is None:
            raise Denied(401, "invalid, expired or revoked token", Denial("(bad token)", None, "sign-in"),
                         headers=CHALLENGE)
    elif session_cookie:
        signed = session_user(request, session_cookie)
        if signed is None:
            raise Denied(401, "your session ended: sign in again at /login", Denial("(ended session)", None, "sign-in"),
                         headers=CHALLENGE)
        user, csrf = signed
        if request.method not in SAFE_METHODS and not hmac.compare_digest(request.headers.get(CSRF_HEADER, ""), csrf):
            raise Denied(403, f"missing or wrong {CSRF_HEADER} header: reload the page and try again",
                         Denial(user.name, user.role, "csrf"))
    else:
        raise HTTPException(401, "missing token: send 'Authorization: Bearer <token>' or sign in at /login",
                            headers=CHALLENGE)
    return user


def allowed(action: str) -> Callable[[User], User]:
    """A dependency: the caller, if the matrix lets their role take ``action``."""
    roles = ", ".join(roles_that_can(action))

    def check(user: Annotated[User, Depends(current_user)]) -> User:
        if not can(user.role, action):
            raise Denied(403, f"role {user.role!r} may not {action.replace('_', ' ')}; needs one of {roles}",
                         Denial(user.name, user.role, action))
        return user

    return check


def granted_asset(session: Session, user: User, asset_id: int, action: str) -> None:
    """The asset, in the trash or not, is one the caller's grants reach; 404 otherwise (for the trash's routes and
    a legal hold, which reaches into the trash)."""
    if session.scalar(select(Asset.id).where(Asset.id == asset_id, granted_scope(user))) is None:
        raise Denied(404, f"no asset {asset_id}", Denial(user.name, user.role, action, asset_id=asset_id))


def visible_asset(session: Session, user: User, asset_id: int, action: str = "view") -> Asset:
    """The asset, if it exists and the caller's grants reach it; 404 otherwise (its existence is not told)."""
    asset = session.scalar(select(Asset).where(Asset.id == asset_id, asset_scope(user)))
    if asset is None:
        raise Denied(404, f"no asset {asset_id}", Denial(user.name, user.role, action, asset_id=asset_id))
    return asset
