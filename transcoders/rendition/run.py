"""Running a render: measure, render, verify, and replace the output atomically (a file, or an HLS folder)."""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rushes.errors import OutputError
from transcoders.ffmpeg import ProgressCallback, run_ffmpeg
from transcoders.outputs import VerifiedMedia, atomic_output, verify_media
from transcoders.rendition.command import _rungs, expected_duration, render_args, rung_name
from transcoders.rendition.geometry import output_timecode
from transcoders.rendition.graphs import _out_rate, mono_tracks, plan_leveling
from transcoders.rendition.loudness import calibrate_limiter, measure_loudness
from transcoders.rendition.specs import (
    _DECODED_AUDIO,
    _TIMECODE_CONTAINERS,
    MEASURE_FRACTION,
    SOURCE_SILENT,
    SOURCE_WITHOUT_SOUND,
    LoudnessMeasurement,
    PathLike,
    PresetLike,
    RenditionResult,
    SourceFacts,
)

logger = logging.getLogger(__name__)


def has_cues(subtitles: PathLike) -> bool:
    """Whether an SRT file holds at least one cue: a clip without speech has an empty transcript.srt, which
    ffmpeg's subtitles filter refuses ("Invalid data found when processing input")."""
    try:
        with open(subtitles, encoding="utf-8", errors="replace") as lines:
            return any("-->" in line for line in lines)
    except OSError:
        return False


def render(
    src: PathLike,
    dst: PathLike,
    preset: PresetLike,
    *,
    source: SourceFacts,
    measured: LoudnessMeasurement | None = None,
    subtitles: PathLike | None = None,
    on_progress: ProgressCallback | None = None,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
) -> RenditionResult:
    """Render ``src`` to ``preset`` at ``dst``; ``dst`` appears only once the output verified.

    ``measured`` skips pass 1 (a caller that already measured the same stretch with the same mix). When a plain
    gain to the loudness target would break the true-peak ceiling, a limiter holds it (calibrated in one more
    audio-only pass, :func:`~transcoders.rendition.loudness.calibrate_limiter`);
    ``subtitles`` (an SRT file) is burnt in when the preset asks for burnt-in captions. ``timeout`` bounds
    both passes together. Raises :class:`~rushes.errors.FFmpegError` or :class:`~rushes.errors.OutputError`.
    """
    started = time.monotonic()
    deadline = started + timeout if timeout is not None else None
    duration = expected_duration(source, preset)
    wants_loudness = preset.loudness is not None and preset.audio is not None and source.has_audio
    split = MEASURE_FRACTION if wants_loudness and measured is None else 0.0
    if wants_loudness and measured is None:
        measured = measure_loudness(
            src,
            preset,
            source,
            duration_s=duration,
            on_progress=_scaled(on_progress, 0.0, split),
            timeout=_remaining(deadline),
            cancel=cancel,
        )
        logger.info("%s: measured %.2f LUFS, %.2f dBTP", preset.name, measured.integrated_lufs, measured.true_peak_dbtp)
    leveling = plan_leveling(measured, preset) if wants_loudness and measured is not None else None
    if leveling is not None and leveling.limit_dbtp is not None:
        leveling = calibrate_limiter(src, preset, source, leveling, duration_s=duration,
                                     timeout=_remaining(deadline), cancel=cancel)
    if leveling is not None:
        logger.info("%s: %s", preset.name, leveling.describe())
    if preset.captions.burn_in and (subtitles is None or not has_cues(subtitles)):
        logger.info("%s: burnt-in captions asked but no subtitles with a cue (no transcript, or no speech); "
                    "rendering without", preset.name)
        subtitles = None
    pass2 = _scaled(on_progress, split, 1.0)
    if preset.container == "hls":
        with _atomic_folder(Path(dst).parent) as folder:
            part = folder / Path(dst).name
            args = render_args(src, part, preset, source=source, leveling=leveling, subtitles=subtitles)
            run = run_ffmpeg(
                args,
                duration_s=duration,
                on_progress=pass2,
                timeout=_remaining(deadline),
                cancel=cancel,
                stderr_lines=None,
            )
            variants = [folder / f"{rung_name(source, r)}.m3u8" for r in _rungs(preset)]
            durations = [_verify(v, preset, source, duration, audio=False).duration_s or 0.0 for v in variants]
            if preset.audio is not None:
                variants.append(folder / "audio.m3u8")
                durations.append(_verify(variants[-1], preset, source, duration, video=False).duration_s or 0.0)
            if not part.is_file():
                raise OutputError(f"{Path(dst).name}: no master playlist written")
            size = sum(p.stat().st_size for p in folder.iterdir())
        final = Path(dst)
        return RenditionResult(
            final,
            preset.name,
            min(durations),
            size,
            time.monotonic() - started,
            measured,
            leveling,
            None,
            tuple(run.argv),
            tuple(final.parent / v.name for v in variants),
            _sound(preset, source, measured),
        )
    final = Path(dst)
    with atomic_output(final) as part:
        args = render_args(src, part, preset, source=source, leveling=leveling, subtitles=subtitles)
        run = run_ffmpeg(
            args, duration_s=duration, on_progress=pass2, timeout=_remaining(deadline), cancel=cancel, stderr_lines=None
        )
        media = _verify(part, preset, source, duration)
    timecode = None
    if preset.timecode and preset.container in (*_TIMECODE_CONTAINERS, "wav"):
        timecode = output_timecode(
            source.start_timecode,
            source.frame_rate,
            _out_rate(preset.video, source) if preset.video else source.frame_rate,
            drop_frame=source.drop_frame,
        )
    elapsed = time.monotonic() - started
    logger.info(
        "rendition %s (%s): %.2f s, %d bytes in %.1f s",
        final,
        preset.name,
        media.duration_s or 0.0,
        media.size,
        elapsed,
    )
    return RenditionResult(
        final,
        preset.name,
        media.duration_s or 0.0,
        media.size,
        elapsed,
        measured,
        leveling,
        timecode,
        tuple(run.argv),
        sound=_sound(preset, source, measured),
    )


def _sound(preset: PresetLike, source: SourceFacts, measured: LoudnessMeasurement | None) -> str | None:
    """Why no loudness target applied to the rendition's sound, if none did (see ``RenditionResult.sound``)."""
    if preset.audio is None:
        return None
    if not source.has_audio:
        return SOURCE_WITHOUT_SOUND
    return SOURCE_SILENT if measured is not None and measured.silent else None


def _verify(
    path: Path,
    preset: PresetLike,
    source: SourceFacts,
    duration: float | None,
    *,
    video: bool = True,
    audio: bool = True,
) -> VerifiedMedia:
    """PyAV's look at an output (or one HLS playlist): streams, codecs, first-track channels, duration."""
    vspec = preset.video if video else None
    aspec = preset.audio if audio else None  # a source without sound gets the preset's tracks, silent
    rate = _out_rate(preset.video, source) if preset.video is not None else None
    tolerance = max(0.5, float(2 / rate)) if rate else 0.5
    channels = (1 if mono_tracks(preset) else aspec.channels) if aspec is not None else None
    return verify_media(
        path,
        expect_video=vspec is not None,
        expect_audio=aspec is not None,
        expect_duration_s=duration,
        tolerance_s=tolerance,
        video_codec=vspec.codec if vspec is not None else None,
        audio_codec=_DECODED_AUDIO.get(aspec.codec) if aspec is not None else None,
        audio_channels=channels,
    )


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.001, deadline - time.monotonic())


def _scaled(callback: ProgressCallback | None, start: float, end: float) -> ProgressCallback | None:
    if callback is None:
        return None
    return lambda fraction: callback(start + (end - start) * fraction)


@contextmanager
def _atomic_folder(final: Path) -> Iterator[Path]:
    """Yield a hidden temporary folder beside ``final``; on success swap it in for ``final``, else delete it."""
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.part")
    temp.mkdir()
    try:
        yield temp
        for written in temp.iterdir():
            with written.open("rb") as handle:
                os.fsync(handle.fileno())
        old = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.old")
        if final.exists():
            os.replace(final, old)
        os.replace(temp, final)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
