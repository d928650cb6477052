"""A request's catalog transaction ends before its answer is sent, served by a real uvicorn on both catalogs.

A client that is told "saved" and reads again at once must find what it saved (the asset page lists a logged
range it just saved this way), and a save whose commit fails must answer an error, never a success for something
that is not in the catalog.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Executable, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from pipeline.farm import Farm
from tests.conftest import bearer, wait_for
from tests.farmproc import free_port


@pytest.fixture
def served(farm: Farm) -> Iterator[str]:
    """The API of ``farm`` behind a real uvicorn in a thread; its base address."""
    from api.app import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(farm), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def on_commit() -> Iterator[list[Any]]:
    """Functions run before every commit of a catalog session in the server's threads (not the test's)."""
    hooks: list[Any] = []
    test_thread = threading.get_ident()

    def before_commit(session: Session) -> None:
        if threading.get_ident() != test_thread:
            for hook in hooks:
                hook(session)

    event.listen(Session, "before_commit", before_commit)
    yield hooks
    event.remove(Session, "before_commit", before_commit)


POLICY = "/api/v1/collections/default/policy"


@contextmanager
def _held(farm: Farm, on_postgresql: Executable) -> Iterator[None]:
    """A lock held by another connection of the catalog until the block ends: on SQLite its write lock (the
    catalog's own BEGIN IMMEDIATE and a write), on PostgreSQL what ``on_postgresql`` locks."""
    with farm.engine.connect() as holder:
        holder.begin()
        try:
            if farm.engine.dialect.name == "sqlite":
                holder.execute(text("UPDATE tokens SET id = id"))
            else:
                holder.execute(on_postgresql)
            yield
        finally:
            holder.rollback()


def test_a_save_is_committed_before_it_is_answered(farm: Farm, served: str, on_commit: list[Any]) -> None:
    bearer(farm, "ed", "editor")  # the collection "default", with an editor's grant on it
    headers = bearer(farm, "boss", "admin")
    on_commit.append(lambda session: time.sleep(0.5))  # a loaded catalog: every commit takes its time
    # two connections, as a browser has: uvicorn serves one connection's requests one after the other
    with httpx.Client(base_url=served, headers=headers, timeout=30) as writer, \
            httpx.Client(base_url=served, headers=headers, timeout=30) as reader:
        for years in (3, 5, 8):
            saved = writer.put(POLICY, json={"retention_years": years})
            assert saved.status_code == 200, saved.text
            assert reader.get(POLICY).json()["retention_years"] == years, "read at once after the answer"


def test_a_commit_that_fails_is_answered_as_an_error_and_saves_nothing(farm: Farm, served: str,
                                                                       on_commit: list[Any]) -> None:
    bearer(farm, "ed", "editor")  # the collection "default", with an editor's grant on it
    headers = bearer(farm, "boss", "admin")
    with httpx.Client(base_url=served, headers=headers, timeout=30) as http:
        assert http.put(POLICY, json={"retention_years": 3}).status_code == 200

        def locked(session: Session) -> None:
            raise OperationalError("COMMIT", {}, Exception("database is locked"))

        on_commit.append(locked)
        failed = http.put(POLICY, json={"retention_years": 9})
        on_commit.clear()
        assert failed.status_code == 503, failed.text
        assert "try again" in failed.json()["error"]
        assert failed.headers["Retry-After"]
        assert http.get(POLICY).json()["retention_years"] == 3, "nothing of the failed save is kept"


def test_a_read_does_not_wait_for_the_write_lock_to_note_its_token_use(farm: Farm, served: str) -> None:
    """A token's use is written at most once a minute; the request whose use is due answers at once even while
    another connection holds the catalog's write lock (SQLite) or the token's row (PostgreSQL), and the use is
    written once the lock is free."""
    from sqlalchemy import select

    from catalog.models import Token

    headers = bearer(farm, "ed", "editor")
    with _held(farm, select(Token.id).with_for_update()):  # PostgreSQL: the token's row, as a write of it locks it
        started = time.monotonic()
        answer = httpx.get(f"{served}/api/v1/me", headers=headers, timeout=60)
        took = time.monotonic() - started
        assert answer.status_code == 200, answer.text
        assert took < 5, f"the request waited {took:.1f} s for the write lock"
        with farm.readers() as session:
            assert session.scalar(select(Token.last_used_at)) is None, "not written while the lock is held"

    def noted() -> bool:
        with farm.readers() as session:
            return session.scalar(select(Token.last_used_at)) is not None

    wait_for(noted, timeout=30, what="the token's use to be written once the lock is free")


def test_a_refusal_waiting_to_be_audited_does_not_stop_the_server(farm: Farm, served: str) -> None:
    """A refused request's audit line waits for the trail's lock (SQLite's write lock, PostgreSQL's advisory lock)
    in a worker thread: the server answers everyone else meanwhile, the request whose transaction holds the lock
    among them (on the event loop, the wait stopped every request: 30 s on SQLite, for ever on PostgreSQL)."""
    from sqlalchemy import func, select

    from catalog.audit import LOCK_KEY
    from catalog.models import AuditEntry

    refused: list[httpx.Response] = []
    with _held(farm, text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=LOCK_KEY)):  # every append takes it
        asker = threading.Thread(target=lambda: refused.append(httpx.get(
            f"{served}/api/v1/me", headers={"Authorization": "Bearer rsh_not-a-token"}, timeout=60)))
        asker.start()
        time.sleep(1.0)  # the refusal is waiting to be audited
        started = time.monotonic()
        try:
            health = httpx.get(f"{served}/healthz", timeout=5)
        except httpx.TimeoutException:
            pytest.fail("the server stopped answering while a refusal waited for the audit trail's lock")
        assert health.status_code == 200 and time.monotonic() - started < 4
        assert not refused, "the refusal was answered before its audit line could be written"
    asker.join(60)
    assert refused and refused[0].status_code == 401, refused
    with farm.readers() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.actor == "(bad token)", AuditEntry.outcome == "denied")) == 1
