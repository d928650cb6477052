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

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from catalog.models import Step, table_of, utcnow
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


# Each transition is one UPDATE built once on the table (Core): see pipeline.workflow for why.
_STEPS = table_of(Step)
_NOW = bindparam("now", type_=_STEPS.c.started_at.type)
_LEASE = bindparam("lease", type_=_STEPS.c.lease_expires_at.type)
_CLAIM = (update(_STEPS).where(_STEPS.c.id == bindparam("step_id"), _STEPS.c.status == "queued")
          .values(status="running", attempts=_STEPS.c.attempts + 1, worker=bindparam("owner"), progress=0.0,
                  error=None, lease_expires_at=_LEASE, heartbeat_at=_NOW, started_at=_NOW, finished_at=None)
          .returning(_STEPS.c.version_id, _STEPS.c.kind, _STEPS.c.attempts, _STEPS.c.rendition_id))
_OWNED = update(_STEPS).where(_STEPS.c.id == bindparam("step_id"), _STEPS.c.status == "running",
                              _STEPS.c.worker == bindparam("owner"))
_HEARTBEAT = _OWNED.values(heartbeat_at=_NOW, lease_expires_at=_LEASE, progress=bindparam("new_progress"))
_FINISH = _OWNED.values(status=bindparam("new_status"), progress=1.0, error=bindparam("note"), finished_at=_NOW,
                        lease_expires_at=None)
_FAIL = _OWNED.values(status="failed", error=bindparam("reason"), finished_at=_NOW, lease_expires_at=None)
_RELEASE = _OWNED.values(status="queued", error=bindparam("reason"), worker=None, lease_expires_at=None,
                         enqueued_at=_NOW, attempts=_STEPS.c.attempts - bindparam("refund"))


def claim(session: Session, step_id: int, lease_s: float, worker: str | None = None) -> Claim | None:
    """Take a queued step: ``queued → running`` with a fresh lease, or None if it is not queued."""
    owner = new_owner(worker)
    now = utcnow()
    taken = session.execute(_CLAIM, {"step_id": step_id, "owner": owner, "now": now,
                                     "lease": now + timedelta(seconds=lease_s)}).one_or_none()
    if taken is None:
        return None
    version_id, kind, attempts, rendition_id = taken
    if kind in WORKFLOW:
        mark_processing(session, version_id)
    return Claim(step_id, version_id, kind, attempts, owner, rendition_id)


def _owned(claim: Claim, **values: object) -> dict[str, object]:
    return {"step_id": claim.step_id, "owner": claim.owner, **values}


def heartbeat(session: Session, claim: Claim, lease_s: float, progress: float) -> bool:
    """Extend the lease and store progress; False when the lease was lost to someone else."""
    now = utcnow()
    result = session.execute(_HEARTBEAT, _owned(claim, now=now, lease=now + timedelta(seconds=lease_s),
                                                new_progress=progress))
    return result.rowcount == 1  # type: ignore[attr-defined]


def finish(session: Session, claim: Claim, status: str = "done", note: str | None = None) -> bool:
    """``running → done|skipped`` if we still own the step."""
    result = session.execute(_FINISH, _owned(claim, new_status=status, note=note, now=utcnow()))
    return result.rowcount == 1  # type: ignore[attr-defined]


def fail(session: Session, claim: Claim, error: str) -> bool:
    """``running → failed`` for good; the version and asset show the reason."""
    result = session.execute(_FAIL, _owned(claim, reason=error, now=utcnow()))
    if result.rowcount == 1:  # type: ignore[attr-defined]
        refresh_status(session, claim.version_id)
        return True
    return False


def release(session: Session, claim: Claim, error: str, *, refund: bool = False) -> bool:
    """``running → queued`` after a transient error, to be tried again.

    ``refund`` gives the attempt back (the work was interrupted from outside, e.g. at shutdown).
    """
    result = session.execute(_RELEASE, _owned(claim, reason=error, now=utcnow(), refund=1 if refund else 0))
    return result.rowcount == 1  # type: ignore[attr-defined]
