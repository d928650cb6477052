"""The body of every actor: claim the step, run its task under a heartbeat, record the outcome, advance.

Permanent errors (``MediaError``, ``OutputError``: the file itself is bad; ``ConfigError``: a setting is
wrong, e.g. a language the speech model cannot do) fail the step at once with the reason.
Anything else is transient: the step goes back to ``queued`` with a back-off until ``max_attempts``.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from pipeline import leases
from pipeline.jobs import Job
from pipeline.tasks import task_for
from pipeline.workflow import advance
from rushes.errors import ConfigError, Interrupted, MediaError, OutputError

if TYPE_CHECKING:
    from pipeline.farm import Farm

log = logging.getLogger(__name__)
PERMANENT = (MediaError, OutputError, ConfigError)  # retrying cannot help: the file or a setting is wrong


class Heartbeat(threading.Thread):
    """Extends the lease and stores progress until stopped; sets ``lost`` when the lease is gone."""

    def __init__(self, farm: Farm, claim: leases.Claim) -> None:
        super().__init__(name=f"heartbeat-{claim.step_id}", daemon=True)
        self.farm, self.claim = farm, claim
        self.progress = 0.0
        self.lost = threading.Event()
        self._halt = threading.Event()
        self.interval = min(1.0, farm.settings.lease_s / 3)

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            try:
                with self.farm.transaction() as session:
                    ok = leases.heartbeat(session, self.claim, self.farm.settings.lease_s, self.progress)
            except Exception:  # the database blinked: try again on the next beat, the lease has slack
                log.warning("heartbeat of step %s failed", self.claim.step_id, exc_info=True)
                continue
            if not ok:
                log.warning("lost the lease on step %s (%s)", self.claim.step_id, self.claim.kind)
                self.lost.set()
                return

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


def execute_step(farm: Farm, step_id: int) -> None:
    settings = farm.settings
    with farm.transaction() as session:
        claim = leases.claim(session, step_id, settings.lease_s)
    if claim is None:
        log.debug("step %s is not queued any more; message dropped", step_id)
        return
    log.info("step %s (%s) of version %s: attempt %s", step_id, claim.kind, claim.version_id, claim.attempt)
    beat = Heartbeat(farm, claim)
    job = Job(sessions=farm.sessions, settings=farm.settings, claim=claim, cancel=beat.lost,
              report=lambda p: setattr(beat, "progress", p))
    beat.start()
    try:
        outcome = task_for(claim.kind)(job)
    except Interrupted as exc:  # stopped from outside: not the file's fault, so not an attempt lost
        beat.stop()
        _release(farm, claim, f"interrupted: {exc}", refund=True)
        return
    except PERMANENT as exc:
        beat.stop()
        _fail(farm, claim, str(exc))
        return
    except Exception as exc:
        beat.stop()
        _retry_or_fail(farm, claim, exc)
        return
    beat.stop()
    with farm.transaction() as session:
        if not leases.finish(session, claim, outcome.status, outcome.note):
            log.warning("step %s finished but its lease was taken over; result dropped", step_id)
            return
        outcome.store(session)
        messages = advance(session, claim.version_id)
    farm.send(messages)
    if outcome.after is not None:
        outcome.after(farm)


def _fail(farm: Farm, claim: leases.Claim, reason: str) -> None:
    log.warning("step %s (%s) failed: %s", claim.step_id, claim.kind, reason)
    with farm.transaction() as session:
        leases.fail(session, claim, reason)


def _retry_or_fail(farm: Farm, claim: leases.Claim, exc: Exception) -> None:
    reason = f"{type(exc).__name__}: {exc}"
    if claim.attempt >= farm.settings.max_attempts:
        _fail(farm, claim, f"gave up after {claim.attempt} attempts: {reason}")
        return
    log.warning("step %s (%s) attempt %s failed, will retry: %s", claim.step_id, claim.kind,
                claim.attempt, reason, exc_info=exc)
    _release(farm, claim, reason, delay_ms=1000 * 2 ** claim.attempt)


def _release(farm: Farm, claim: leases.Claim, reason: str, delay_ms: int | None = None,
             refund: bool = False) -> None:
    with farm.transaction() as session:
        released = leases.release(session, claim, reason, refund=refund)
    if released:
        farm.send([(claim.step_id, claim.kind)], delay_ms=delay_ms)
