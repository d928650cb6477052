"""Asking for renditions and approving versions: the orchestration around ``delivery/``.

A rendition is keyed by (the version's content hash, the preset's content hash, the tool versions):
asking twice renders once; changing the preset (or ffmpeg) renders again.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

import rushes
from catalog.audit import record as audit_record
from catalog.models import Rendition, Step, Version, utcnow
from delivery.presets import Preset, load_preset
from delivery.pushes import push_all_due
from delivery.targets import record
from pipeline.farm import Farm
from pipeline.lifecycle import needs_original, restore_version, wait_for_restore
from pipeline.workflow import render_kind
from rushes.errors import NotReady
from transcoders.ffmpeg import ffmpeg_version


def tools() -> str:
    return f"ffmpeg {ffmpeg_version()}; rushes {rushes.__version__}"


def rendition_key(content_hash: str, preset_hash: str, tool_versions: str) -> str:
    return hashlib.sha256(f"{content_hash}\n{preset_hash}\n{tool_versions}".encode()).hexdigest()


def request_rendition(farm: Farm, version_id: int, preset_name: str, requested_by: str, *, role: str | None = None,
                      ip: str | None = None) -> tuple[int, bool]:
    """Queue a rendition of ``version_id`` to ``preset_name``; return (rendition id, whether it is new work).

    The request goes to the audit trail (who, ``role``, from ``ip``) with the delivery log."""
    preset = load_preset(preset_name)
    with farm.transaction() as session:
        rendition_id, new, messages = queue_rendition(session, version_id, preset, requested_by, role=role, ip=ip)
    farm.send(messages)
    return rendition_id, new


def queue_rendition(session: Session, version_id: int, preset: Preset, requested_by: str, *,
                    role: str | None = None, ip: str | None = None) -> tuple[int, bool, list[tuple[int, str]]]:
    """:func:`request_rendition` in the caller's transaction: (rendition id, new work, the messages to send once it
    commits — a message lost with a dead process is sent again by the reconciler)."""
    version = session.get(Version, version_id)
    if version is None or version.status != "ready":
        state = "missing" if version is None else version.status
        raise NotReady(f"version {version_id} is {state}; only a ready version can be rendered")
    key = rendition_key(version.content_hash, preset.content_hash, tools())
    rendition = session.scalar(select(Rendition).where(Rendition.key == key))
    if rendition is not None and rendition.status != "failed":
        audit_record(session, actor=requested_by, role=role, ip=ip, action="render", asset_id=version.asset_id,
                     version_id=version_id, subject=f"{preset.name}: rendition {rendition.id} (already made)")
        return rendition.id, False, []
    if rendition is None:
        rendition = Rendition(version_id=version_id, preset=preset.name, preset_hash=preset.content_hash,
                              tools=tools(), key=key, requested_by=requested_by)
        session.add(rendition)
        session.flush()
    messages = _queue_step(session, rendition)
    record(session, requested_by, "render", rendition_id=rendition.id, detail=preset.name)
    audit_record(session, actor=requested_by, role=role, ip=ip, action="render", asset_id=version.asset_id,
                 version_id=version_id, subject=f"{preset.name}: rendition {rendition.id}")
    return rendition.id, True, messages


def _queue_step(session: Session, rendition: Rendition) -> list[tuple[int, str]]:
    kind = render_kind(rendition.id)
    step = session.scalar(select(Step).where(Step.rendition_id == rendition.id))
    if step is None:
        step = Step(version_id=rendition.version_id, kind=kind, rendition_id=rendition.id)
        session.add(step)
    step.status, step.attempts, step.error, step.progress, step.enqueued_at = "queued", 0, None, 0.0, utcnow()
    rendition.status, rendition.error = "queued", None
    session.flush()
    if needs_original(session, rendition.version_id):  # archived: the render waits for one restore
        return wait_for_restore(session, step, by=rendition.requested_by or "rushes")
    return [(step.id, kind)]


def deliver_due(farm: Farm) -> None:
    """Push what is due to push targets (idempotent: each pair is pushed once); a rendition due that is in the
    archive asks for its version's restore (one however many ask), and is pushed when it is back."""
    archived = push_all_due(farm.sessions).archived
    if not archived:
        return
    messages: list[tuple[int, str]] = []
    with farm.transaction() as session:
        for rendition_id, version_id in archived.items():
            messages += restore_version(session, version_id, by="rushes", role=None,
                                        why=f"a push of rendition {rendition_id} waits for it")
    farm.send(messages)
