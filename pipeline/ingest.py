"""Ingest one file: hash it while copying it into managed storage (one read), then register it.

The outcome is a new asset, a new version of an existing asset (same name in the same folder,
other content), or a duplicate (content already in the catalog: recorded, not processed again).
An empty or unreadable file goes to the quarantine folder with a ``.reason.txt`` and its asset is
marked ``failed`` with the reason, so the user sees it; nothing else is affected. A new version of an asset under a
legal hold goes there too (the hold names why): the held original stays as it is.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog.collections import collection_named
from catalog.holds import refuse_if_held
from catalog.metadata import count_attention, schema_in_force
from catalog.metadata_values import ingest_values
from catalog.models import Asset, Duplicate, MetadataReject, Version, utcnow
from catalog.policies import retention_at_ingest
from pipeline.farm import Farm
from pipeline.incoming import Arrival
from pipeline.sidecars import Sidecars, read_sidecars
from pipeline.workflow import advance, plan
from rushes.errors import IngestError, UnderHold
from rushes.settings import WatchFolder

log = logging.getLogger(__name__)
CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class IngestResult:
    kind: Literal["new", "version", "duplicate", "quarantined"]
    asset_id: int | None
    version_id: int | None
    name: str
    reason: str | None = None


def copy_and_hash(source: Path, target: Path,
                  on_progress: Callable[[int], None] | None = None) -> tuple[str, int]:
    """Copy ``source`` to ``target`` in one read, returning (sha256 hex, size); ``on_progress`` gets the bytes
    copied so far after each chunk."""
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
            if on_progress is not None:
                on_progress(size)
        dst.flush()
        os.fsync(dst.fileno())
    return digest.hexdigest(), size


def _take_metadata(session: Session, asset_id: int, sidecars: Sidecars) -> None:
    """The sidecars' values into the asset's metadata (weakest source first); what does not fit, and a sidecar
    that cannot be read, is kept aside with the reason: the file goes on all the same."""
    state = schema_in_force(session)
    if state is None:
        return
    for label, reason in sidecars.unreadable.items():
        session.add(MetadataReject(asset_id=asset_id, field="(sidecar)", value=label, source=label, reason=reason))
    for index, (label, given) in enumerate(sidecars.given):
        ingest_values(session, state.schema, asset_id, given, source=label,
                      defaults=index == len(sidecars.given) - 1)
    if not sidecars.given:
        ingest_values(session, state.schema, asset_id, {}, source="defaults")
    if sidecars.unreadable:
        session.flush()
        count_attention(session, asset_id)


def _asset(session: Session, name: str, folder: str, collection: str) -> Asset:
    asset = session.scalar(select(Asset).where(Asset.source_folder == folder, Asset.name == name))
    if asset is None:
        asset = Asset(name=name, source_folder=folder, collection=collection_named(session, collection))
        session.add(asset)
        session.flush()
    return asset


class Ingester:
    """Registers files for one farm; used by the watcher and by ``rushes ingest``."""

    def __init__(self, farm: Farm) -> None:
        self.farm = farm
        self.settings = farm.settings

    def ingest(self, source: Path, folder: WatchFolder, *, name: str | None = None,
               consume: bool = True) -> IngestResult:
        name = name or source.name
        try:
            size = source.stat().st_size
            if size == 0:
                raise IngestError("empty file (0 bytes)")
            incoming = self.settings.incoming_dir / f"{uuid.uuid4().hex}.part"
            arrival = Arrival(self.farm, name, folder.name, size)
            try:
                content_hash, size = copy_and_hash(source, incoming, arrival.copied)
            except OSError as exc:
                incoming.unlink(missing_ok=True)
                raise IngestError(f"cannot read the file: {exc.strerror or exc}") from exc
            finally:
                arrival.done()
        except (IngestError, OSError) as exc:
            return self.quarantine(source, folder, name, str(exc), consume=consume)
        sidecars = read_sidecars(source)
        try:
            result = self._register(incoming, folder, name, content_hash, size, source, sidecars)
        except UnderHold as exc:  # a new original for a held asset: kept aside, not taken in
            return self.quarantine(source, folder, name, str(exc), consume=consume)
        finally:
            incoming.unlink(missing_ok=True)
        if consume:
            source.unlink(missing_ok=True)
            for path in sidecars.consumed:  # shoot CSVs stay: they name other files too
                path.unlink(missing_ok=True)
        log.info("ingested %s from %s: %s (asset %s)", name, folder.name, result.kind, result.asset_id)
        return result

    def _register(self, incoming: Path, folder: WatchFolder, name: str, content_hash: str, size: int,
                  source: Path, sidecars: Sidecars) -> IngestResult:
        for _ in range(3):  # a race on the same content ends as a duplicate on the next round
            try:
                with self.farm.transaction() as session:
                    result, messages = self._register_in(session, incoming, folder, name, content_hash,
                                                          size, source, sidecars)
                self.farm.send(messages)
                self.farm.nudge()  # a new version: the rules and webhooks look now
                return result
            except IntegrityError:
                log.info("concurrent ingest of %s; checking again", name)
        raise IngestError(f"could not register {name}: the catalog kept refusing it")

    def _register_in(self, session: Session, incoming: Path, folder: WatchFolder, name: str,
                     content_hash: str, size: int, source: Path, sidecars: Sidecars,
                     ) -> tuple[IngestResult, list[tuple[int, str]]]:
        existing = session.scalar(select(Version).where(Version.content_hash == content_hash))
        if existing is not None:
            session.add(Duplicate(version_id=existing.id, original_name=name, source_folder=folder.name,
                                  size=size))
            return IngestResult("duplicate", existing.asset_id, existing.id, name), []
        asset = _asset(session, name, folder.name, self.settings.collection_of(folder))
        number = (session.scalar(select(func.max(Version.number)).where(Version.asset_id == asset.id)) or 0) + 1
        if number > 1:
            refuse_if_held(session, asset.id, "given a new version (its original replaced)")
        else:
            retention_at_ingest(session, asset)  # its collection's policy keeps it at least so long
        version = Version(asset_id=asset.id, number=number, content_hash=content_hash, size=size,
                          original_name=source.name, source_folder=folder.name, source_path=str(source),
                          sidecar=sidecars.json, status="queued")
        session.add(version)
        session.flush()
        workdir = self.settings.library_dir / str(asset.id) / str(number)
        workdir.mkdir(parents=True, exist_ok=True)
        stored = workdir / f"original{source.suffix.lower()}"
        os.replace(incoming, stored)
        version.stored_path = str(stored)
        _take_metadata(session, asset.id, sidecars)
        plan(session, version, self.settings.steps)
        messages = advance(session, version.id)
        kind: Literal["new", "version"] = "new" if number == 1 else "version"
        return IngestResult(kind, asset.id, version.id, name), messages

    def quarantine(self, source: Path, folder: WatchFolder, name: str, reason: str, *,
                   consume: bool = True) -> IngestResult:
        """Move (or copy) a file that cannot be ingested aside with its reason; mark its asset failed."""
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        target = self.settings.quarantine_dir / f"{stamp}-{uuid.uuid4().hex[:6]}-{source.name}"
        try:
            if consume:
                shutil.move(source, target)
            elif source.exists():
                shutil.copyfile(source, target)
        except OSError as exc:
            log.warning("could not move %s to quarantine: %s", source, exc)
        target.with_name(target.name + ".reason.txt").write_text(
            f"{source}\n{reason}\n", encoding="utf-8")
        where = f"quarantine/{target.name}"
        with self.farm.transaction() as session:
            asset = _asset(session, name, folder.name, self.settings.collection_of(folder))
            if not asset.versions:
                asset.status = "failed"
            asset.error = f"{reason}; moved to {where}"
            asset.updated_at = utcnow()
            asset_id = asset.id
        log.warning("quarantined %s: %s", source, reason)
        return IngestResult("quarantined", asset_id, None, name, reason)
