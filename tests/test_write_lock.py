"""When a writer gives up waiting for SQLite's write lock, the log names this process's thread that held it, for
how long, and where it is now (or says another process held it)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from catalog import db
from catalog.db import make_engine, migrate


def _hold_the_lock(engine, held: threading.Event, release: threading.Event) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:  # BEGIN IMMEDIATE: the write lock
        conn.execute(text("UPDATE collections SET name = name"))
        held.set()
        release.wait(30)


def test_a_writer_that_gives_up_names_the_thread_holding_the_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    engine, impatient = make_engine(url), make_engine(url)
    migrate(engine)
    event.listen(impatient, "connect", lambda dbapi, _: dbapi.execute("PRAGMA busy_timeout=200"))
    monkeypatch.setattr(db, "HELD_LONG_S", 0.0)
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_the_lock, args=(engine, held, release), name="slow-writer")
    holder.start()
    try:
        assert held.wait(10)
        with caplog.at_level(logging.WARNING, logger="catalog.db"), pytest.raises(OperationalError, match="locked"):
            with impatient.begin() as conn:
                conn.execute(text("SELECT 1"))
    finally:
        release.set()
        holder.join(10)
    said = caplog.text
    assert "thread slow-writer of this process has held it" in said and "_hold_the_lock" in said, said
    # once it is released, nobody is named
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="catalog.db"):
        db._log_writers()
    assert "another process" in caplog.text
    engine.dispose()
    impatient.dispose()


def test_a_transaction_that_held_the_write_lock_long_says_so_where_it_ends(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    migrate(engine)
    held, release = threading.Event(), threading.Event()
    release.set()
    with caplog.at_level(logging.WARNING, logger="catalog.db"):
        _hold_the_lock(engine, held, release)  # short: nothing said
        assert caplog.text == ""
        monkeypatch.setattr(db, "HELD_LONG_S", 0.0)
        _hold_the_lock(engine, held, release)
        with engine.execution_options(sqlite_begin="DEFERRED").connect() as conn:  # a reader's: nothing said
            conn.execute(text("SELECT 1"))
            conn.commit()
    said = caplog.text
    assert said.count("write lock was held") == 1 and "_hold_the_lock" in said, said
    engine.dispose()
