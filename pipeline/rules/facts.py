"""What a rule's condition reads of an asset (see ``pipeline/rules/conditions.py``): made from the catalog for one
version, the same for a dry run and for a real one."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.collections import collections_of
from catalog.metadata_schema import Schema
from catalog.metadata_values import plain, stored_values
from catalog.models import Asset, MediaInfoRow, Scene, Version
from catalog.rights import as_utc, effective
from catalog.tag_trust import decisions_of, trusted
from catalog.views import media_kind


def _rate(text: str | None) -> float | None:
    try:
        return float(Fraction(text)) if text else None
    except (ValueError, ZeroDivisionError):
        return None


def facts(session: Session, asset: Asset, version: Version, schema: Schema | None, min_confidence: float,
          event: dict[str, Any]) -> dict[str, Any]:
    info = session.get(MediaInfoRow, version.id)
    probe = (info.info or {}) if info else {}
    audio = (probe.get("audio") or [{}])[0]
    where = collections_of(session, asset)
    rows = stored_values(session, asset.id, []).get(None, {})
    metadata: dict[str, Any] = {}
    if schema is not None:
        for key, f in schema.fields.items():
            value = plain(schema, key, rows[key]) if key in rows else None
            metadata[key] = value if value is not None else ([] if f.multiple else None)
    decisions = decisions_of(session, version.id)
    labels: set[str] = set()
    for scene in session.scalars(select(Scene).where(Scene.version_id == version.id)):
        shown, _hidden = trusted((scene.tags or {}).get("labels") or [], decisions.get(scene.index, {}),
                                 min_confidence)
        labels.update(label for label, _score in shown)
    rights, _level = effective(session, version)
    end = as_utc(rights.window_end) if rights is not None else None
    return {
        "asset": {"id": asset.id, "name": asset.name, "collection": where["collection"],
                  "collections": [where["collection"], *where["also_in"]], "kind": media_kind(info),
                  "status": asset.status, "version": version.number},
        "metadata": metadata,
        "tags": sorted(labels),
        "media": {"duration_s": info.duration_s if info else None, "width": info.width if info else None,
                  "height": info.height if info else None, "frame_rate": _rate(info.frame_rate if info else None),
                  "video_codec": info.video_codec if info else None,
                  "audio_codec": info.audio_codec if info else None, "audio_channels": audio.get("channels"),
                  "has_video": bool(info and info.width), "has_audio": bool(info and info.audio_codec),
                  "start_timecode": info.start_timecode if info else None},
        "rights": {"set": rights is not None, "territories": (rights.territories or []) if rights else [],
                   "channels": (rights.channels or []) if rights else [],
                   "window_end": end.isoformat() if end else None,
                   "model_release": bool(rights.model_release) if rights else False},
        "event": {"type": None, "field": None, "label": None, "decision": None, "channel": None, "preset": None,
                  "target": None, **event},
    }
