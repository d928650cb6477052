"""Big files being hash-copied into the library: a row in ``incoming`` from the first byte to the last, so the
farm (``rushes status``, the Farm page) shows a 100 GB camera file arriving instead of nothing for minutes."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from catalog.models import Incoming, utcnow
from pipeline.farm import Farm

log = logging.getLogger(__name__)
SHOWN_FROM_BYTES = 256 * 1024 * 1024  # smaller files are copied in about a second: no row for them
EVERY_S = 2.0  # how often the bytes copied are written
STALLED_AFTER_S = 30.0  # a row not updated for this long: its process died or its storage hangs
FORGOTTEN_AFTER_S = 15 * 60  # the reconciler removes rows older than this (the process is gone)


class Arrival:
    """The ``incoming`` row of one file while it is copied; catalog trouble never stops the copy."""

    def __init__(self, farm: Farm, name: str, folder: str, size: int) -> None:
        self.farm = farm
        self.row_id: int | None = None
        self.last = 0.0
        if size < SHOWN_FROM_BYTES:
            return
        try:
            with farm.transaction() as session:
                row = Incoming(name=name, folder=folder, size=size, copied=0, process=farm.name)
                session.add(row)
                session.flush()
                self.row_id = row.id
            self.last = time.monotonic()
        except Exception:
            log.warning("could not show %s as arriving", name, exc_info=True)

    def copied(self, done: int) -> None:
        """Called after each chunk; writes the count at most every :data:`EVERY_S`."""
        if self.row_id is None or time.monotonic() - self.last < EVERY_S:
            return
        self.last = time.monotonic()
        try:
            with self.farm.transaction() as session:
                session.execute(update(Incoming).where(Incoming.id == self.row_id)
                                .values(copied=done, updated_at=utcnow()))
        except Exception:
            log.warning("could not update the arrival of row %s", self.row_id, exc_info=True)

    def done(self) -> None:
        if self.row_id is None:
            return
        try:
            with self.farm.transaction() as session:
                session.execute(delete(Incoming).where(Incoming.id == self.row_id))
        except Exception:  # the reconciler removes it later
            log.warning("could not remove the arrival of row %s", self.row_id, exc_info=True)


def forget_stale(session: Session) -> int:
    """Remove rows of copies whose process stopped writing long ago; how many."""
    gone = session.execute(delete(Incoming).where(
        Incoming.updated_at < utcnow() - timedelta(seconds=FORGOTTEN_AFTER_S)))
    return gone.rowcount or 0  # type: ignore[attr-defined]
