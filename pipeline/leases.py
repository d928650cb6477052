"""The step state machine in the catalog: claim with a lease, heartbeat, finish, fail, re-queue.

Every transition is a conditional UPDATE, so two workers (or a worker and the reconciler) can never
both own a step: the one whose UPDATE matched owns it, the other drops its message or its result.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from catalog.models import Step, utcnow
from pipeline.workflow import WORKFLOW, mark_processing, refresh_status


@dataclass(frozen=True, slots=True)
class Claim:
    step_id: int
    version_id: int
    kind: str
    attempt: int
    owner: str
    rendition_id: int | None = None  # a render step's rendition


def process_name() -> str:
    """This process as the farm knows it: ``host/pid/boot`` (the boot tag tells a restarted pid apart)."""
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:6]}"


def new_owner(worker: str | None = None) -> str:
    """A unique claim token that says which worker process holds the step: ``<worker>/<claim>``."""
    return f"{worker or process_name()}/{uuid.uuid4().hex[:8]}"


def claim(session: Session, step_id: int, lease_s: float, worker: str | None = None) -> Claim | None:
    """Take a queued step: ``queued → running`` with a fresh lease, or None if it is not queued."""
    owner = new_owner(worker)
    now = utcnow()
    taken = session.execute(
        update(Step).where(Step.id == step_id, Step.status == "queued")
        .values(status="running", attempts=Step.attempts + 1, worker=owner, progress=0.0, error=None,
                lease_expires_at=now + timedelta(seconds=lease_s), heartbeat_at=now, started_at=now,
                finished_at=None)
        .returning(Step.version_id, Step.kind, Step.attempts, Step.rendition_id)
    ).one_or_none()
    if taken is None:
        return None
    version_id, kind, attempts, rendition_id = taken
    if kind in WORKFLOW:
        mark_processing(session, version_id)
    return Claim(step_id, version_id, kind, attempts, owner, rendition_id)


def _owned(claim: Claim):
    return update(Step).where(Step.id == claim.step_id, Step.status == "running", Step.worker == claim.owner)


def heartbeat(session: Session, claim: Claim, lease_s: float, progress: float) -> bool:
    """Extend the lease and store progress; False when the lease was lost to someone else."""
    now = utcnow()
    result = session.execute(_owned(claim).values(
        heartbeat_at=now, lease_expires_at=now + timedelta(seconds=lease_s), progress=progress))
    return result.rowcount == 1  # type: ignore[attr-defined]


def finish(session: Session, claim: Claim, status: str = "done", note: str | None = None) -> bool:
    """``running → done|skipped`` if we still own the step."""
    result = session.execute(_owned(claim).values(
        status=status, progress=1.0, error=note, finished_at=utcnow(), lease_expires_at=None))
    return result.rowcount == 1  # type: ignore[attr-defined]


def fail(session: Session, claim: Claim, error: str) -> bool:
    """``running → failed`` for good; the version and asset show the reason."""
    result = session.execute(_owned(claim).values(
        status="failed", error=error, finished_at=utcnow(), lease_expires_at=None))
    if result.rowcount == 1:  # type: ignore[attr-defined]
        refresh_status(session, claim.version_id)
        return True
    return False


def release(session: Session, claim: Claim, error: str, *, refund: bool = False) -> bool:
    """``running → queued`` after a transient error, to be tried again.

    ``refund`` gives the attempt back (the work was interrupted from outside, e.g. at shutdown).
    """
    attempts = Step.attempts - 1 if refund else Step.attempts
    result = session.execute(_owned(claim).values(
        status="queued", error=error, worker=None, lease_expires_at=None, enqueued_at=utcnow(),
        attempts=attempts))
    return result.rowcount == 1  # type: ignore[attr-defined]
