"""The workflow DAG, declared in one place, and ``advance()``, which moves a version along it.

Every step kind names the kinds it needs. ``plan()`` writes one ``pending`` step row per kind
for a new version; ``advance()`` flips each pending step whose needs are met to ``queued`` with a
conditional update (``pending → queued``), so a step is enqueued once even when two advances race,
and recomputes the version's and asset's status from its steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from catalog.models import Asset, Step, Version, table_of, utcnow


@dataclass(frozen=True, slots=True)
class StepKind:
    name: str
    needs: tuple[str, ...] = ()
    queue: str = ""  # defaults to the name
    required: bool = True  # must be done (or skipped) for the version to be ready

    @property
    def queue_name(self) -> str:
        return self.queue or self.name


WORKFLOW: dict[str, StepKind] = {
    kind.name: kind
    for kind in (
        StepKind("probe"),
        StepKind("proxy", needs=("probe",)),
        StepKind("audio", needs=("probe",)),
        StepKind("scenes", needs=("proxy",)),
        StepKind("keyframes", needs=("scenes",)),
        StepKind("transcript", needs=("audio",)),
        StepKind("tags", needs=("keyframes",)),
        # vectors for semantic search and similar shots: the version is ready without them
        StepKind("embed", needs=("transcript", "tags"), required=False),
    )
}

FINISHED = ("done", "skipped")
RENDER = "render"  # on-demand steps, one per rendition: kind "render:<rendition id>", queue "render"


def render_kind(rendition_id: int) -> str:
    """The kind label of a rendition's render step (its rendition is also in ``steps.rendition_id``)."""
    return f"{RENDER}:{rendition_id}"


def is_render(kind: str) -> bool:
    """A rendition's render step: its label "render:<id>", or "render" where steps are counted by kind."""
    return kind == RENDER or kind.startswith(RENDER + ":")


# on-demand steps that move a version's original between the library and an archive (one row of each per version,
# queued again for each move: one restore however many ask), on queue "lifecycle"
LIFECYCLE = ("archive", "restore")


def queue_of(kind: str) -> str:
    """The queue (and actor) of a step kind: the workflow's, "render" for renditions, "lifecycle" for moves."""
    if kind in LIFECYCLE:
        return "lifecycle"
    return RENDER if is_render(kind) else WORKFLOW[kind].queue_name


QUEUES = sorted({kind.queue_name for kind in WORKFLOW.values()} | {RENDER, "lifecycle"})


def by_queue(counts: Mapping[tuple[str, str], int], status: str) -> dict[str, int]:
    """Every queue with how many of ``counts`` ((kind, status) → steps) are in ``status`` there."""
    totals = dict.fromkeys(QUEUES, 0)
    for (kind, state), n in counts.items():
        if state == status:
            totals[queue_of(kind)] += n
    return totals


def with_needs(kinds: list[str] | None) -> list[str]:
    """The step kinds to run for ``kinds`` (None: all), with everything they need, in workflow order."""
    if kinds is None:
        return list(WORKFLOW)
    unknown = set(kinds) - set(WORKFLOW)
    if unknown:
        raise ValueError(f"unknown step(s) {sorted(unknown)}; known: {', '.join(WORKFLOW)}")
    wanted: set[str] = set()
    todo = list(kinds)
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo.extend(WORKFLOW[name].needs)
    return [name for name in WORKFLOW if name in wanted]


def plan(session: Session, version: Version, kinds: list[str] | None = None) -> list[Step]:
    """Create the pending steps of a new version: one row per step kind of ``kinds`` and their needs."""
    steps = [Step(version_id=version.id, kind=name, status="pending") for name in with_needs(kinds)]
    session.add_all(steps)
    session.flush()
    return steps


def version_status(steps: list[Step] | Mapping[str, str]) -> str:
    """queued | processing | ready | failed, derived from the steps (or kind → status) alone."""
    pairs = steps.items() if isinstance(steps, Mapping) else ((s.kind, s.status) for s in steps)
    statuses = {kind: status for kind, status in pairs if kind in WORKFLOW}  # renditions have their own status
    # a step the version does not need to be ready (embed) fails alone: its error is on the step, not the version
    if any(status == "failed" and WORKFLOW[kind].required for kind, status in statuses.items()):
        return "failed"
    required = [k.name for k in WORKFLOW.values() if k.required and k.name in statuses]
    if all(statuses[name] in FINISHED for name in required):
        return "ready"
    if any(status in ("running", "done", "skipped") for status in statuses.values()):
        return "processing"
    return "queued"


# The statements of a step's every transition, built once with bound parameters on the tables themselves
# (Core, not the ORM's bulk UPDATE): building and evaluating them per call cost ~0.5 ms each, half of a
# worker's CPU per step (bench/farm_throughput.py --profile).
_STEPS, _VERSIONS, _ASSETS = table_of(Step), table_of(Version), table_of(Asset)
_LOCK_VERSION = (select(_VERSIONS.c.id, _VERSIONS.c.asset_id, _VERSIONS.c.status, _VERSIONS.c.error,
                        _VERSIONS.c.ready_at)
                 .where(_VERSIONS.c.id == bindparam("version_id")).with_for_update())
_STEP_STATES = select(_STEPS.c.id, _STEPS.c.kind, _STEPS.c.status).where(_STEPS.c.version_id == bindparam("version_id"))
_STEP_ERROR = select(_STEPS.c.error).where(_STEPS.c.version_id == bindparam("version_id"),
                                           _STEPS.c.kind == bindparam("failed_kind"))
_QUEUE_DUE = (update(_STEPS).where(_STEPS.c.id.in_(bindparam("due", expanding=True)), _STEPS.c.status == "pending")
              .values(status="queued", enqueued_at=bindparam("now", type_=_STEPS.c.enqueued_at.type))
              .returning(_STEPS.c.id, _STEPS.c.kind))
_SET_VERSION = (update(_VERSIONS).where(_VERSIONS.c.id == bindparam("version_id"))
                .values(status=bindparam("new_status", type_=_VERSIONS.c.status.type),
                        error=bindparam("new_error", type_=_VERSIONS.c.error.type),
                        ready_at=bindparam("new_ready_at", type_=_VERSIONS.c.ready_at.type)))
_START_VERSION = (update(_VERSIONS).where(_VERSIONS.c.id == bindparam("version_id"), _VERSIONS.c.status == "queued")
                  .values(status="processing").returning(_VERSIONS.c.asset_id))
_NEWEST_VERSION = (select(_VERSIONS.c.id).where(_VERSIONS.c.asset_id == _ASSETS.c.id)
                   .order_by(_VERSIONS.c.number.desc()).limit(1).scalar_subquery())
_NEW_STATUS = bindparam("new_status", type_=_ASSETS.c.status.type)
_NEW_ERROR = bindparam("new_error", type_=_ASSETS.c.error.type)
_MIRROR_ON_ASSET = (update(_ASSETS).where(
    _ASSETS.c.id == bindparam("asset_id"), _NEWEST_VERSION == bindparam("version_id"),
    or_(_ASSETS.c.status != _NEW_STATUS, _ASSETS.c.error.is_distinct_from(_NEW_ERROR)))
    .values(status=_NEW_STATUS, error=_NEW_ERROR))  # updated_at: the column's onupdate


def lock_version(session: Session, version_id: int) -> Any:
    """Lock the version's row until the transaction ends (PostgreSQL; SQLite writes one at a time anyway) and
    read its id, asset_id, status, error and ready_at.

    Whoever finishes a step locks its version before reading the steps, so two steps finishing at
    once are seen in turn: the second reader sees the first one's commit, and the version's status
    (and which steps are due) is computed from every finished step, never from two stale halves.
    """
    session.flush()  # the caller's pending ORM changes first, as the ORM's autoflush did
    return session.execute(_LOCK_VERSION, {"version_id": version_id}).one()


def _mirror_on_asset(session: Session, version_id: int, asset_id: int, status: str, error: str | None) -> None:
    """The asset takes its newest version's status and error; one statement, and no write when they match."""
    session.execute(_MIRROR_ON_ASSET, {"asset_id": asset_id, "version_id": version_id, "new_status": status,
                                       "new_error": error})


def refresh_status(session: Session, version_id: int, *, locked: Any = None,
                   statuses: Mapping[str, str] | None = None) -> str:
    """Store the version's status (and its asset's, when this is the asset's newest version).

    ``locked`` (the row :func:`lock_version` read) and ``statuses`` (kind → status, read under that lock) spare
    a caller that holds them (``advance``) a second lock and read."""
    version = locked or lock_version(session, version_id)
    if statuses is None:
        statuses = {kind: status for _, kind, status in session.execute(_STEP_STATES, {"version_id": version_id})}
    status = version_status(statuses)
    failed = next((kind for kind, state in statuses.items() if state == "failed"), None)
    error = None
    if failed is not None:
        reason = session.scalar(_STEP_ERROR, {"version_id": version_id, "failed_kind": failed})
        error = f"{failed}: {reason}"
    if version.status != status or version.error != error:
        ready_at = utcnow() if status == "ready" and version.ready_at is None else version.ready_at
        session.execute(_SET_VERSION, {"version_id": version_id, "new_status": status, "new_error": error,
                                       "new_ready_at": ready_at})
    _mirror_on_asset(session, version_id, version.asset_id, status, error)
    return status


def mark_processing(session: Session, version_id: int) -> None:
    """A step of a queued version started: the version (and its asset, when newest) is ``processing``.

    Conditional updates, no lock: only ``queued`` becomes ``processing``; every other change of status is
    made by ``refresh_status`` under the version's lock."""
    started = session.execute(_START_VERSION, {"version_id": version_id}).one_or_none()
    if started is not None:
        _mirror_on_asset(session, version_id, started.asset_id, "processing", None)


def _skip_by_rules(session: Session, version_id: int, pending: list[str],
                   statuses: dict[str, tuple[int, str]]) -> dict[str, tuple[int, str]]:
    """The ``version.probed`` rules' word on which of the pending steps run (``pipeline/rules/steps.py``)."""
    from pipeline.rules.steps import steps_to_skip  # the rules read the catalog and build on this module

    skip = steps_to_skip(session, version_id, pending)
    now = utcnow()
    for kind, why in skip.items():
        session.execute(update(Step).where(Step.version_id == version_id, Step.kind == kind, Step.status == "pending")
                        .values(status="skipped", error=why, finished_at=now, progress=1.0))
    return {kind: (step_id, "skipped" if kind in skip else status) for kind, (step_id, status) in statuses.items()}


def advance(session: Session, version_id: int) -> list[tuple[int, str]]:
    """Queue every pending step whose needs are met; return (step id, kind) pairs to send.

    Call inside a transaction and send the returned messages only after it commits.
    """
    version = lock_version(session, version_id)
    statuses = {kind: (step_id, status)
                for step_id, kind, status in session.execute(_STEP_STATES, {"version_id": version_id})}
    finished = {kind for kind, (_, status) in statuses.items() if status in FINISHED}
    pending = [kind for kind, (_, status) in statuses.items() if status == "pending"]
    if "probe" in finished and any("probe" in WORKFLOW[kind].needs for kind in pending if kind in WORKFLOW):
        statuses = _skip_by_rules(session, version_id, pending, statuses)  # the steps of this asset, decided once
        finished = {kind for kind, (_, status) in statuses.items() if status in FINISHED}
    due = [step_id for kind, (step_id, status) in statuses.items()
           if status == "pending" and kind in WORKFLOW and set(WORKFLOW[kind].needs) <= finished]
    to_send: list[tuple[int, str]] = []
    if due:  # one conditional update: a step another transaction queued first is not sent twice
        to_send = [(step_id, kind) for step_id, kind in session.execute(_QUEUE_DUE, {"due": due, "now": utcnow()})]
    now_queued = {kind for _, kind in to_send}
    refresh_status(session, version_id, locked=version, statuses={
        kind: "queued" if kind in now_queued else status for kind, (_, status) in statuses.items()})
    return sorted(to_send)
