"""Retry an asset: its newest version's failed steps go back to the queue with fresh attempts (a failed archive or
restore is asked for again instead, through ``pipeline/lifecycle.py``)."""

from __future__ import annotations

from sqlalchemy import select, update

from catalog.models import Step, Version
from pipeline.farm import Farm
from pipeline.lifecycle import needs_original
from pipeline.workflow import LIFECYCLE, advance, refresh_status
from rushes.errors import Conflict, NotFound


def retry_asset(farm: Farm, asset_id: int, *, enqueue: bool = True) -> list[str]:
    """Return the kinds of the steps that were re-queued (empty when nothing had failed).

    With ``enqueue=False`` the steps are only made pending again: the reconciler of the running
    farm queues them (used by the CLI in embedded mode, whose in-process broker is not the server's).
    """
    with farm.transaction() as session:
        version = session.scalar(select(Version).where(Version.asset_id == asset_id)
                                 .order_by(Version.number.desc()).limit(1))
        if version is None:
            raise NotFound(f"asset {asset_id} has no version to retry (a quarantined file must be dropped again)")
        failed = session.scalars(select(Step).where(Step.version_id == version.id, Step.status == "failed",
                                                    Step.kind.not_in(LIFECYCLE))).all()
        if failed and needs_original(session, version.id):
            raise Conflict(f"asset {asset_id}'s original is in the archive: restore it, then retry")
        kinds = [s.kind for s in failed]
        session.execute(update(Step).where(Step.id.in_([s.id for s in failed]))
                        .values(status="pending", attempts=0, error=None, progress=0.0, worker=None))
        refresh_status(session, version.id)
        messages = advance(session, version.id) if enqueue else []
    farm.send(messages)
    return kinds
