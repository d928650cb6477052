"""People sign in with a password (argon2id), on both catalogs: set by an admin or through a one-time invitation
link, changed by its owner, reset; wrong passwords count and lock the account with notice until it unlocks; every
sign-in, failure and lock-out is in the audit trail. API tokens still work for machines."""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import select

from catalog.audit import entries
from catalog.models import User
from pipeline.farm import Farm
from tests.conftest import bearers, run
from tests.farmproc import RUSHES

GOOD = "correct horse battery"


def _password_of(farm: Farm, name: str) -> str | None:
    with farm.sessions() as session:
        return session.scalar(select(User.password_hash).where(User.name == name))


def _sign_in(client: Any, name: str, password: str) -> Any:
    client.cookies.clear()
    return client.post("/api/v1/session", json={"user": name, "password": password})


def test_a_password_set_by_an_admin_signs_a_person_in(farm: Farm, client: Any) -> None:
    people = bearers(farm, {"boss": "admin", "edith": "editor"})
    # an admin sets it; weak ones are refused with the reason
    assert client.put("/api/v1/users/edith/password", json={"password": "short"},
                      headers=people["boss"]).status_code == 400
    assert "too easy" in client.put("/api/v1/users/edith/password", json={"password": "aaaaaaaaaaaa"},
                                    headers=people["boss"]).json()["error"]
    assert client.put("/api/v1/users/edith/password", json={"password": GOOD}, headers=people["edith"]) \
        .status_code == 403
    assert client.put("/api/v1/users/edith/password", json={"password": GOOD}, headers=people["boss"]) \
        .status_code == 200
    stored = _password_of(farm, "edith")
    assert stored is not None and stored.startswith("$argon2id$") and GOOD not in stored
    # the person signs in with it: a session cookie that the API takes (and a CSRF cookie for changes)
    signed = _sign_in(client, "edith", GOOD)
    assert signed.status_code == 200 and signed.json() == {"name": "edith", "role": "editor"}
    assert client.get("/api/v1/me").json()["name"] == "edith"
    # a wrong password or an unknown name get the same words
    assert _sign_in(client, "edith", "not the password").json()["error"].startswith("wrong user name or password")
    assert _sign_in(client, "nobody", "not the password").json()["error"] == "wrong user name or password"
    # tokens still sign in (machines, scripts, the first admin)
    assert client.post("/api/v1/session", json={"token": people["boss"]["Authorization"][7:]}).status_code == 200
    with farm.sessions() as session:
        trail = [(e.actor, e.action, e.outcome, e.subject) for e in entries(session, action="sign-in")]
    assert ("edith", "sign-in", "allowed", "password") in trail
    assert ("nobody", "sign-in", "denied", "password: wrong user name or password") in trail


def test_failed_sign_ins_lock_the_account_with_notice_until_an_admin_unlocks_it(
        make_settings: Any, db_url: str) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    farm = Farm(make_settings(database_url=db_url))  # the default limit: 5 in a row, 15 minutes
    try:
        people = bearers(farm, {"boss": "admin", "rhea": "reviewer"})
        with TestClient(create_app(farm), base_url="http://127.0.0.1") as client:
            client.put("/api/v1/users/rhea/password", json={"password": GOOD}, headers=people["boss"])
            answers = [_sign_in(client, "rhea", f"guess number {n}") for n in range(5)]
            # each failure says how many are left; the fifth locks the account and says until when
            assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]
            assert "4 more attempts before the account is locked" in answers[0].json()["error"]
            assert "1 more attempt before" in answers[3].json()["error"]
            assert "locked until" in answers[4].json()["error"] and int(answers[4].headers["retry-after"]) > 800
            # locked: even the right password is refused, with the notice
            locked = _sign_in(client, "rhea", GOOD)
            assert locked.status_code == 429 and "locked until" in locked.json()["error"]
            # an admin unlocks it; the right password works again
            assert client.post("/api/v1/users/rhea/unlock", headers=people["boss"]).status_code == 200
            assert _sign_in(client, "rhea", GOOD).status_code == 200
        with farm.sessions() as session:
            locks = [e.subject for e in entries(session, action="lock-out")]
            denied = [e for e in entries(session, action="sign-in", outcome="denied") if e.actor == "rhea"]
        assert any("5 failed sign-ins in a row" in (s or "") for s in locks) and "rhea unlocked" in locks
        assert len(denied) == 6
    finally:
        farm.close()


def test_an_invitation_link_sets_a_password_once_and_a_person_changes_it(farm: Farm, client: Any) -> None:
    people = bearers(farm, {"boss": "admin", "vic": "viewer", "site": "target"})
    made = client.post("/api/v1/users/vic/password-link", json={"purpose": "invite"}, headers=people["boss"])
    assert made.status_code == 201, made.text
    link = made.json()["url"].split("link=")[1]
    assert made.json()["url"].startswith("http://127.0.0.1/login/password?link=")
    assert client.post("/api/v1/password", json={"link": link, "password": GOOD}).status_code == 200
    again = client.post("/api/v1/password", json={"link": link, "password": "another good one"})
    assert again.status_code == 404 and "used already" in again.json()["error"]
    assert _sign_in(client, "vic", GOOD).status_code == 200
    # the person changes it (the current one first); the old one no longer works
    csrf = {"X-CSRF-Token": client.cookies.get("rushes_csrf")}
    wrong = client.post("/api/v1/me/password", json={"current": "nope", "new": "a brand new secret"}, headers=csrf)
    assert wrong.status_code == 400 and "current password is wrong" in wrong.json()["error"]
    assert client.post("/api/v1/me/password", json={"current": GOOD, "new": "a brand new secret"},
                       headers=csrf).status_code == 200
    assert _sign_in(client, "vic", GOOD).status_code == 401
    assert _sign_in(client, "vic", "a brand new secret").status_code == 200
    # a reset link works the same way; a distribution target has no password
    reset = client.post("/api/v1/users/vic/password-link", json={"purpose": "reset"}, headers=people["boss"])
    client.cookies.clear()
    assert client.post("/api/v1/password", json={"link": reset.json()["url"].split("link=")[1],
                                                 "password": "reset to this one"}).status_code == 200
    assert _sign_in(client, "vic", "reset to this one").status_code == 200
    target = client.put("/api/v1/users/site/password", json={"password": GOOD}, headers=people["boss"])
    assert target.status_code == 400 and "API token" in target.json()["error"]
    with farm.sessions() as session:
        changes = [e.subject for e in entries(session, action="password change")]
    assert any("invite link for vic" in (s or "") for s in changes)


def test_the_cli_sets_passwords_and_prints_invitations(farm: Farm, client: Any) -> None:
    bearers(farm, {"edith": "editor"})
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUSHES_")}
    env["RUSHES_DATABASE_URL"] = farm.settings.db_url

    def cli(*args: str) -> Any:
        return run([RUSHES, "--data", str(farm.settings.data), *args], env=env)

    done = cli("users", "password", "edith", "--password", GOOD)
    assert done.returncode == 0, done.stderr
    assert _sign_in(client, "edith", GOOD).status_code == 200
    invite = cli("users", "invite", "edith", "--base-url", "https://rushes.example.org")
    assert invite.returncode == 0 and invite.stdout.startswith("https://rushes.example.org/login/password?link=")
    weak = cli("users", "password", "edith", "--password", "short")
    assert weak.returncode == 2 and "at least 10 characters" in weak.stderr
    assert cli("users", "unlock", "edith").returncode == 0


@pytest.mark.parametrize("body", [{}, {"user": "a"}, {"token": "rsh_123456789", "user": "a", "password": "b"}])
def test_a_sign_in_names_one_way(client: Any, body: dict[str, str]) -> None:
    assert client.post("/api/v1/session", json=body).status_code == 422


def test_one_address_may_try_30_times_a_minute(client: Any) -> None:
    answers = [_sign_in(client, f"someone{n}", "a guess at random").status_code for n in range(31)]
    assert answers[:30] == [401] * 30 and answers[30] == 429
    refused = _sign_in(client, "someone", "another guess")
    assert refused.status_code == 429 and "wait a minute" in refused.json()["error"]
    assert refused.headers["retry-after"] == "60"
