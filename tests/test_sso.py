"""Single sign-on against a real OpenID Connect issuer started in the test (node-oidc-provider: discovery, the
authorization code with PKCE required, RS256-signed ID tokens), on both catalogs: a person is made on first
sign-on with the role and grants their groups map to, known again the next time, matched to an account an admin
made; a forged or replayed answer is refused and audited; signing out ends the session, and sends the browser
to the issuer's end-session endpoint with the session's ID token as the hint."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from sqlalchemy import select

from api.app import create_app
from api.oidc_issuer import issuer_of
from catalog.audit import entries
from catalog.auth import grants_of
from catalog.models import User
from pipeline.farm import Farm
from rushes.settings import Settings
from tests.oidc import CLIENT_ID, CLIENT_SECRET, oidc_issuer, walk_issuer

pytestmark = pytest.mark.slow
BASE = "http://127.0.0.1"
CALLBACK = f"{BASE}/login/sso/callback"


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with oidc_issuer(CALLBACK) as url:
        yield url


@pytest.fixture
def sso(make_settings: Callable[..., Settings], db_url: str, issuer: str) -> Iterator[tuple[Farm, TestClient]]:
    farm = Farm(make_settings(database_url=db_url, oidc_issuer=issuer, oidc_client_id=CLIENT_ID,
                              oidc_client_secret=CLIENT_SECRET, oidc_scopes="openid profile email groups",
                              oidc_group_roles={"rushes-editors": "editor"},
                              oidc_group_collections={"news-desk": ["news"]}))
    with TestClient(create_app(farm), base_url=BASE, follow_redirects=False) as client:
        yield farm, client
    farm.close()


def _sign_on(client: TestClient, login: str, next_page: str = "/library") -> Any:
    client.cookies.clear()
    start = client.get("/login/sso", params={"next": next_page})
    assert start.status_code == 303
    query = parse_qs(urlparse(start.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0] and query["nonce"][0]
    back = walk_issuer(start.headers["location"], login, CALLBACK)
    return client.get(back.removeprefix(BASE))


def test_a_person_is_made_on_first_sign_on_with_the_role_and_grants_of_their_groups(
        sso: tuple[Farm, TestClient]) -> None:
    farm, client = sso
    assert client.get("/api/v1/sso").json() == {"enabled": True, "label": "single sign-on"}
    # ed.sso is in the issuer's groups rushes-editors and news-desk
    done = _sign_on(client, "ed.sso", "/assets/1")
    assert done.status_code == 303 and done.headers["location"] == "/assets/1", done.text
    me = client.get("/api/v1/me").json()
    assert me["name"] == "ed.sso" and me["role"] == "editor"
    with farm.sessions() as session:
        user = session.scalar(select(User).where(User.name == "ed.sso"))
        assert user is not None and user.oidc_subject == f"{farm.settings.oidc_issuer} ed.sso"
        assert [g["collection"] for g in grants_of(session, user)] == ["news"]
    # the next time, the same person is known (not made again)
    assert _sign_on(client, "ed.sso").status_code == 303
    # someone in no mapped group gets the default role; signing out ends the session
    _sign_on(client, "vi.sso")
    assert client.get("/api/v1/me").json()["role"] == "viewer"
    csrf = client.cookies.get("rushes_csrf")
    out = client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf or ""})
    assert out.status_code == 200, out.text
    assert client.get("/api/v1/me").status_code == 401
    # … and at the issuer too: its end-session endpoint with the session's ID token as the hint, back to /login
    at_issuer = out.json()["sign_out_at"]
    query = parse_qs(urlparse(at_issuer).query)
    issuer = issuer_of(farm.settings)
    assert at_issuer.startswith(issuer.document()["end_session_endpoint"] + "?")
    assert query["post_logout_redirect_uri"] == [f"{BASE}/login"] and query["client_id"] == [CLIENT_ID]
    assert jwt.decode(query["id_token_hint"][0], issuer.keys()).claims["sub"] == "vi.sso"
    confirm = httpx.get(at_issuer, timeout=10)
    assert confirm.status_code == 200 and "logout" in confirm.text.lower(), "the issuer takes the hint"
    with farm.sessions() as session:
        users = session.scalars(select(User.name).where(User.oidc_subject.is_not(None))).all()
        signs = [e.subject for e in entries(session, action="sign-in") if (e.subject or "").startswith("sso")]
    assert sorted(users) == ["ed.sso", "vi.sso"]
    assert signs.count("sso (made)") == 2 and signs.count("sso (known)") == 1


def test_an_account_an_admin_made_is_matched_by_name(sso: tuple[Farm, TestClient]) -> None:
    from catalog.auth import ensure_user

    farm, client = sso
    with farm.transaction() as session:
        ensure_user(session, "maria", "reviewer")
    _sign_on(client, "maria")
    me = client.get("/api/v1/me").json()
    assert me["name"] == "maria" and me["role"] == "reviewer"
    with farm.sessions() as session:
        assert session.scalar(select(User.oidc_subject).where(User.name == "maria")).endswith(" maria")
        assert "sso (matched)" in [e.subject for e in entries(session, action="sign-in")]


def test_a_replayed_or_forged_answer_is_refused_and_audited(sso: tuple[Farm, TestClient]) -> None:
    farm, client = sso
    client.cookies.clear()
    start = client.get("/login/sso")
    back = walk_issuer(start.headers["location"], "ed.sso", CALLBACK)
    assert client.get(back.removeprefix(BASE)).status_code == 303
    # the same answer again: its state was used
    client.cookies.clear()
    again = client.get(back.removeprefix(BASE))
    assert again.status_code == 303 and again.headers["location"].startswith("/login?error=")
    assert client.get("/api/v1/me").status_code == 401
    # a made-up code with a state never sent
    forged = client.get("/login/sso/callback", params={"code": "made-up", "state": "never-sent"})
    assert forged.headers["location"].startswith("/login?error=")
    # a real state with a code the issuer never gave: the exchange fails
    start = client.get("/login/sso")
    state = parse_qs(urlparse(start.headers["location"]).query)["state"][0]
    wrong = client.get("/login/sso/callback", params={"code": "not-a-real-code", "state": state})
    assert "could not be verified" in wrong.headers["location"].replace("%20", " ")
    with farm.sessions() as session:
        refused = [e.subject for e in entries(session, action="sign-in", outcome="denied")]
    assert len(refused) == 3 and all((s or "").startswith("sso:") for s in refused)


def test_an_id_token_signed_with_another_key_is_refused(issuer: str, make_settings: Callable[..., Settings]) -> None:
    import time

    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import RSAKey

    from api.oidc_issuer import Issuer
    from api.sso import _verified

    settings = make_settings(oidc_issuer=issuer, oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET)
    claims = {"iss": issuer, "aud": CLIENT_ID, "sub": "ed.sso", "nonce": "n1", "exp": int(time.time()) + 300,
              "iat": int(time.time())}
    forged = jwt.encode({"alg": "RS256", "kid": "test"}, claims, RSAKey.generate_key(2048))  # the issuer's kid
    with pytest.raises(JoseError):
        _verified(Issuer(issuer), settings, forged, "n1")
