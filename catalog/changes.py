"""What changed between two versions of an asset: file, picture, sound, timecode, shots, words, loudness."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.models import MediaInfoRow, QCReport, Scene, Transcript, TranscriptSegment, Version


@dataclass(frozen=True, slots=True)
class Change:
    field: str
    label: str
    before: Any
    after: Any


# (field, label) in the order a person reads them
FIELDS = (
    ("content_hash", "content (SHA-256)"),
    ("size", "file size (bytes)"),
    ("original_name", "original file name"),
    ("duration_s", "duration (s)"),
    ("resolution", "picture size"),
    ("frame_rate", "frame rate"),
    ("scan_type", "scan type"),
    ("video_codec", "video codec"),
    ("audio_codec", "audio codec"),
    ("audio_channels", "audio channels"),
    ("audio_sample_rate", "audio sample rate (Hz)"),
    ("start_timecode", "start timecode"),
    ("scene_count", "shots"),
    ("transcript", "transcript (words)"),
    ("integrated_lufs", "integrated loudness (LUFS)"),
)


def facts(session: Session, version: Version) -> dict[str, Any]:
    """The comparable facts of one version (None where unknown); ``transcript`` is (text, word count) or None."""
    info = session.get(MediaInfoRow, version.id)
    probe = (info.info or {}) if info else {}
    video = (probe.get("video") or [{}])[0]
    audio = (probe.get("audio") or [{}])[0]
    qc = session.get(QCReport, version.id)
    transcript = None
    if session.get(Transcript, version.id) is not None:
        text = " ".join(session.scalars(select(TranscriptSegment.text).where(
            TranscriptSegment.version_id == version.id).order_by(TranscriptSegment.index)))
        transcript = (" ".join(text.split()), len(text.split()))
    return {
        "content_hash": version.content_hash,
        "size": version.size,
        "original_name": version.original_name,
        "duration_s": round(info.duration_s, 3) if info and info.duration_s is not None else None,
        "resolution": f"{info.width}×{info.height}" if info and info.width and info.height else None,
        "frame_rate": info.frame_rate if info else None,
        "scan_type": video.get("scan_type") or video.get("field_order"),
        "video_codec": info.video_codec if info else None,
        "audio_codec": info.audio_codec if info else None,
        "audio_channels": audio.get("channels"),
        "audio_sample_rate": audio.get("sample_rate"),
        "start_timecode": info.start_timecode if info else None,
        "scene_count": session.scalar(select(func.count(Scene.id)).where(Scene.version_id == version.id)),
        "transcript": transcript,
        "integrated_lufs": round(qc.integrated_lufs, 1) if qc and qc.integrated_lufs is not None else None,
    }


def changes(session: Session, before: Version, after: Version) -> list[Change]:
    """Only the fields that differ. A transcript is listed when its words differ, with both word counts.
    Loudness is compared only when both versions were measured."""
    old, new = facts(session, before), facts(session, after)
    out = []
    for field, label in FIELDS:
        a, b = old[field], new[field]
        if field == "integrated_lufs" and (a is None or b is None):
            continue
        if a == b:
            continue
        if field == "transcript":
            a, b = (a[1] if a else None), (b[1] if b else None)
        out.append(Change(field, label, a, b))
    return out
