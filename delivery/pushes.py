"""Pushes to folder targets, each (target, rendition) pair once, without holding the catalog while files are copied.

A sweep runs in three parts under the farm's push lock (so two sweeps never push the same pair): a short
transaction decides what is due (and logs what the rights refuse), the files are copied with no transaction open,
and a second short transaction records each push (``ok`` or ``failed: <reason>``) and audits it. On SQLite a
transaction holds the only write lock: a rendition of some gigabytes copied inside one stopped every writer of the
farm — workers' heartbeats, people's saves — for as long as the copy took.

The push lock is PostgreSQL's session advisory lock on a connection of its own (every machine of the farm), or on
SQLite a ``flock`` on a file beside the catalog (every process of the one machine).
"""

from __future__ import annotations

import fcntl
import json
import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from catalog.audit import record as audit_record
from catalog.models import DeliveryEvent, Rendition, Target
from catalog.rights import Verdict
from delivery.targets import delivered_name, eligible, judge, manifest, record
from transcoders.outputs import atomic_output

log = logging.getLogger(__name__)
LOCK_KEY = 727275  # PostgreSQL advisory lock: the farm's push sweep


@dataclass(frozen=True)
class Push:
    """One due push, read in the sweep's first transaction: what to copy where, and its manifest."""

    target: str
    folder: Path
    rendition_id: int
    version_id: int
    source: Path
    name: str
    manifest: dict[str, Any]


@dataclass
class Swept:
    """What a sweep did: the files written, and the renditions due that wait in the archive (by id: version id)."""

    written: list[Path]
    archived: dict[int, int]


def push_all_due(sessions: sessionmaker[Session], at: datetime | None = None) -> Swept:
    """Push everything due; each push is logged (a failure too, with its reason) and the rest go on.

    A pair the rights refuse is logged as ``refused`` with the reason and tried again on the next sweep. A
    rendition due that went to the archive with its original waits (``archived``: the caller asks its restore).
    """
    with push_lock(sessions):
        with sessions() as session, session.begin():
            pairs = unpushed(session, at)
            log_refusals(session, [p for p in pairs if not p[2].allowed])
            due = [(t, r) for t, r, v in pairs if v.allowed]
            archived = {r.id: r.version_id for _, r in due if r.storage == "archive"}  # pushed once it is back
            pushes = [Push(t.name, Path(t.folder or ""), r.id, r.version_id, Path(r.path or ""), delivered_name(r),
                           manifest(r)) for t, r in due if r.storage != "archive"]
        done: list[tuple[Push, Path | None, str | None]] = []
        for push in pushes:  # no transaction open: the catalog is free while the files are copied
            try:
                done.append((push, copy_out(push), None))
            except OSError as exc:
                log.warning("push of rendition %s to %s failed: %s", push.rendition_id, push.target, exc)
                done.append((push, None, str(exc)))
        if done:
            with sessions() as session, session.begin():
                for push, _, error in done:
                    record(session, "system", "push", target=push.target, rendition_id=push.rendition_id,
                           detail="ok" if error is None else f"failed: {error}")
                    if error is None:
                        audit_record(session, actor="system", action="deliver", version_id=push.version_id,
                                     subject=f"push to {push.target}: rendition {push.rendition_id}")
    return Swept([path for _, path, _ in done if path is not None], archived)


def unpushed(session: Session, at: datetime | None = None) -> list[tuple[Target, Rendition, Verdict]]:
    """Every (push target, eligible rendition) pair not pushed yet, with its rights verdict."""
    done = {(e.target, e.rendition_id) for e in session.scalars(
        select(DeliveryEvent).where(DeliveryEvent.action == "push", DeliveryEvent.detail == "ok"))}
    return [(target, rendition, v) for target in session.scalars(select(Target).where(Target.kind == "push"))
            for rendition, v in judge(session, target, eligible(session, target), at)
            if (target.name, rendition.id) not in done]


def log_refusals(session: Session, refused: list[tuple[Target, Rendition, Verdict]]) -> None:
    """Log each refused push once per reason: the same refusal on the next sweep is not logged again."""
    if not refused:
        return
    latest: dict[tuple[str | None, int | None], str | None] = {}
    for event in session.scalars(select(DeliveryEvent).where(
            DeliveryEvent.action == "refused", DeliveryEvent.rendition_id.in_({r.id for _, r, _ in refused}))
            .order_by(DeliveryEvent.id)):
        latest[(event.target, event.rendition_id)] = event.detail
    for target, rendition, v in refused:
        if latest.get((target.name, rendition.id)) != v.reason:
            log.info("push of rendition %s to %s refused: %s", rendition.id, target.name, v.reason)
            record(session, "system", "refused", target=target.name, rendition_id=rendition.id, detail=v.reason)
            audit_record(session, actor="system", action="deliver", outcome="denied", version_id=rendition.version_id,
                         subject=f"push to {target.name}: rendition {rendition.id}", detail=v.reason)


def copy_out(push: Push) -> Path:
    """Copy the rendition into the target's folder (temp name, then rename) and write its manifest after."""
    push.folder.mkdir(parents=True, exist_ok=True)
    final = push.folder / push.name
    if push.source.is_dir():  # an HLS package: copy the folder, then rename it into place
        staging = push.folder / f".{final.name}.part"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(push.source, staging)
        shutil.rmtree(final, ignore_errors=True)
        staging.rename(final)
    else:
        with atomic_output(final) as part:
            shutil.copyfile(push.source, part)
    with atomic_output(final.with_name(final.name + ".json")) as part:
        part.write_text(json.dumps(push.manifest, indent=2), encoding="utf-8")
    return final


@contextmanager
def push_lock(sessions: sessionmaker[Session]) -> Iterator[None]:
    """One push sweep at a time across the farm (see the module's text)."""
    engine = sessions.kw["bind"]
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                conn.commit()
        return
    with open(f"{engine.url.database}.push-lock", "a") as handle:  # beside the catalog's file
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
