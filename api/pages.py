"""The review pages (library, asset, sign-in) and the browser sessions behind them.

The pages are static HTML + plain JavaScript under ``api/static/``; everything they show or change goes
through the JSON API (``/api/v1/...``), which they call with the session cookie (see ``api/auth.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from api.auth import CSRF_COOKIE, SESSION_COOKIE, client_ip, session_user
from api.events import audit
from catalog.auth import create_web_session, end_web_session, use_token
from catalog.models import User
from catalog.permissions import PEOPLE, can, can_see

STATIC = Path(__file__).parent / "static"
SESSION_HOURS = 12
CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; "
       "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Content-Security-Policy": CSP,
           "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}

router = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["auth"])


class SignIn(BaseModel):
    token: str = Field(min_length=8, max_length=200, description="an API token of a person (not of a target)")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status)


@api.post("/session", summary="Sign a browser in with an API token")
def sign_in(body: SignIn, request: Request) -> JSONResponse:
    """Sets the HttpOnly session cookie (only its hash is stored; it ends after 12 hours, when its token is
    revoked or expires, or the user is disabled) and the ``rushes_csrf`` cookie that changes must echo."""
    with request.app.state.farm.transaction() as session:
        row = use_token(session, body.token.strip())
        user = row.user if row is not None else None
        if row is None or user is None or user.role not in PEOPLE:
            audit(request, session, user, "sign-in", outcome="denied")
            if user is None:
                return _error(401, "unknown, expired or revoked token")
            return _error(403, f"a {user.role} token cannot sign in to the review pages")
        cookie, csrf = create_web_session(session, row, SESSION_HOURS, client_ip(request))
        audit(request, session, user, "sign-in")
        name, role = user.name, user.role
    response = JSONResponse({"name": name, "role": role})
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    age = SESSION_HOURS * 3600
    response.set_cookie(SESSION_COOKIE, cookie, max_age=age, httponly=True, samesite="strict", secure=secure,
                        path="/")
    response.set_cookie(CSRF_COOKIE, csrf, max_age=age, httponly=False, samesite="strict", secure=secure, path="/")
    return response


@api.delete("/session", status_code=204, summary="Sign the browser out")
def sign_out(request: Request) -> Response:
    """Ends the session on the server and clears both cookies."""
    value = request.cookies.get(SESSION_COOKIE)
    if value:
        with request.app.state.farm.transaction() as session:
            row = end_web_session(session, value)
            if row is not None:
                audit(request, session, row.user, "sign-out")
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


def signed_in(request: Request) -> User | None:
    value = request.cookies.get(SESSION_COOKIE)
    found = session_user(request, value) if value else None
    return found[0] if found is not None and found[0].role in PEOPLE else None


Visitor = Annotated[User | None, Depends(signed_in)]


def _page(name: str, request: Request, user: User | None) -> Any:
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    return FileResponse(STATIC / "pages" / name, media_type="text/html", headers=HEADERS)


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return RedirectResponse("/library", status_code=303)


@router.get("/login", include_in_schema=False)
def login_page() -> FileResponse:
    return FileResponse(STATIC / "pages" / "login.html", media_type="text/html", headers=HEADERS)


@router.get("/library", include_in_schema=False)
def library_page(request: Request, user: Visitor) -> Any:
    return _page("library.html", request, user)


@router.get("/farm", include_in_schema=False)
def farm_page(request: Request, user: Visitor) -> Any:
    if user is not None and not can(user.role, "manage_users"):
        return _error(403, "the Farm page is for admins")
    return _page("farm.html", request, user)


@router.get("/assets/{asset_id}", include_in_schema=False)
def asset_page(asset_id: int, request: Request, user: Visitor) -> Any:
    if user is not None:
        with request.app.state.farm.transaction() as session:
            seen = can(user.role, "view") and can_see(session, user, asset_id)
            audit(request, session, user, "view asset", outcome="allowed" if seen else "denied", asset_id=asset_id,
                  subject="page")
        if not seen:
            return _error(404, f"no asset {asset_id}")
    return _page("asset.html", request, user)
