"""The review pages (library, asset, sign-in) and the browser sessions behind them.

The pages are static HTML + plain JavaScript under ``api/static/``; everything they show or change goes
through the JSON API (``/api/v1/...``), which they call with the session cookie (see ``api/auth.py``).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, model_validator

from api.auth import CSRF_COOKIE, SESSION_COOKIE, client_ip, session_user
from api.events import audit
from api.oidc_issuer import end_session_url
from catalog.auth import create_web_session, end_web_session, use_token
from catalog.models import User, utcnow
from catalog.passwords import sign_in as sign_in_with_password
from catalog.permissions import PEOPLE, can, can_see

STATIC = Path(__file__).parent / "static"
R = TypeVar("R", bound=Response)
SESSION_HOURS = 12
CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; "
       "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Content-Security-Policy": CSP,
           "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}

router = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["auth"])


class SignIn(BaseModel):
    """A person's name and password, or an API token of a person (not of a target or an agent)."""

    token: str | None = Field(None, min_length=8, max_length=200, description="an API token of a person")
    user: str | None = Field(None, min_length=1, max_length=120, description="a person's user name")
    password: str | None = Field(None, min_length=1, max_length=1000, description="that person's password")

    @model_validator(mode="after")
    def _one_way(self) -> SignIn:
        if (self.token is None) == (self.user is None or self.password is None):
            raise ValueError("give a user name and a password, or a token")
        return self


class Attempts:
    """Sign-in attempts per client address in this process: at most ``per_minute`` (beside each account's lock)."""

    def __init__(self, per_minute: int = 30) -> None:
        self.per_minute, self.seen, self.lock = per_minute, defaultdict[str, deque[float]](deque), threading.Lock()

    def allow(self, ip: str | None) -> bool:
        now = time.monotonic()
        with self.lock:
            times = self.seen[ip or "?"]
            while times and times[0] < now - 60:
                times.popleft()
            if len(times) >= self.per_minute:
                return False
            times.append(now)
            return True



def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)


@api.post("/session", summary="Sign a browser in with a name and password, or an API token")
def sign_in(body: SignIn, request: Request) -> JSONResponse:
    """Sets the HttpOnly session cookie (only its hash is stored; it ends after 12 hours, when its token is
    revoked or expires, or the user is disabled) and the ``rushes_csrf`` cookie that changes must echo."""
    farm = request.app.state.farm
    if not request.app.state.sign_in_attempts.allow(client_ip(request)):
        return _error(429, "too many sign-in attempts from your address: wait a minute", {"Retry-After": "60"})
    with farm.transaction() as session:
        if body.user is not None and body.password is not None:
            attempt = sign_in_with_password(session, body.user, body.password, ip=client_ip(request),
                                            max_failures=farm.settings.sign_in_max_failures,
                                            lockout_s=farm.settings.sign_in_lockout_s)
            if attempt.user is None:  # the failure is counted (committed) and audited
                if attempt.locked_until is not None:
                    wait = max(1, int((attempt.locked_until - utcnow()).total_seconds()))
                    return _error(429, attempt.message, {"Retry-After": str(wait)})
                return _error(401, attempt.message)
            user = attempt.user
            cookie, csrf = create_web_session(session, None, SESSION_HOURS, client_ip(request), user=user)
        else:
            row = use_token(session, (body.token or "").strip())
            owner = row.user if row is not None else None
            if row is None or owner is None or owner.role not in PEOPLE:
                audit(request, session, owner, "sign-in", outcome="denied")
                if owner is None:
                    return _error(401, "unknown, expired or revoked token")
                return _error(403, f"a {owner.role} token cannot sign in to the review pages")
            user = owner
            cookie, csrf = create_web_session(session, row, SESSION_HOURS, client_ip(request))
            audit(request, session, user, "sign-in")
        name, role = user.name, user.role
    return with_session(JSONResponse({"name": name, "role": role}), request, cookie, csrf)


def with_session(response: R, request: Request, cookie: str, csrf: str,
                 samesite: Literal["lax", "strict"] = "strict") -> R:
    """The browser session's cookies on ``response``: the HttpOnly session and the CSRF value changes echo
    (``Secure`` behind HTTPS), for ``SESSION_HOURS``."""
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    age = SESSION_HOURS * 3600
    response.set_cookie(SESSION_COOKIE, cookie, max_age=age, httponly=True, samesite=samesite,
                        secure=secure, path="/")
    response.set_cookie(CSRF_COOKIE, csrf, max_age=age, httponly=False, samesite=samesite,
                        secure=secure, path="/")
    return response


@api.delete("/session", status_code=204, summary="Sign the browser out",
            responses={200: {"description": "signed on through the issuer: `sign_out_at` is where the browser "
                                            "signs out there too (it comes back to /login)"}})
def sign_out(request: Request) -> Response:
    """Ends the session on the server and clears both cookies; a session signed on through the issuer also gets
    the issuer's end-session address (RP-initiated logout) to send the browser to."""
    value = request.cookies.get(SESSION_COOKIE)
    id_token = None
    if value:
        with request.app.state.farm.transaction() as session:
            row = end_web_session(session, value)
            if row is not None:
                audit(request, session, row.user, "sign-out")
                id_token = row.id_token
    at_issuer = end_session_url(request, id_token) if id_token else None
    response: Response = JSONResponse({"sign_out_at": at_issuer}) if at_issuer else Response(status_code=204)
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


@router.get("/login/password", include_in_schema=False)
def password_page() -> FileResponse:
    return FileResponse(STATIC / "pages" / "password.html", media_type="text/html", headers=HEADERS)


@router.get("/library", include_in_schema=False)
def library_page(request: Request, user: Visitor) -> Any:
    return _page("library.html", request, user)


@router.get("/farm", include_in_schema=False)
def farm_page(request: Request, user: Visitor) -> Any:
    if user is not None and not can(user.role, "manage_users"):
        return _error(403, "the Farm page is for admins")
    return _page("farm.html", request, user)


@router.get("/account", include_in_schema=False)
def account_page(request: Request, user: Visitor) -> Any:
    return _page("account.html", request, user)


@router.get("/inbox", include_in_schema=False)
def inbox_page(request: Request, user: Visitor) -> Any:
    if user is not None and not (can(user.role, "deliver") or can(user.role, "approve")):
        return _error(403, "the inbox is for people who review or deliver")
    return _page("inbox.html", request, user)


@router.get("/trash", include_in_schema=False)
def trash_page(request: Request, user: Visitor) -> Any:
    if user is not None and not can(user.role, "delete"):
        return _error(403, "the trash is for people who may delete")
    return _page("trash.html", request, user)


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
