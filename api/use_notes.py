"""The last use of tokens and browser sessions, written behind the requests: a request that only reads never waits
for the catalog's write lock to note who made it.

Each token's or session's use is worth writing at most once a minute (``catalog.auth.use_due``). A request hands
its due use here and goes on; one thread writes what is pending in a single transaction, and ends when nothing is
left. A note that cannot be written now (SQLite's write lock held past its wait, PostgreSQL out of reach) is kept
for the next try: it is bookkeeping, and a page never waits or fails for it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from sqlalchemy import update

from catalog.models import Token, WebSession, utcnow

if TYPE_CHECKING:
    from datetime import datetime

    from pipeline.farm import Farm

log = logging.getLogger(__name__)

RETRY_S = 2.0  # after a failed write, the pause before the next try
TRIES = 5  # a note not written after this many tries is dropped (the next use notes it again)


class UseNotes:
    """Pending last uses of one farm's tokens and sessions, and the thread that writes them."""

    def __init__(self, farm: Farm) -> None:
        self.farm = farm
        self._pending: dict[tuple[type[Token] | type[WebSession], int], datetime] = {}
        self._lock = threading.Lock()
        self._writer: threading.Thread | None = None

    def note(self, row: Token | WebSession) -> None:
        """Note that ``row`` was used now; written shortly, by the writer thread."""
        with self._lock:
            self._pending[(type(row), row.id)] = utcnow()
            if self._writer is None:
                self._writer = threading.Thread(target=self._write, name="use-notes", daemon=True)
                self._writer.start()

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until what is pending is written (or dropped): for shutdown and tests."""
        writer = self._writer
        if writer is not None:
            writer.join(timeout)

    def _write(self) -> None:
        tries = 0
        while True:
            with self._lock:
                batch, self._pending = self._pending, {}
                if not batch:
                    self._writer = None
                    return
            try:
                with self.farm.transaction() as session:
                    for (kind, row_id), when in batch.items():
                        column = Token.last_used_at if kind is Token else WebSession.last_seen_at
                        session.execute(update(kind).where(kind.id == row_id).values({column.key: when}))
                tries = 0
            except Exception as exc:  # noqa: BLE001 - bookkeeping: say why, keep the notes for the next try
                tries += 1
                log.warning("could not note %d token/session use(s) (try %d of %d): %s", len(batch), tries, TRIES,
                            str(exc).splitlines()[0])
                if tries < TRIES:
                    with self._lock:
                        for key, when in batch.items():
                            self._pending.setdefault(key, when)
                else:  # dropped: the next use of each notes it again
                    tries = 0
                time.sleep(RETRY_S)
