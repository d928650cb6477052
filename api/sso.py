"""Single sign-on with OpenID Connect: ``/login/sso`` sends the browser to the issuer, ``/login/sso/callback`` takes
it back, signs it in and sends it on.

The flow is the authorization code with PKCE (S256): the issuer's endpoints come from its discovery document; the
state (kept as its SHA-256 in ``oidc_logins``, used once, ten minutes at most), the nonce and the code verifier are
made here; the code is exchanged with the client's secret (authlib's httpx client); the ID token's signature is
checked against the issuer's keys (joserfc), and so are its issuer, audience, expiry and nonce. The person is then
matched or made (``catalog/sso_users.py``) and gets the same browser session as a password sign-in.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.httpx_client import OAuth2Client
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import delete, select

from api.auth import client_ip
from api.oidc_issuer import Issuer, issuer_of
from api.pages import SESSION_HOURS, with_session
from catalog.audit import record, record_now
from catalog.auth import create_web_session, hash_token
from catalog.models import OidcLogin, utcnow
from catalog.sso_users import sso_user
from rushes.errors import PermissionDenied
from rushes.settings import Settings

log = logging.getLogger(__name__)
router = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["auth"])
STATE_TTL = timedelta(minutes=10)
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]


def _client(settings: Settings, request: Request) -> OAuth2Client:
    redirect = settings.oidc_redirect_uri or f"{request.base_url}login/sso/callback"
    return OAuth2Client(settings.oidc_client_id, settings.oidc_client_secret, scope=settings.oidc_scopes,
                        redirect_uri=redirect, code_challenge_method="S256",
                        token_endpoint_auth_method="client_secret_basic", timeout=10)


def _safe_next(value: str | None) -> str:
    return value if value and value.startswith("/") and not value.startswith("//") else "/library"


@api.get("/sso", summary="Whether single sign-on is offered, and its button's words")
def sso_offered(request: Request) -> dict[str, Any]:
    settings = request.app.state.farm.settings
    return {"enabled": bool(settings.oidc_issuer), "label": settings.oidc_label}


@router.get("/login/sso", include_in_schema=False)
def start(request: Request, next: str | None = None) -> Response:
    farm = request.app.state.farm
    issuer = issuer_of(farm.settings)
    state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    with farm.transaction() as session:
        session.execute(delete(OidcLogin).where(OidcLogin.created_at < utcnow() - STATE_TTL))
        session.add(OidcLogin(state_hash=hash_token(state), nonce=nonce, verifier=verifier,
                              next_url=_safe_next(next)))
    with _client(farm.settings, request) as client:
        url, _ = client.create_authorization_url(issuer.document()["authorization_endpoint"], state=state,
                                                 nonce=nonce, code_verifier=verifier)
    return RedirectResponse(url, status_code=303)


def _refused(request: Request, why: str, actor: str = "(sso)") -> Response:
    record_now(request.app.state.farm.sessions, actor=actor, action="sign-in", outcome="denied",
               subject=f"sso: {why}"[:500], ip=client_ip(request))
    return RedirectResponse(f"/login?error={quote(why[:300])}", status_code=303)


@router.get("/login/sso/callback", include_in_schema=False)
def callback(request: Request, code: str | None = None, state: str | None = None, error: str | None = None,
             error_description: str | None = None) -> Response:
    farm = request.app.state.farm
    settings = farm.settings
    if error:
        return _refused(request, f"the issuer said {error}: {error_description or ''}".strip(": "))
    if not code or not state:
        return _refused(request, "the issuer sent no code")
    with farm.transaction() as session:
        pending = session.scalar(select(OidcLogin).where(OidcLogin.state_hash == hash_token(state)))
        if pending is not None:
            session.delete(pending)
            nonce, verifier, next_url, made = pending.nonce, pending.verifier, pending.next_url, pending.created_at
    if pending is None or made < utcnow() - STATE_TTL:
        return _refused(request, "this sign-on is unknown or took longer than 10 minutes: start again")
    issuer = issuer_of(settings)
    try:
        with _client(settings, request) as client:
            token = client.fetch_token(issuer.document()["token_endpoint"], code=code, code_verifier=verifier)
        id_token = str(token.get("id_token", ""))
        claims = _verified(issuer, settings, id_token, nonce)
    except (httpx.HTTPError, AuthlibBaseError, JoseError, ValueError, KeyError) as exc:
        log.warning("single sign-on refused: %s", exc)
        return _refused(request, f"the sign-on could not be verified ({type(exc).__name__}: {exc})")
    try:
        with farm.transaction() as session:
            user, how = sso_user(session, issuer.url, claims, default_role=settings.oidc_default_role,
                                 groups_claim=settings.oidc_groups_claim, group_roles=settings.oidc_group_roles,
                                 group_collections=settings.oidc_group_collections)
            cookie, csrf = create_web_session(session, None, SESSION_HOURS, client_ip(request), user=user,
                                              id_token=id_token)
            record(session, actor=user.name, role=user.role, ip=client_ip(request), action="sign-in",
                   subject=f"sso ({how})")
    except PermissionDenied as exc:
        return _refused(request, str(exc), actor=str(claims.get("preferred_username") or claims["sub"]))
    # Lax: the browser comes back from the issuer by a top-level navigation from another site
    return with_session(RedirectResponse(next_url, status_code=303), request, cookie, csrf, samesite="lax")


def _verified(issuer: Issuer, settings: Settings, id_token: str, nonce: str) -> dict[str, Any]:
    """The ID token's claims once its signature, issuer, audience, expiry and nonce hold."""
    if not id_token:
        raise ValueError("the issuer's answer has no ID token")
    try:
        decoded = jwt.decode(id_token, issuer.keys(), algorithms=ALGORITHMS)
    except JoseError:
        decoded = jwt.decode(id_token, issuer.keys(refresh=True), algorithms=ALGORITHMS)  # keys rotated
    expected = issuer.document().get("issuer", issuer.url)
    jwt.JWTClaimsRegistry(leeway=60, iss={"essential": True, "value": expected},
                          aud={"essential": True, "value": settings.oidc_client_id or ""},
                          nonce={"essential": True, "value": nonce}, sub={"essential": True},
                          exp={"essential": True}).validate(decoded.claims)
    return dict(decoded.claims)
