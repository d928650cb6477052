"""Admin routes: users and their roles, API tokens (hashed, revocable, optional expiry), grants, the matrix."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select

from api.deps import DB, CanManageUsers, CanView
from api.events import audit
from catalog.auth import (
    create_token,
    ensure_user,
    grant,
    grants_of,
    revoke_grant,
    revoke_token,
    set_disabled,
    user_named,
)
from catalog.models import ROLES, Token, User, utcnow
from catalog.permissions import ACTIONS, MATRIX, can
from rushes.errors import NotFound

router = APIRouter(prefix="/api/v1", tags=["admin"])
UserName = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,119}$", description="a user name")]
ROLE_PATTERN = "^(" + "|".join(ROLES) + ")$"


def user_view(session: DB, user: User) -> dict[str, Any]:
    return {"name": user.name, "role": user.role, "created_at": user.created_at.isoformat(),
            "disabled": user.disabled_at is not None, "can": sorted(a for a in ACTIONS if can(user.role, a)),
            "grants": grants_of(session, user)}


def token_view(token: Token) -> dict[str, Any]:
    return {"id": token.id, "user": token.user.name, "label": token.label, "created_at": token.created_at.isoformat(),
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
            "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
            "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
            "live": token.revoked_at is None and (token.expires_at is None or token.expires_at > utcnow())}


@router.get("/permissions", summary="The permission matrix (role × action)")
def permissions_route(user: CanView) -> dict[str, Any]:
    """Which role may take which action; grants decide on which collections and assets."""
    return {"actions": ACTIONS, "roles": {role: sorted(actions) for role, actions in MATRIX.items()},
            "you": {"name": user.name, "role": user.role, "can": sorted(a for a in ACTIONS if can(user.role, a))}}


class UserRequest(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,119}$")
    role: str = Field(pattern=ROLE_PATTERN)


class UserChange(BaseModel):
    role: str | None = Field(None, pattern=ROLE_PATTERN)
    disabled: bool | None = Field(None, description="true stops the user's tokens and sessions at once")


class TokenRequest(BaseModel):
    label: str | None = Field(None, max_length=120)
    expires_in_days: float | None = Field(None, gt=0, le=3650, description="none: never expires")


class GrantRequest(BaseModel):
    collection: str | None = Field(None, min_length=1, max_length=200)
    asset_id: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _one(self) -> GrantRequest:
        if (self.collection is None) == (self.asset_id is None):
            raise ValueError("give a collection or an asset_id (one of them)")
        return self


@router.get("/users", summary="Every user with role, state and grants")
def users_route(session: DB, user: CanManageUsers) -> dict[str, Any]:
    return {"users": [user_view(session, u) for u in session.scalars(select(User).order_by(User.name))]}


@router.post("/users", status_code=201, summary="Create a user (or change an existing user's role)")
def create_user_route(body: UserRequest, request: Request, session: DB, user: CanManageUsers) -> dict[str, Any]:
    created = ensure_user(session, body.name, body.role)
    audit(request, session, user, "permission change", subject=f"user {body.name}: role {body.role}")
    return user_view(session, created)


@router.patch("/users/{name}", summary="Change a user's role, disable or enable them")
def change_user_route(name: UserName, body: UserChange, request: Request, session: DB,
                      user: CanManageUsers) -> dict[str, Any]:
    target = user_named(session, name)
    if body.role is not None:
        target.role = body.role
    if body.disabled is not None:
        set_disabled(session, target, body.disabled)
    audit(request, session, user, "permission change",
          subject=f"user {name}: " + ", ".join(f"{k} {v}" for k, v in body.model_dump(exclude_none=True).items()))
    return user_view(session, target)


@router.get("/users/{name}/tokens", summary="A user's tokens (never their secrets)")
def tokens_route(name: UserName, session: DB, user: CanManageUsers) -> dict[str, Any]:
    target = user_named(session, name)
    rows = session.scalars(select(Token).where(Token.user_id == target.id).order_by(Token.id))
    return {"tokens": [token_view(t) for t in rows]}


@router.post("/users/{name}/tokens", status_code=201, summary="A new token for a user (shown once)")
def create_token_route(name: UserName, body: TokenRequest, request: Request, session: DB,
                       user: CanManageUsers) -> dict[str, Any]:
    target = user_named(session, name)
    expires = utcnow() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    secret = create_token(session, target, label=body.label, expires_at=expires)
    row = session.scalars(select(Token).where(Token.user_id == target.id).order_by(Token.id.desc())).first()
    audit(request, session, user, "permission change", subject=f"token {row.id if row else '?'} for {name}")
    return {**token_view(row), "token": secret} if row else {"token": secret}


@router.delete("/tokens/{token_id}", summary="Revoke a token (its browser sessions end too)")
def revoke_token_route(token_id: int, request: Request, session: DB, user: CanManageUsers) -> dict[str, Any]:
    row = revoke_token(session, token_id)
    audit(request, session, user, "permission change", subject=f"revoked token {token_id} of {row.user.name}")
    return token_view(row)


@router.get("/users/{name}/grants", summary="The collections and assets a user may act on")
def grants_route(name: UserName, session: DB, user: CanManageUsers) -> dict[str, Any]:
    return {"user": name, "grants": grants_of(session, user_named(session, name))}


@router.post("/users/{name}/grants", status_code=201, summary="Grant a user a collection or one asset")
def grant_route(name: UserName, body: GrantRequest, request: Request, session: DB,
                user: CanManageUsers) -> dict[str, Any]:
    target = user_named(session, name)
    grant(session, target, collection=body.collection, asset_id=body.asset_id, by=user.name)
    what = f"collection {body.collection}" if body.collection else f"asset {body.asset_id}"
    audit(request, session, user, "permission change", asset_id=body.asset_id, subject=f"granted {name} {what}")
    return {"user": name, "grants": grants_of(session, target)}


@router.delete("/users/{name}/grants", summary="Take a grant away")
def revoke_grant_route(name: UserName, request: Request, session: DB, user: CanManageUsers,
                       collection: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
                       asset_id: Annotated[int | None, Query(ge=1)] = None) -> dict[str, Any]:
    """Give ``collection`` or ``asset_id`` (one of them) as a query parameter."""
    if (collection is None) == (asset_id is None):
        raise HTTPException(422, "invalid request: give ?collection= or ?asset_id= (one of them)")
    body = GrantRequest(collection=collection, asset_id=asset_id)
    target = user_named(session, name)
    if not revoke_grant(session, target, collection=body.collection, asset_id=body.asset_id):
        raise NotFound(f"{name} has no such grant")
    what = f"collection {body.collection}" if body.collection else f"asset {body.asset_id}"
    audit(request, session, user, "permission change", asset_id=body.asset_id, subject=f"revoked {name}'s {what}")
    return {"user": name, "grants": grants_of(session, target)}
