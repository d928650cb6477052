"""Password routes: an admin sets a person's password, makes an invitation or reset link, unlocks an account; a
person changes their own; a link sets one (no sign-in needed: the link is the proof). Sign-in itself is
``POST /api/v1/session`` (``api/pages.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.auth import client_ip
from api.deps import DB, CanManageUsers, CanView
from catalog.auth import user_named
from catalog.passwords import change_password, make_link, set_password, unlock, use_link

router = APIRouter(prefix="/api/v1", tags=["auth"])


class NewPassword(BaseModel):
    password: str = Field(min_length=1, max_length=1000, description="at least 10 characters, not the user name")


class Change(BaseModel):
    current: str = Field(min_length=1, max_length=1000)
    new: str = Field(min_length=1, max_length=1000)


class LinkRequest(BaseModel):
    purpose: Literal["invite", "reset"] = Field("invite", description="invite (valid 7 days) or reset (24 hours)")


class FromLink(BaseModel):
    link: str = Field(min_length=10, max_length=200, description="the secret of an invitation or reset link")
    password: str = Field(min_length=1, max_length=1000)


@router.put("/users/{name}/password", summary="Set a person's password (their browser sessions end)")
def admin_sets(name: str, body: NewPassword, request: Request, session: DB, user: CanManageUsers) -> dict[str, Any]:
    person = user_named(session, name)
    set_password(session, person, body.password, by=user.name, role=user.role, ip=client_ip(request))
    return {"name": person.name, "password_set_at": person.password_set_at}


@router.post("/users/{name}/password-link", status_code=201,
             summary="An invitation or reset link for a person to set their password (shown once)")
def link(name: str, body: LinkRequest, request: Request, session: DB, user: CanManageUsers) -> dict[str, Any]:
    person = user_named(session, name)
    secret, expires = make_link(session, person, body.purpose, by=user.name, role=user.role, ip=client_ip(request))
    return {"name": person.name, "purpose": body.purpose, "url": f"{request.base_url}login/password?link={secret}",
            "expires_at": expires}


@router.post("/users/{name}/unlock", summary="Unlock an account locked after failed sign-ins")
def unlock_route(name: str, request: Request, session: DB, user: CanManageUsers) -> dict[str, Any]:
    person = user_named(session, name)
    unlock(session, person, by=user.name, role=user.role, ip=client_ip(request))
    return {"name": person.name, "locked_until": None}


@router.post("/me/password", summary="Change your own password (the current one first)")
def change(body: Change, request: Request, session: DB, user: CanView) -> dict[str, Any]:
    me = user_named(session, user.name)
    change_password(session, me, body.current, body.new, ip=client_ip(request))
    return {"name": me.name, "password_set_at": me.password_set_at}


@router.post("/password", summary="Set a password from an invitation or reset link (then sign in with it)")
def from_link(body: FromLink, request: Request, session: DB) -> dict[str, Any]:
    person = use_link(session, body.link, body.password, ip=client_ip(request))
    set_at: datetime | None = person.password_set_at
    return {"name": person.name, "password_set_at": set_at}
