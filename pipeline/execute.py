"""The body of every actor: claim the step, run its task under a heartbeat, record the outcome, advance.

Permanent errors (``MediaError``, ``OutputError``: the file itself is bad; ``ConfigError``: a setting is
wrong, e.g. a language the speech model cannot do) fail the step at once with the reason.
Anything else is transient: the step goes back to ``queued`` with a back-off until ``max_attempts``.

The catalog may blink (a PostgreSQL restart): every write here is tried again for half a lease, and a
worker that cannot renew its lease for that long stops the step, so no step ever runs twice at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

from pipeline import leases, step_metrics
from pipeline.jobs import Job
from pipeline.tasks import task_for
from pipeline.workflow import advance
from rushes.errors import ConfigError, Interrupted, MediaError, OutputError

if TYPE_CHECKING:
    from pipeline.farm import Farm

log = logging.getLogger(__name__)
T = TypeVar("T")
PERMANENT = (MediaError, OutputError, ConfigError)  # retrying cannot help: the file or a setting is wrong
REASON = {MediaError: "media", OutputError: "output", ConfigError: "config"}


def _unreachable(exc: Exception) -> bool:
    """The catalog could not be reached (not: the statement was wrong)."""
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


def in_catalog(farm: Farm, write: Callable[[], T], what: str) -> T:
    """Run ``write`` (one transaction), trying again while the catalog is unreachable, for half a lease."""
    deadline = time.monotonic() + farm.settings.lease_s / 2
    pause = 0.2
    while True:
        try:
            return write()
        except Exception as exc:
            if not _unreachable(exc) or time.monotonic() + pause > deadline:
                raise
            log.warning("catalog unreachable while %s; trying again in %.1f s: %s", what, pause, exc.__class__.__name__)
            time.sleep(pause)
            pause = min(pause * 2, 2.0)


class Heartbeat(threading.Thread):
    """Extends the lease and stores progress until stopped; sets ``lost`` when the lease is gone or
    cannot be renewed for half its length (someone else may take the step once it expires)."""

    def __init__(self, farm: Farm, claim: leases.Claim) -> None:
        super().__init__(name=f"heartbeat-{claim.step_id}", daemon=True)
        self.farm, self.claim = farm, claim
        self.progress = 0.0
        self.lost = threading.Event()
        self._halt = threading.Event()
        self.interval = min(1.0, farm.settings.lease_s / 3)

    def run(self) -> None:
        lease_s = self.farm.settings.lease_s
        renewed = time.monotonic()
        while not self._halt.wait(self.interval):
            try:
                with self.farm.transaction() as session:
                    ok = leases.heartbeat(session, self.claim, lease_s, self.progress)
            except Exception:  # the database blinked: try again on the next beat, the lease has slack
                if time.monotonic() - renewed > lease_s / 2:
                    log.error("step %s (%s): lease not renewed for %.0f s; stopping it so that it never runs "
                              "twice at once", self.claim.step_id, self.claim.kind, time.monotonic() - renewed)
                    self.lost.set()
                    return
                log.warning("heartbeat of step %s failed", self.claim.step_id, exc_info=True)
                continue
            if not ok:
                log.warning("lost the lease on step %s (%s)", self.claim.step_id, self.claim.kind)
                self.lost.set()
                return
            renewed = time.monotonic()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


def execute_step(farm: Farm, step_id: int) -> None:
    settings = farm.settings

    def take() -> leases.Claim | None:
        with farm.transaction() as session:
            return leases.claim(session, step_id, settings.lease_s, farm.name)

    claim = in_catalog(farm, take, f"claiming step {step_id}")
    if claim is None:
        log.debug("step %s is not queued any more; message dropped", step_id)
        return
    log.info("step %s (%s) of version %s: attempt %s", step_id, claim.kind, claim.version_id, claim.attempt)
    started = time.monotonic()
    beat = Heartbeat(farm, claim)
    job = Job(sessions=farm.sessions, settings=farm.settings, claim=claim, cancel=beat.lost,
              report=lambda p: setattr(beat, "progress", p))
    beat.start()
    label = "failed"  # how the step ended, for its duration's label
    try:
        outcome = task_for(claim.kind)(job)
        label = outcome.status
    except Interrupted as exc:  # stopped from outside: not the file's fault, so not an attempt lost
        beat.stop()
        label = "lease_lost" if beat.lost.is_set() else "interrupted"
        step_metrics.failed(claim.kind, label)
        _release(farm, claim, f"interrupted: {exc}", refund=True)
        return
    except PERMANENT as exc:
        beat.stop()
        step_metrics.failed(claim.kind, REASON[next(t for t in REASON if isinstance(exc, t))])
        _fail(farm, claim, str(exc))
        return
    except Exception as exc:
        beat.stop()
        label = _retry_or_fail(farm, claim, exc)
        return
    finally:
        step_metrics.observe(claim.kind, label, time.monotonic() - started)
    beat.stop()

    def record() -> list[tuple[int, str]] | None:
        with farm.transaction() as session:
            if not leases.finish(session, claim, outcome.status, outcome.note):
                return None
            outcome.store(session)
            return advance(session, claim.version_id)

    messages = in_catalog(farm, record, f"finishing step {step_id}")
    if messages is None:
        step_metrics.failed(claim.kind, "lease_lost")
        log.warning("step %s finished but its lease was taken over; result dropped", step_id)
        return
    farm.send(messages)
    farm.nudge()  # a version may be ready: the rules and webhooks look now
    if outcome.after is not None:
        outcome.after(farm)


def _fail(farm: Farm, claim: leases.Claim, reason: str) -> None:
    log.warning("step %s (%s) failed: %s", claim.step_id, claim.kind, reason)

    def write() -> bool:
        with farm.transaction() as session:
            return leases.fail(session, claim, reason)

    in_catalog(farm, write, f"failing step {claim.step_id}")


def _retry_or_fail(farm: Farm, claim: leases.Claim, exc: Exception) -> str:
    """Queue the step again with a back-off, or fail it after ``max_attempts``; returns which."""
    reason = f"{type(exc).__name__}: {exc}"
    if claim.attempt >= farm.settings.max_attempts:
        step_metrics.failed(claim.kind, "gave_up")
        _fail(farm, claim, f"gave up after {claim.attempt} attempts: {reason}")
        return "failed"
    step_metrics.failed(claim.kind, "transient")
    log.warning("step %s (%s) attempt %s failed, will retry: %s", claim.step_id, claim.kind,
                claim.attempt, reason, exc_info=exc)
    _release(farm, claim, reason, delay_ms=1000 * 2 ** claim.attempt)
    return "retried"


def _release(farm: Farm, claim: leases.Claim, reason: str, delay_ms: int | None = None,
             refund: bool = False) -> None:
    def write() -> bool:
        with farm.transaction() as session:
            return leases.release(session, claim, reason, refund=refund)

    if in_catalog(farm, write, f"releasing step {claim.step_id}"):
        farm.send([(claim.step_id, claim.kind)], delay_ms=delay_ms)
