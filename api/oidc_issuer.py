"""The OpenID Connect issuer as Rushes knows it: its discovery document and signing keys (fetched on first use and
kept for an hour), and where a browser signs out at it (RP-initiated logout). ``api/sso.py`` signs people on
through it; ``api/pages.py`` sends them to its end-session endpoint when they sign out."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import Request
from joserfc.jwk import KeySet

from rushes.errors import NotConfigured
from rushes.settings import Settings

log = logging.getLogger(__name__)
DISCOVERY_TTL_S = 3600.0


class Issuer:
    """The issuer's discovery document and keys, fetched on first use and kept for an hour (keys again at once
    when a token names a key not seen)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._lock = threading.Lock()
        self._document: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._fetched = 0.0

    def document(self) -> dict[str, Any]:
        with self._lock:
            if self._document is None or time.monotonic() - self._fetched > DISCOVERY_TTL_S:
                try:
                    answer = httpx.get(f"{self.url}/.well-known/openid-configuration", timeout=10)
                    answer.raise_for_status()
                except httpx.HTTPError as exc:
                    raise NotConfigured(f"the sign-on issuer {self.url} cannot be reached: {exc}") from exc
                self._document, self._keys, self._fetched = answer.json(), None, time.monotonic()
            return self._document

    def keys(self, refresh: bool = False) -> KeySet:
        document = self.document()
        with self._lock:
            if self._keys is None or refresh:
                answer = httpx.get(document["jwks_uri"], timeout=10)
                answer.raise_for_status()
                self._keys = KeySet.import_key_set(answer.json())
            return self._keys


_ISSUERS: dict[str, Issuer] = {}


def issuer_of(settings: Settings) -> Issuer:
    if not settings.oidc_issuer:
        raise NotConfigured("single sign-on is not configured (RUSHES_OIDC_ISSUER, _CLIENT_ID, _CLIENT_SECRET)")
    return _ISSUERS.setdefault(settings.oidc_issuer, Issuer(settings.oidc_issuer))


def end_session_url(request: Request, id_token: str) -> str | None:
    """Where the browser goes to sign out at the issuer too (RP-initiated logout), coming back to /login; None when
    the issuer offers no end-session endpoint or cannot be reached (the Rushes session has ended either way)."""
    settings = request.app.state.farm.settings
    try:
        endpoint = issuer_of(settings).document().get("end_session_endpoint")
    except NotConfigured as exc:
        log.warning("signing out at the issuer skipped: %s", exc)
        return None
    if not endpoint:
        return None
    back = settings.oidc_post_logout_uri or f"{request.base_url}login"
    query = urlencode({"id_token_hint": id_token, "post_logout_redirect_uri": back,
                       "client_id": settings.oidc_client_id or ""})
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
