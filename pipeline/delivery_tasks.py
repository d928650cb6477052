"""The render task: make a rendition to its preset, check it against the preset, then let targets take it.

A rendition that fails QC is stored ``rejected`` with its report and never reaches a target. The file is
written under a temporary name and renamed only once it verified, so a killed render leaves nothing a
target could take; the re-run removes the leftover part.
"""

from __future__ import annotations

import hashlib
import shutil
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from analyzers.probe import MediaInfo
from catalog.models import Rendition, utcnow
from delivery.presets import Preset, load_preset
from delivery.qc import QCReport, check
from pipeline.jobs import Job, Outcome
from pipeline.renditions import deliver_due
from rushes.errors import MediaError, OutputError
from transcoders.outputs import clean_stale_parts
from transcoders.rendition import RenditionResult, SourceFacts, render

if TYPE_CHECKING:
    from pipeline.farm import Farm

CHUNK = 4 * 1024 * 1024


def source_facts(info: MediaInfo) -> SourceFacts:
    """What the renderer needs to know of the source, from its probe."""
    video = info.primary_video
    audio = info.audio[0] if info.audio else None
    return SourceFacts(
        width=video.width if video else 0, height=video.height if video else 0,
        sar=(video.sar or Fraction(1)) if video else Fraction(1), rotation=video.rotation if video else 0,
        frame_rate=(video.frame_rate or None) if video else None,
        field_order=(video.field_order or "progressive") if video else "progressive", has_audio=audio is not None,
        duration_s=info.duration_s, start_timecode=info.start_timecode,
        drop_frame=info.drop_frame, audio_channels=audio.channels if audio else None,
    )


def check_rendition(result: RenditionResult, preset: Preset, facts: SourceFacts) -> QCReport:
    """QC of what :func:`render` wrote, against the source it came from (its length, timecode and rate); the
    renderer's word on the sound (silent or absent) and on how the loudness target was met goes with it."""
    return check(result.path, preset, expected_duration_s=facts.duration_s,
                 source_start_timecode=facts.start_timecode, source_frame_rate=facts.frame_rate,
                 source_drop_frame=facts.drop_frame, source_sound=result.sound,
                 loudness_method=result.leveling.describe() if result.leveling is not None else None)


def sha256_of(path: Path) -> str:
    """Of a file, or of an HLS folder (every file, in name order)."""
    digest = hashlib.sha256()
    for part in sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]:
        with part.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def run_render(job: Job) -> Outcome:
    rendition_id = job.claim.rendition_id
    assert rendition_id is not None, "a render step names its rendition"
    with job.sessions() as session:
        rendition = session.get(Rendition, rendition_id)
        assert rendition is not None
        preset_name, preset_hash = rendition.preset, rendition.preset_hash
    version, info = job.version(), job.media_info()
    preset = load_preset(preset_name)
    if preset.content_hash != preset_hash:
        return _finished(rendition_id, "failed", error=f"preset {preset_name} changed since it was asked for; "
                                                          "ask for the rendition again")
    folder = Path(version.stored_path or "").parent / "renditions"
    folder.mkdir(exist_ok=True)
    stem = f"{rendition_id}-{preset_name.replace('/', '-')}"
    clean_stale_parts(folder, stem)
    for stale in folder.glob(f".{stem}*"):  # an HLS package's staging folder
        shutil.rmtree(stale, ignore_errors=True)
    target = folder / stem / "master.m3u8" if preset.container == "hls" else folder / f"{stem}.{preset.extension}"
    facts = source_facts(info)
    subtitles = Path(version.stored_path or "").parent / "transcript.srt"
    try:
        result = render(version.stored_path or "", target, preset, source=facts,
                        subtitles=subtitles if subtitles.is_file() else None, on_progress=job.report,
                        timeout=job.settings.ffmpeg_timeout_s, cancel=job.cancel)
        report = check_rendition(result, preset, facts)
    except (MediaError, OutputError) as exc:
        return _finished(rendition_id, "failed", error=str(exc))
    published = result.path.parent if preset.container == "hls" else result.path
    return _finished(rendition_id, "ready" if report.passed else "rejected", path=published,
                     qc=report.to_dict(), deliver=report.passed,
                     error=None if report.passed else "QC failed: " + "; ".join(
                         c.sentence() for c in report.failures))


def _finished(rendition_id: int, status: str, *, path: Path | None = None, qc: dict[str, Any] | None = None,
              error: str | None = None, deliver: bool = False) -> Outcome:
    size = size_of(path) if path else None
    digest = sha256_of(path) if path else None

    def store(session: Session) -> None:
        rendition = session.get(Rendition, rendition_id)
        assert rendition is not None
        rendition.status, rendition.error, rendition.qc = status, error, qc
        rendition.path = str(path) if path else None
        rendition.size, rendition.sha256, rendition.finished_at = size, digest, utcnow()

    def push(farm: Farm) -> None:
        deliver_due(farm)

    return Outcome(store, after=push if deliver else None)
