"""What a rule's condition reads of an asset (see ``pipeline/rules/conditions.py``): made from the catalog for one
version, the same for a dry run and for a real one."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.db import one_of
from catalog.metadata_schema import Schema
from catalog.metadata_values import plain
from catalog.models import (
    Asset,
    AssetCollection,
    Collection,
    MediaInfoRow,
    MetadataValue,
    Scene,
    TagDecision,
    Version,
)
from catalog.rights import as_utc, effective_for
from catalog.tag_trust import trusted
from catalog.views import media_kind
from pipeline.rules.conditions import context_of
from pipeline.rules.events import Event

BATCH = 500  # events whose facts are read together


def _rate(text: str | None) -> float | None:
    try:
        return float(Fraction(text)) if text else None
    except (ValueError, ZeroDivisionError):
        return None


def facts(session: Session, asset: Asset, version: Version, schema: Schema | None, min_confidence: float,
          event: dict[str, Any]) -> dict[str, Any]:
    return {**facts_for(session, [(asset, version)], schema, min_confidence)[version.id], "event": event}


def facts_for(session: Session, pairs: Sequence[tuple[Asset, Version]], schema: Schema | None,
              min_confidence: float) -> dict[int, dict[str, Any]]:
    """The facts of many versions at once (a query a kind of fact, whatever their number): {version id: facts}
    without the event, which each event adds."""
    if not pairs:
        return {}
    version_ids = [version.id for _, version in pairs]
    asset_ids = list({asset.id for asset, _ in pairs})
    # plain rows, not ORM objects (read-only here: a batch's thousands of rows cost a tenth as much); they carry the
    # attributes media_kind and plain read
    infos = {row.version_id: cast(MediaInfoRow, row) for row in session.execute(
        select(*MediaInfoRow.__table__.columns).where(one_of(session, MediaInfoRow.version_id, version_ids)))}
    own = dict(session.execute(select(Asset.id, Collection.name).join(Collection, Collection.id == Asset.collection_id)
                               .where(one_of(session, Asset.id, asset_ids))).tuples().all())
    added: dict[int, list[str]] = {}
    for asset_id, name in session.execute(
            select(AssetCollection.asset_id, Collection.name)
            .join(Collection, Collection.id == AssetCollection.collection_id)
            .where(one_of(session, AssetCollection.asset_id, asset_ids)).order_by(Collection.name)).tuples():
        added.setdefault(asset_id, []).append(name)
    values: dict[int, dict[str, list[MetadataValue]]] = {}
    for row in session.execute(select(MetadataValue.asset_id, MetadataValue.field, MetadataValue.value,
                                      MetadataValue.long, MetadataValue.number)
                               .where(one_of(session, MetadataValue.asset_id, asset_ids),
                                      MetadataValue.log_id.is_(None))
                               .order_by(MetadataValue.id)):
        values.setdefault(row.asset_id, {}).setdefault(row.field, []).append(cast(MetadataValue, row))
    decisions: dict[int, dict[int, dict[str, str]]] = {}
    for decision in session.scalars(select(TagDecision).where(one_of(session, TagDecision.version_id, version_ids))):
        decisions.setdefault(decision.version_id, {}).setdefault(decision.scene_index, {})[decision.label] = \
            decision.decision
    labels: dict[int, set[str]] = {}
    for version_id, index, tags in session.execute(select(Scene.version_id, Scene.index, Scene.tags)
                                                   .where(one_of(session, Scene.version_id, version_ids))).tuples():
        shown, _hidden = trusted((tags or {}).get("labels") or [], decisions.get(version_id, {}).get(index, {}),
                                 min_confidence)
        labels.setdefault(version_id, set()).update(label for label, _score in shown)
    rights_of = effective_for(session, [(version.id, asset.id) for asset, version in pairs])
    out: dict[int, dict[str, Any]] = {}
    for asset, version in pairs:
        info = infos.get(version.id)
        probe = (info.info or {}) if info else {}
        audio = (probe.get("audio") or [{}])[0]
        rows = values.get(asset.id, {})
        metadata: dict[str, Any] = {}
        if schema is not None:
            for key, f in schema.fields.items():
                value = plain(schema, key, rows[key]) if key in rows else None
                metadata[key] = value if value is not None else ([] if f.multiple else None)
        rights = rights_of.get(version.id)
        end = as_utc(rights.window_end) if rights is not None else None
        collection = own.get(asset.id, "")
        out[version.id] = {
            "asset": {"id": asset.id, "name": asset.name, "collection": collection,
                      "collections": [collection, *added.get(asset.id, [])], "kind": media_kind(info),
                      "status": asset.status, "version": version.number, "folder": version.source_folder},
            "metadata": metadata,
            "tags": sorted(labels.get(version.id, set())),
            "media": {"duration_s": info.duration_s if info else None, "width": info.width if info else None,
                      "height": info.height if info else None,
                      "frame_rate": _rate(info.frame_rate if info else None),
                      "video_codec": info.video_codec if info else None,
                      "audio_codec": info.audio_codec if info else None, "audio_channels": audio.get("channels"),
                      "has_video": bool(info and info.width), "has_audio": bool(info and info.audio_codec),
                      "start_timecode": info.start_timecode if info else None},
            "rights": {"set": rights is not None, "territories": (rights.territories or []) if rights else [],
                       "channels": (rights.channels or []) if rights else [],
                       "window_end": end.isoformat() if end else None,
                       "model_release": bool(rights.model_release) if rights else False},
        }
    return out


def event_contexts(session: Session, events: Sequence[Event], schema: Schema | None,
                   min_confidence: float) -> dict[str, Any]:
    """Each event's CEL context (its version's facts and the event), read ``BATCH`` events together; an event whose
    asset or version is gone has none."""
    contexts: dict[str, Any] = {}
    for start in range(0, len(events), BATCH):
        chunk = events[start:start + BATCH]
        assets = {a.id: a for a in session.scalars(select(Asset).where(
            one_of(session, Asset.id, {e.asset_id for e in chunk})))}
        versions = {v.id: v for v in session.scalars(select(Version).where(
            one_of(session, Version.id, {e.version_id for e in chunk})))}
        known = [e for e in chunk if e.asset_id in assets and e.version_id in versions]
        facts_of = facts_for(session, list({e.version_id: (assets[e.asset_id], versions[e.version_id])
                                            for e in known}.values()), schema, min_confidence)
        contexts |= {e.key: context_of({**facts_of[e.version_id], "event": e.carried()}) for e in known}
    return contexts
