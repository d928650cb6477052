"""Archive and restore: a version's original moves between the library and an archive location as a farm step.

Archiving copies the original to the archive location, reads the copy back from there and checks its SHA-256
against the one taken at ingest, records the move, and only then removes the library's file; proxies, keyframes,
transcripts and metadata stay in the library, so the asset stays searchable and reviewable. Restoring is the same
move the other way. Each is one step row per version (``archive``, ``restore``, queue ``lifecycle``) with a lease,
retries and progress like any step: asking again while one is queued or running asks nothing more, so a render and
a download waiting on one original start one restore. A render of an archived version waits (its step pending)
and is queued by the restore that brings the original back.

A move killed after its record but before the source was removed leaves a second, verified copy: the reconciler's
first pass (:func:`tidy_moves`) removes it, so each original ends in exactly one place.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from catalog.audit import record
from catalog.holds import holds_on, refuse_if_held
from catalog.models import Rendition, Step, Version, utcnow
from delivery.pushes import push_all_due
from pipeline.farm import Farm
from pipeline.jobs import Job, Outcome
from rushes.errors import Conflict, NotFound
from rushes.settings import Settings
from rushes.verified_copy import copy_verified

log = logging.getLogger(__name__)
MOVING = ("queued", "running")
WAITING_FOR_RESTORE = "waiting for the original to come back from the archive"


def _step(session: Session, version_id: int, kind: str) -> Step | None:
    return session.scalar(select(Step).where(Step.version_id == version_id, Step.kind == kind))


def _queue(session: Session, version_id: int, kind: str) -> list[tuple[int, str]]:
    """Queue the version's ``kind`` step (made on first use); nothing when it is already queued or running."""
    step = _step(session, version_id, kind)
    if step is None:
        step = Step(version_id=version_id, kind=kind)
        session.add(step)
    elif step.status in MOVING:
        return []
    step.status, step.attempts, step.error, step.progress, step.enqueued_at = "queued", 0, None, 0.0, utcnow()
    step.worker, step.finished_at = None, None
    session.flush()
    return [(step.id, kind)]


def moving(session: Session, version_id: int) -> str | None:
    """"archive" or "restore" when that move of the version is queued or running."""
    return session.scalar(select(Step.kind).where(Step.version_id == version_id, Step.kind.in_(("archive", "restore")),
                                                  Step.status.in_(MOVING)))


def archive_version(session: Session, settings: Settings, version_id: int, *, by: str, role: str | None,
                    location: str | None = None, renditions: bool | None = None,
                    ip: str | None = None) -> list[tuple[int, str]]:
    """Queue the move of a version's original (and, when ``renditions`` or else the setting says so, its ready
    renditions) to an archive location; return the messages to send after commit.

    Refused under a legal hold (UnderHold) and while the version's steps still read the original (Conflict)."""
    version = session.get(Version, version_id)
    if version is None:
        raise NotFound(f"no version {version_id}")
    refuse_if_held(session, version.asset_id, "archived")
    if version.storage == "archive" or moving(session, version_id) == "archive":
        return []
    if moving(session, version_id) == "restore":
        raise Conflict(f"version {version_id} is being restored from the archive; archive it once that ends")
    busy = session.scalars(select(Step.kind).where(Step.version_id == version_id, Step.kind.not_in(
        ("archive", "restore")), Step.status.in_(("pending", "queued", "running")))).all()
    if busy:
        raise Conflict(f"version {version_id} is still being worked on ({', '.join(sorted(busy))}); "
                       "archive it once those steps end")
    name, _ = settings.archive_location(location)
    version.archive_location = name
    version.archive_renditions = settings.archive_renditions if renditions is None else renditions
    record(session, actor=by, role=role, ip=ip, action="archive", asset_id=version.asset_id, version_id=version_id,
           subject=f"to {name}" + (" with its renditions" if version.archive_renditions else ""))
    return _queue(session, version_id, "archive")


def restore_version(session: Session, version_id: int, *, by: str, role: str | None, why: str,
                    ip: str | None = None) -> list[tuple[int, str]]:
    """Queue the return of an archived original to the library (one restore however many ask)."""
    version = session.get(Version, version_id)
    if version is None:
        raise NotFound(f"no version {version_id}")
    if version.storage == "library" and moving(session, version_id) != "archive":
        return []  # it is in the library
    step = _step(session, version_id, "restore")
    if step is not None and step.status in MOVING:
        return []
    record(session, actor=by, role=role, ip=ip, action="restore", asset_id=version.asset_id, version_id=version_id,
           subject=why)
    if version.storage == "library":
        return []  # being archived: the archive's end sees what waits for the original and asks for it back
    return _queue(session, version_id, "restore")


def move_assets(session: Session, settings: Settings, asset_ids: list[int], action: str, *, by: str,
                role: str | None, why: str, location: str | None = None, renditions: bool | None = None,
                ip: str | None = None) -> tuple[list[Version], list[tuple[Version, str]], list[tuple[int, str]]]:
    """Archive (or restore) every version of the assets, each in a savepoint: (the versions queued, those refused
    with the reason — a hold, a move under way —, the messages to send once the caller's transaction commits)."""
    queued: list[Version] = []
    refused: list[tuple[Version, str]] = []
    messages: list[tuple[int, str]] = []
    for version in versions_of(session, asset_ids):
        try:
            with session.begin_nested():
                sent = archive_version(session, settings, version.id, by=by, role=role, location=location,
                                       renditions=renditions, ip=ip) \
                    if action == "archive" else restore_version(session, version.id, by=by, role=role, why=why, ip=ip)
        except Conflict as exc:
            refused.append((version, str(exc)))
            continue
        messages += sent
        queued += [version] if sent else []
    return queued, refused, messages


def needs_original(session: Session, version_id: int) -> bool:
    """The original is not (or soon no longer) in the library: work that reads it must wait for a restore."""
    version = session.get(Version, version_id)
    return version is not None and (version.storage != "library" or moving(session, version_id) == "archive")


def wait_for_restore(session: Session, step: Step, by: str) -> list[tuple[int, str]]:
    """Park a step that reads the original (a render) until the restore it asks for ends."""
    step.status, step.error = "pending", WAITING_FOR_RESTORE
    session.flush()
    return restore_version(session, step.version_id, by=by, role=None, why=f"{step.kind} waits for it")


def _waiting(session: Session, version_id: int) -> list[Step]:
    return list(session.scalars(select(Step).where(Step.version_id == version_id, Step.rendition_id.is_not(None),
                                                   Step.status == "pending")))


def _library_path(version: Version) -> Path:
    return Path(version.stored_path or "")


def archive_target(settings: Settings, version: Version, source: Path | None = None) -> Path:
    """Where the original (or one of the version's files, ``source``) goes in its archive location: its path under
    the library, kept."""
    _, folder = settings.archive_location(version.archive_location)
    source = source or _library_path(version)
    try:
        relative = source.relative_to(settings.library_dir)
    except ValueError:
        relative = Path(version.content_hash[:2]) / version.content_hash / source.name
    return folder / relative


Moves = list[tuple[int, Path, Path]]  # (rendition id, from, to)


def _renditions_copied(job: Job, to: str) -> Moves:
    """The version's renditions copied, verified, to where its original went: to the archive when the archive was
    asked with them (ready, one file each — an HLS package's folder stays), back to the library when they are
    archived. Nothing is recorded or removed here (the step's store and after do that)."""
    with job.sessions() as session:
        version = session.get(Version, job.claim.version_id)
        assert version is not None
        if to == "archive" and not version.archive_renditions:
            return []
        rows = session.scalars(select(Rendition).where(
            Rendition.version_id == version.id, Rendition.status == "ready", Rendition.path.is_not(None),
            Rendition.storage == ("library" if to == "archive" else "archive")).order_by(Rendition.id)).all()
        moves = [(r.id, Path(r.path or ""), archive_target(job.settings, version, Path(r.path or "")), r.sha256)
                 if to == "archive" else (r.id, Path(r.archive_path or ""), Path(r.path or ""), r.sha256)
                 for r in rows]
    done: Moves = []
    try:
        for rendition_id, source, target, digest in moves:
            if to == "archive" and not source.is_file():
                continue  # an HLS package (a folder) stays in the library
            copy_verified(source, target, digest or "", cancel=job.cancel, read_back=job.settings.archive_verify)
            done.append((rendition_id, source, target))
    except BaseException:  # the move fails whole: no copy it made stays behind
        for _, _, target in done:
            target.unlink(missing_ok=True)
        raise
    return done


def _with_renditions(job: Job, to: str, original_copy: Path) -> Moves:
    """The renditions' copies; when one fails, the original's new copy goes too (the step fails, nothing moved)."""
    try:
        return _renditions_copied(job, to)
    except BaseException:
        original_copy.unlink(missing_ok=True)
        raise


def _record_renditions(session: Session, moves: Moves, to: str) -> None:
    for rendition_id, _, target in moves:
        session.execute(update(Rendition).where(Rendition.id == rendition_id, Rendition.storage != to).values(
            storage=to, archive_path=str(target) if to == "archive" else None))


def _copied(job: Job, to: str) -> Outcome | tuple[Path, Path]:
    """The move's verified copy made (its source and target), or "skipped" when the original is there already."""
    with job.sessions() as session:
        version = session.get(Version, job.claim.version_id)
        assert version is not None
        if version.storage == to:
            return Outcome(status="skipped", note=f"already in the {to}")
        library, archive = _library_path(version), Path(version.archive_path or "")
        source, target = (library, archive_target(job.settings, version)) if to == "archive" else (archive, library)
        content_hash = version.content_hash
    copy_verified(source, target, content_hash, cancel=job.cancel, on_progress=job.report,
                  read_back=job.settings.archive_verify)
    return source, target


def run_archive(job: Job) -> Outcome:
    copied = _copied(job, "archive")
    if isinstance(copied, Outcome):
        return copied
    source, target = copied
    renditions = _with_renditions(job, "archive", target)
    restore_after: list[tuple[int, str]] = []
    moved: list[bool] = []

    def store(session: Session) -> None:
        version = session.get(Version, job.claim.version_id)
        assert version is not None
        if holds_on(session, version.asset_id):  # a hold placed during the copy: nothing moves
            return
        done = session.execute(update(Version).where(Version.id == version.id, Version.storage == "library")
                               .values(storage="archive", archive_path=str(target), archived_at=utcnow()))
        moved.append(done.rowcount == 1)  # type: ignore[attr-defined]
        if moved[0]:
            _record_renditions(session, renditions, "archive")
        if _waiting(session, version.id):  # a render asked while the copy ran: it gets the original back
            restore_after.extend(_queue(session, version.id, "restore"))

    def after(farm: Farm) -> None:
        if moved and moved[0]:
            source.unlink(missing_ok=True)
            for _, library_file, _ in renditions:
                library_file.unlink(missing_ok=True)
        elif not moved:
            log.warning("version %s: a legal hold came during the archive copy; the original stays in the library",
                        job.claim.version_id)
            for path in [target, *(archived for _, _, archived in renditions)]:
                path.unlink(missing_ok=True)
        farm.send(restore_after)

    return Outcome(store, after=after)


def run_restore(job: Job) -> Outcome:
    copied = _copied(job, "library")
    if isinstance(copied, Outcome):
        return copied
    source, restored = copied
    renditions = _with_renditions(job, "library", restored)
    queued: list[tuple[int, str]] = []
    moved: list[bool] = []

    def store(session: Session) -> None:
        done = session.execute(update(Version).where(Version.id == job.claim.version_id, Version.storage == "archive")
                               .values(storage="library", archive_path=None, archived_at=None))
        moved.append(done.rowcount == 1)  # type: ignore[attr-defined]
        _record_renditions(session, renditions, "library")
        for step in _waiting(session, job.claim.version_id):
            step.status, step.error, step.enqueued_at = "queued", None, utcnow()
            queued.append((step.id, step.kind))

    def after(farm: Farm) -> None:
        if moved[0]:
            source.unlink(missing_ok=True)
        for _, archived, _ in renditions:
            archived.unlink(missing_ok=True)
        farm.send(queued)
        if renditions:  # a push target may have waited for them
            push_all_due(farm.sessions)

    return Outcome(store, after=after)


def tidy_moves(farm: Farm, within: timedelta = timedelta(days=7)) -> int:
    """Remove the second copy a move killed between its record and its clean-up left behind (the record says
    which copy is the original's); returns how many were removed."""
    removed = 0
    with farm.sessions() as session:
        rows = session.execute(select(Version).join(Step, Step.version_id == Version.id).where(
            Step.kind.in_(("archive", "restore")), Step.status == "done",
            Step.finished_at > utcnow() - within)).scalars().unique().all()
        for version in rows:
            if moving(session, version.id):
                continue
            if version.storage == "archive" and version.archive_path and Path(version.archive_path).is_file():
                leftover = _library_path(version)
            elif version.storage == "library" and version.archive_location and _library_path(version).is_file():
                leftover = archive_target(farm.settings, version)
            else:
                continue
            if leftover.is_file():
                log.warning("version %s: removing the copy a stopped move left at %s", version.id, leftover)
                leftover.unlink()
                removed += 1
        removed += _tidy_renditions(farm, session, [v for v in rows if not moving(session, v.id)])
    return removed


def _tidy_renditions(farm: Farm, session: Session, versions: list[Version]) -> int:
    """The renditions' second copies a stopped move left (the rendition's row says which copy counts)."""
    removed = 0
    for rendition in session.scalars(select(Rendition).where(
            Rendition.version_id.in_([v.id for v in versions]), Rendition.path.is_not(None))):
        library = Path(rendition.path or "")
        if rendition.storage == "archive":
            kept, leftover = Path(rendition.archive_path or ""), library
        elif rendition.version.archive_location:
            kept, leftover = library, archive_target(farm.settings, rendition.version, library)
        else:
            continue
        if kept.is_file() and leftover.is_file() and kept != leftover:
            log.warning("rendition %s: removing the copy a stopped move left at %s", rendition.id, leftover)
            leftover.unlink()
            removed += 1
    return removed


def versions_of(session: Session, asset_ids: list[int]) -> list[Version]:
    return list(session.scalars(select(Version).where(Version.asset_id.in_(asset_ids)).order_by(Version.id)))


def storage_of(session: Session, version: Version) -> dict[str, object]:
    """Where a version's original is, for the API and the asset page."""
    move = session.scalar(select(Step).where(Step.version_id == version.id, Step.kind.in_(("archive", "restore")),
                                             Step.status.in_(MOVING)))
    last = session.scalar(select(Step).where(Step.version_id == version.id, Step.kind.in_(("archive", "restore")))
                          .order_by(Step.finished_at.desc().nulls_last()).limit(1))
    failed = last.error if last is not None and last.status == "failed" else None
    renditions = dict(session.execute(select(Rendition.storage, func.count()).where(
        Rendition.version_id == version.id, Rendition.status == "ready").group_by(Rendition.storage)).tuples().all())
    return {"tier": version.storage, "location": version.archive_location if version.storage == "archive" else None,
            "archived_at": version.archived_at, "moving": move.kind if move else None,
            "progress": move.progress if move else None, "error": failed,
            "waiting": len(_waiting(session, version.id)),
            "renditions": {"library": renditions.get("library", 0), "archive": renditions.get("archive", 0)}}

