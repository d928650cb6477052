"""Signing a browser in: the session cookie, CSRF on changes, who may sign in, and the pages' gate."""

from __future__ import annotations

from fastapi.testclient import TestClient

from catalog.auth import create_token, ensure_user
from catalog.models import Token
from pipeline.farm import Farm


def _token(farm: Farm, name: str, role: str) -> str:
    with farm.transaction() as session:
        return create_token(session, ensure_user(session, name, role))


def test_pages_send_strangers_to_sign_in_and_let_people_in(client: TestClient, farm: Farm) -> None:
    gate = client.get("/assets/1?v=2&t=3.5", follow_redirects=False)
    assert gate.status_code == 303 and gate.headers["location"] == "/login?next=%2Fassets%2F1%3Fv%3D2%26t%3D3.5"
    assert client.get("/login").status_code == 200
    signed = client.post("/api/v1/session", json={"token": _token(farm, "ed", "editor")})
    assert signed.json() == {"name": "ed", "role": "editor"}
    cookies = signed.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith("rushes_session="))
    assert "HttpOnly" in session_cookie and "SameSite=strict" in session_cookie
    assert "HttpOnly" not in next(c for c in cookies if c.startswith("rushes_csrf="))
    page = client.get("/library")
    assert page.status_code == 200 and "<title>Library" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    me = client.get("/api/v1/me").json()
    assert (me["name"], me["role"]) == ("ed", "editor") and "manage_users" not in me["can"]


def test_a_change_by_cookie_needs_the_csrf_header(client: TestClient, farm: Farm) -> None:
    client.post("/api/v1/session", json={"token": _token(farm, "ed", "editor")})
    refused = client.post("/api/v1/assets/1/retry")
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["error"]
    wrong = client.post("/api/v1/assets/1/retry", headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    passed = client.post("/api/v1/assets/1/retry", headers={"X-CSRF-Token": client.cookies["rushes_csrf"]})
    assert passed.status_code == 404, "past the CSRF check: asset 1 does not exist"


def test_targets_bad_and_revoked_tokens_cannot_sign_in(client: TestClient, farm: Farm) -> None:
    assert client.post("/api/v1/session", json={"token": "rsh_nonsense-token"}).status_code == 401
    target = client.post("/api/v1/session", json={"token": _token(farm, "broadcaster", "target")})
    assert target.status_code == 403 and "cannot sign in" in target.json()["error"]
    token = _token(farm, "rev", "reviewer")
    assert client.post("/api/v1/session", json={"token": token}).status_code == 200
    with farm.transaction() as session:
        session.query(Token).update({"revoked_at": Token.created_at})
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/library", follow_redirects=False).status_code == 303
    client.delete("/api/v1/session")
    assert "rushes_session" not in client.cookies
