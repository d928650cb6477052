"""The reconciler: the catalog is the truth, the broker only a means of delivery.

It re-enqueues steps whose lease expired (their worker died), steps queued longer than
``requeue_after_s`` whose message the broker no longer holds (a Redis flush or empty restart, a dead
worker's prefetched messages; at start of the embedded farm, every queued step), and advances
versions whose pending steps are ready but were never queued (a crash between commit and send), and
refreshes the status of versions that show ``queued``/``processing`` with no step left to run.
Every change is a conditional update, so any number of reconcilers can run at once. Every minute it
also pushes what became due with time alone (a rights window that opened); pushes are serialised.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, aliased

from catalog.models import Step, Version, utcnow
from pipeline.farm import Farm
from pipeline.incoming import forget_stale
from pipeline.lifecycle import tidy_moves
from pipeline.policies import POLICY_SWEEP_S, apply_policies
from pipeline.renditions import deliver_due
from pipeline.trash import purge_due
from pipeline.workflow import WORKFLOW, advance, refresh_status

log = logging.getLogger(__name__)
DELIVERY_SWEEP_S = 60.0  # how often each reconciler pushes what became due with time alone
TIDY_FIRST, TIDY_EVERY = timedelta(days=7), timedelta(hours=1)  # moves looked at again for a second copy
UNINSPECTABLE_RESEND_S = 900.0  # the in-process broker loses messages only with its process (re-sent at start)


def reconcile(farm: Farm, *, resend_all_queued: bool = False) -> int:
    """One pass; returns how many steps were re-enqueued."""
    settings = farm.settings
    now = utcnow()
    messages: list[tuple[int, str]] = []
    with farm.transaction() as session:
        expired = session.execute(
            select(Step.id, Step.kind, Step.attempts, Step.worker, Step.version_id)
            .where(Step.status == "running", Step.lease_expires_at < now)
        ).all()
        for step_id, kind, attempts, worker, version_id in expired:
            if attempts >= settings.max_attempts:
                values = dict(status="failed", finished_at=now, lease_expires_at=None,
                              error=f"worker lost {attempts} times (last: {worker}); gave up")
            else:
                values = dict(status="queued", worker=None, lease_expires_at=None, enqueued_at=now,
                              error=f"lease expired on {worker}; re-queued")
            done = session.execute(update(Step).where(Step.id == step_id, Step.status == "running",
                                                      Step.worker == worker).values(**values))
            if done.rowcount == 1:  # type: ignore[attr-defined]
                log.warning("step %s (%s): lease of %s expired; %s", step_id, kind, worker, values["status"])
                if values["status"] == "queued":
                    messages.append((step_id, kind))
                refresh_status(session, version_id)

        if resend_all_queued:
            lost = [(row.id, row.kind, row.enqueued_at) for row in session.execute(
                select(Step.id, Step.kind, Step.enqueued_at).where(Step.status == "queued"))]
        else:
            lost = _lost_messages(farm, session, now)
        for step_id, kind, enqueued_at in lost:
            done = session.execute(update(Step).where(Step.id == step_id, Step.status == "queued",
                                                      Step.enqueued_at == enqueued_at).values(enqueued_at=now))
            if done.rowcount == 1:  # type: ignore[attr-defined]  # another reconciler may have re-sent it
                messages.append((step_id, kind))

        if farm.take_turn("versions", settings.reconcile_interval_s):  # farm-wide scans: one process a turn
            messages.extend(_heal_versions(session))
            forget_stale(session)
    farm.send(messages)
    if messages:
        log.info("reconciler re-enqueued %d step(s)", len(messages))
    return len(messages)


def _heal_versions(session: Session) -> list[tuple[int, str]]:
    """Advance versions with pending steps and nothing queued or running (a crash between commit and send, a
    retry made from the CLI), and refresh versions whose status lags their steps; the messages to send."""
    messages: list[tuple[int, str]] = []
    sibling = aliased(Step)
    in_flight = select(sibling.id).where(sibling.version_id == Version.id, sibling.kind.in_(list(WORKFLOW)),
                                         sibling.status.in_(("queued", "running")))
    stuck = select(Step.version_id).join(Version).where(
        Step.status == "pending", Step.kind.in_(list(WORKFLOW)),
        Version.status.in_(("queued", "processing")), ~in_flight.exists()).distinct()
    for version_id in session.scalars(stuck).all():
        messages.extend(advance(session, version_id))

    active = select(Step.id).where(Step.version_id == Version.id, Step.kind.in_(list(WORKFLOW)),
                                   Step.status.in_(("pending", "queued", "running")))
    lagging = select(Version.id).where(Version.status.in_(("queued", "processing")), ~active.exists())
    for version_id in session.scalars(lagging).all():
        log.warning("version %s: status lagged its steps; refreshed to %s", version_id,
                    refresh_status(session, version_id))
    return messages


def _lost_messages(farm: Farm, session: Session, now: datetime) -> list[tuple[int, str, datetime | None]]:
    """Queued steps, queued longer than ``requeue_after_s``, whose message the broker no longer holds.

    The broker is looked into by one reconciler of the farm at a time, at most every half
    ``requeue_after_s``; a broker that cannot be looked into is trusted for ``UNINSPECTABLE_RESEND_S``.
    """
    waited = Step.status == "queued", Step.enqueued_at < now - timedelta(seconds=farm.settings.requeue_after_s)
    if session.scalar(select(Step.id).where(*waited).limit(1)) is None:
        return []
    if not farm.take_turn("lost-messages", farm.settings.requeue_after_s / 2):
        return []
    in_broker = farm.steps_in_broker()  # read before the steps: a step queued since is too young to count
    if in_broker is None:
        waited = Step.status == "queued", Step.enqueued_at < now - timedelta(seconds=UNINSPECTABLE_RESEND_S)
    rows = session.execute(select(Step.id, Step.kind, Step.enqueued_at).where(*waited)).all()
    lost = [(row.id, row.kind, row.enqueued_at) for row in rows if in_broker is None or row.id not in in_broker]
    if lost:
        log.warning("%d queued step(s) had no message in the broker; sending them again", len(lost))
    return lost


class Reconciler(threading.Thread):
    """Runs ``reconcile`` every ``reconcile_interval_s`` until stopped; never dies of one bad pass."""

    def __init__(self, farm: Farm, *, resend_all_queued_first: bool = False) -> None:
        super().__init__(name="reconciler", daemon=True)
        self.farm = farm
        self._first_all = resend_all_queued_first
        self._halt = threading.Event()

    def run(self) -> None:
        first = self._first_all
        next_delivery = time.monotonic() + DELIVERY_SWEEP_S
        tidy_within = TIDY_FIRST
        next_policies = time.monotonic() + 60.0  # a minute after start, then every hour
        while not self._halt.is_set():
            try:
                reconcile(self.farm, resend_all_queued=first)
                first = False
            except Exception:
                log.exception("reconciler pass failed; trying again")
            if time.monotonic() >= next_delivery:  # pushes the rights allow only from a moment on (a window opening)
                next_delivery = time.monotonic() + DELIVERY_SWEEP_S
                try:
                    deliver_due(self.farm)
                except Exception:
                    log.exception("delivery sweep failed; trying again")
            if time.monotonic() >= next_policies:  # what the collections' lifecycle policies make due
                next_policies = time.monotonic() + POLICY_SWEEP_S
                try:
                    apply_policies(self.farm)
                    purge_due(self.farm)  # what waited its days in the trash
                except Exception:
                    log.exception("lifecycle policy sweep failed; trying again")
            try:  # the second copy of an original a killed move left (the last week at start, then the last hour)
                tidy_moves(self.farm, tidy_within)
                tidy_within = TIDY_EVERY
            except Exception:
                log.exception("tidying stopped moves failed; trying again")
            self._halt.wait(self.farm.settings.reconcile_interval_s)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)
