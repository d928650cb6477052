"""The review pages (library, asset, sign-in) and the sign-in session behind them.

The pages are static HTML + plain JavaScript under ``api/static/``; everything they show or change goes
through the JSON API (``/api/v1/...``), which they call with the sign-in cookie (see ``api/auth.py``).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from api.auth import CSRF_COOKIE, SESSION_COOKIE, user_of
from catalog.models import User

STATIC = Path(__file__).parent / "static"
SESSION_HOURS = 12
PEOPLE = ("admin", "editor", "reviewer", "viewer")  # a distribution target's machine user has no pages

router = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["auth"])


class SignIn(BaseModel):
    token: str = Field(min_length=8, max_length=200, description="an API token of a person (not of a target)")


@api.post("/session")
def sign_in(body: SignIn, request: Request) -> JSONResponse:
    """Sign the browser in with an API token: sets the HttpOnly session cookie and the CSRF cookie."""
    user = user_of(request, body.token.strip())
    if user is None:
        return JSONResponse({"error": "unknown or revoked token", "status": 401}, status_code=401)
    if user.role not in PEOPLE:
        return JSONResponse({"error": f"a {user.role} token cannot sign in to the review pages", "status": 403},
                            status_code=403)
    response = JSONResponse({"name": user.name, "role": user.role})
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    age = SESSION_HOURS * 3600
    response.set_cookie(SESSION_COOKIE, body.token.strip(), max_age=age, httponly=True, samesite="strict",
                        secure=secure, path="/")
    response.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(24), max_age=age, httponly=False, samesite="strict",
                        secure=secure, path="/")
    return response


@api.delete("/session", status_code=204)
def sign_out() -> Response:
    """Sign the browser out (clears both cookies)."""
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


def signed_in(request: Request) -> User | None:
    token = request.cookies.get(SESSION_COOKIE)
    user = user_of(request, token) if token else None
    return user if user is not None and user.role in PEOPLE else None


Visitor = Annotated[User | None, Depends(signed_in)]


def _page(name: str, request: Request, user: User | None) -> Any:
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    return FileResponse(STATIC / "pages" / name, media_type="text/html",
                        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                                 "Content-Security-Policy": CSP})


CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; "
       "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return RedirectResponse("/library", status_code=303)


@router.get("/login", include_in_schema=False)
def login_page() -> FileResponse:
    return FileResponse(STATIC / "pages" / "login.html", media_type="text/html",
                        headers={"Cache-Control": "no-store", "Content-Security-Policy": CSP})


@router.get("/library", include_in_schema=False)
def library_page(request: Request, user: Visitor) -> Any:
    return _page("library.html", request, user)


@router.get("/assets/{asset_id}", include_in_schema=False)
def asset_page(asset_id: int, request: Request, user: Visitor) -> Any:
    return _page("asset.html", request, user)
