"""The permission matrix, role by role and action by action, on the API and the pages; grants; tokens."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.app import create_app
from catalog.audit import verify
from catalog.auth import create_token, ensure_user, grant
from catalog.models import Asset, AuditEntry, Collection, MediaInfoRow, Token, User, Version, utcnow
from catalog.permissions import ACTIONS, MATRIX, can, matrix_markdown
from pipeline.farm import Farm

ROLES = list(MATRIX)


@pytest.fixture
def world(farm: Farm, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], dict[str, int]]]:
    """Two assets in two collections; one user per role, granted collection 'news' only."""
    original = tmp_path / "A001.mov"
    original.write_bytes(b"camera original" * 100)
    ids: dict[str, int] = {}
    with farm.transaction() as session:
        for name, collection in (("A001.mov", "news"), ("B001.mov", "sport")):
            asset = Asset(name=name, source_folder=collection, status="ready",
                          collection=session.scalar(select(Collection).where(Collection.name == collection))
                          or Collection(name=collection))
            session.add(asset)
            session.flush()
            version = Version(asset_id=asset.id, number=1, content_hash=name * 8, size=1500, original_name=name,
                              source_folder=collection, source_path=f"/x/{name}", stored_path=str(original),
                              status="ready")
            session.add(version)
            session.flush()
            session.add(MediaInfoRow(version_id=version.id, container="mov", duration_s=4.0, width=1920,
                                     height=1080, frame_rate="25", start_timecode="10:00:00:00", info={}))
            ids[name] = asset.id
            ids[f"{name}:v"] = version.id
        tokens = {}
        for role in ROLES:
            user = ensure_user(session, role, role)
            if role not in ("admin", "target"):
                grant(session, user, collection="news")
            tokens[role] = create_token(session, user)
    with TestClient(create_app(farm)) as client:
        yield client, tokens, ids


def _attempt(client: TestClient, token: str, action: str, ids: dict[str, int]) -> Any:
    """One request that needs ``action`` and nothing else the caller lacks."""
    asset, version = ids["A001.mov"], ids["A001.mov:v"]
    headers = {"Authorization": f"Bearer {token}"}
    calls = {
        "view": ("GET", f"/api/v1/assets/{asset}", None),
        "download_original": ("GET", f"/api/v1/versions/{version}/original", None),
        "download_rendition": ("GET", "/api/v1/renditions/999/download", None),  # allowed: 404, no such rendition
        "comment": ("POST", f"/api/v1/assets/{asset}/versions/1/comments", {"text": "soft focus", "frame": 10}),
        "approve": ("POST", f"/api/v1/assets/{asset}/versions/1/reviews", {"decision": "approve"}),
        "deliver": ("POST", f"/api/v1/assets/{asset}/retry", None),
        "edit_metadata": ("POST", f"/api/v1/assets/{asset}/collections", {"collection": "promo"}),
        "manage_users": ("GET", "/api/v1/users", None),
        "manage_schema": ("GET", "/api/v1/admin/metadata/schema", None),
        "manage_rules": ("GET", "/api/v1/admin/rules", None),
        "manage_webhooks": ("GET", "/api/v1/admin/webhooks", None),
        "archive": ("GET", "/api/v1/storage", None),
        "restore": ("POST", f"/api/v1/assets/{asset}/restore", None),  # in the library: nothing to queue
        "hold": ("GET", "/api/v1/holds", None),
        "manage_lifecycle": ("GET", "/api/v1/lifecycle/policies", None),
        "delete": ("GET", "/api/v1/trash", None),
    }
    method, url, body = calls[action]
    return client.request(method, url, headers=headers, json=body)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_take_exactly_the_actions_of_the_matrix(world, role: str) -> None:  # type: ignore[no-untyped-def]
    client, tokens, ids = world
    wrong = []
    for action in ACTIONS:  # every action against one world: what one action changes does not open another
        response = _attempt(client, tokens[role], action, ids)
        if can(role, action):
            allowed = (200, 201, 202, 404) if action == "download_rendition" else (200, 201, 202)
            if response.status_code not in allowed:
                wrong.append(f"{role} may {action}, refused: {response.status_code} {response.text[:200]}")
        elif response.status_code != 403 or "may not" not in response.json().get("error", ""):
            wrong.append(f"{role} may not {action}, answered: {response.status_code} {response.text[:200]}")
    assert not wrong, "\n".join(wrong)


def test_grants_decide_which_assets_a_person_sees(world, farm: Farm) -> None:  # type: ignore[no-untyped-def]
    client, tokens, ids = world
    editor = {"Authorization": f"Bearer {tokens['editor']}"}
    listed = client.get("/api/v1/assets", headers=editor).json()["assets"]
    assert [a["name"] for a in listed] == ["A001.mov"]
    hidden = ids["B001.mov"]
    for url in (f"/api/v1/assets/{hidden}", f"/api/v1/versions/{ids['B001.mov:v']}/proxy",
                f"/api/v1/assets/{hidden}/versions/1/comments", f"/api/v1/assets/{hidden}/scenes"):
        answer = client.get(url, headers=editor)
        assert answer.status_code == 404 and "no asset" in answer.json()["error"], url
    assert [c["name"] for c in client.get("/api/v1/collections", headers=editor).json()["collections"]] == ["news"]
    # one asset granted by itself; then the sport asset added to the granted collection
    with farm.transaction() as session:
        grant(session, session.scalar(select(User).where(User.name == "viewer")), asset_id=hidden)
    viewer = {"Authorization": f"Bearer {tokens['viewer']}"}
    assert client.get(f"/api/v1/assets/{hidden}", headers=viewer).status_code == 200
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    moved = client.post(f"/api/v1/assets/{hidden}/collections", json={"collection": "news"}, headers=admin).json()
    assert moved == {"asset_id": hidden, "collection": "sport", "also_in": ["news"]}
    assert client.get(f"/api/v1/assets/{hidden}", headers=editor).status_code == 200
    assert {a["name"] for a in client.get("/api/v1/assets?collection=news", headers=editor).json()["assets"]} == {
        "A001.mov", "B001.mov"}
    with farm.sessions() as session:
        denied = session.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied",
                                                          AuditEntry.asset_id == hidden)).all()
        assert denied and {d.actor for d in denied} == {"editor"}


def test_expired_revoked_and_disabled_tokens_are_refused(world, farm: Farm) -> None:  # type: ignore[no-untyped-def]
    client, tokens, ids = world
    with farm.transaction() as session:
        user = ensure_user(session, "temp", "viewer")
        expired = create_token(session, user, expires_at=utcnow() - timedelta(seconds=1))
        live = create_token(session, user, expires_at=utcnow() + timedelta(hours=1))
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {expired}"}).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {live}"}).status_code == 200
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    listed = client.get("/api/v1/users/temp/tokens", headers=admin).json()["tokens"]
    assert [t["live"] for t in listed] == [False, True] and all("token" not in t for t in listed)
    assert client.delete(f"/api/v1/tokens/{listed[1]['id']}", headers=admin).json()["live"] is False
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {live}"}).status_code == 401
    fresh = client.post("/api/v1/users/temp/tokens", json={"expires_in_days": 1}, headers=admin).json()["token"]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    client.patch("/api/v1/users/temp", json={"disabled": True}, headers=admin)
    answer = client.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh}"})
    assert answer.status_code == 401 and "revoked" in answer.json()["error"]
    with farm.sessions() as session:
        changes = session.scalars(select(AuditEntry.subject).where(AuditEntry.action == "permission change")).all()
        assert any("disabled True" in c for c in changes)
        assert verify(session).ok


@pytest.mark.parametrize("role", ROLES)
def test_the_pages_follow_the_matrix(world, farm: Farm, role: str) -> None:  # type: ignore[no-untyped-def]
    client, tokens, ids = world
    signed = client.post("/api/v1/session", json={"token": tokens[role]})
    if role in ("target", "agent"):  # machines: no sign-in to the pages
        assert signed.status_code == 403
        assert client.get("/library", follow_redirects=False).status_code == 303
        return
    assert signed.status_code == 200
    assert client.get("/library").status_code == 200
    assert client.get(f"/assets/{ids['A001.mov']}").status_code == 200
    hidden = client.get(f"/assets/{ids['B001.mov']}")
    assert hidden.status_code == (200 if role == "admin" else 404)
    me = client.get("/api/v1/me").json()
    assert set(me["can"]) == {a for a in ACTIONS if can(role, a)}  # what the page offers
    csrf = {"X-CSRF-Token": client.cookies["rushes_csrf"]}
    comment = client.post(f"/api/v1/assets/{ids['A001.mov']}/versions/1/comments", json={"text": "x", "frame": 1},
                          headers=csrf)
    assert comment.status_code == (201 if can(role, "comment") else 403)
    with farm.sessions() as session:
        views = session.scalars(select(AuditEntry).where(AuditEntry.actor == role, AuditEntry.action == "view asset")
                                .order_by(AuditEntry.id)).all()
        assert [(v.asset_id, v.outcome) for v in views] == [
            (ids["A001.mov"], "allowed"), (ids["B001.mov"], "allowed" if role == "admin" else "denied")]
        assert session.scalar(select(AuditEntry.id).where(AuditEntry.actor == role, AuditEntry.action == "sign-in"))


def test_a_revoked_token_ends_its_browser_session(world, farm: Farm) -> None:  # type: ignore[no-untyped-def]
    client, tokens, _ids = world
    assert client.post("/api/v1/session", json={"token": tokens["editor"]}).status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    with farm.transaction() as session:
        session.execute(update(Token).where(Token.user_id == select(User.id).where(User.name == "editor")
                                            .scalar_subquery()).values(revoked_at=utcnow()))
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/library", follow_redirects=False).status_code == 303


def test_the_readme_shows_the_matrix_of_the_code() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert matrix_markdown() in readme, "README.md's permission matrix differs from catalog/permissions.py"


@pytest.mark.slow
def test_the_cli_manages_users_tokens_grants_and_collections(world, farm: Farm) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess

    from tests.farmproc import RUSHES

    client, _tokens, ids = world
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("RUSHES_")},
           "RUSHES_DATABASE_URL": farm.settings.db_url}

    def rushes(*args: str, ok: bool = True) -> str:
        done = subprocess.run([RUSHES, "--data", str(farm.settings.data), *args], capture_output=True, text=True,
                              env=env, check=False)
        assert (done.returncode == 0) == ok, done.stderr
        return done.stdout + done.stderr

    rushes("users", "add", "rita", "--role", "reviewer")
    token = rushes("tokens", "create", "--user", "rita", "--expires-in-days", "2").split()[-1]
    bearer = {"Authorization": f"Bearer {token}"}
    listed = client.get("/api/v1/assets", headers=bearer)
    assert listed.json().get("assets") == [], listed.text
    rushes("users", "grant", "rita", "--asset", str(ids["B001.mov"]))
    assert [a["name"] for a in client.get("/api/v1/assets", headers=bearer).json()["assets"]] == ["B001.mov"]
    assert "collection sport; also in news" in rushes("assets", "collect", str(ids["B001.mov"]), "--collection",
                                                       "news")
    assert "rita" in rushes("users", "list") and "expires" in rushes("tokens", "list", "--user", "rita")
    token_id = next(line.split()[0] for line in rushes("tokens", "list", "--user", "rita").splitlines())
    rushes("tokens", "revoke", token_id)
    assert client.get("/api/v1/me", headers=bearer).status_code == 401
    assert "no user 'nobody'" in rushes("users", "grant", "nobody", "--collection", "news", ok=False)
    with farm.sessions() as session:
        subjects = session.scalars(select(AuditEntry.subject).where(AuditEntry.actor.like("cli:%"))).all()
        assert any("revoked token" in s for s in subjects) and any("added to news" in s for s in subjects)
        assert verify(session).ok
