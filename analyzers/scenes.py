"""Split a video into scenes (shots) at its hard cuts.

    scenes = detect_scenes("proxy.mp4")
    [s.to_dict() for s in scenes]  # index, start_s, end_s, start_frame, end_frame

Cuts are found by PySceneDetect's detectors on small frames (adaptive by default: see :mod:`analyzers.shots`
for how flashes, dips through black, repeated frames and short shots are judged). A dissolve, a fade or steady
fast motion (a whip pan included) is not a cut. Shots are mapped to frames at the source's frame rate.

Known limit: a jump cut inside a near-uniform picture (a small plane in a grey sky, ten frames skipped) changes
the picture by about 2 of 255 and is not found; neither would it be by any of PySceneDetect's detectors.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error

from analyzers.shots import DEFAULT_SHOTS, ShotOptions
from rushes.errors import NotMediaError
from transcoders.ffmpeg import ProgressCallback

logger = logging.getLogger(__name__)

__all__ = ["Scene", "detect_scenes", "filter_value", "scenes_from_cuts"]


@dataclass(frozen=True, slots=True)
class Scene:
    """One scene: ``[start_s, end_s)`` in seconds from the first frame, ``[start_frame, end_frame)`` in frames."""

    index: int
    start_s: float
    end_s: float
    start_frame: int
    end_frame: int  # exclusive: the first frame of the next scene

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def frames(self) -> int:
        return self.end_frame - self.start_frame

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)



def detect_scenes(
    path: str | os.PathLike[str],
    *,
    options: ShotOptions = DEFAULT_SHOTS,
    duration_s: float | None = None,
    frame_rate: Fraction | None = None,
    on_progress: ProgressCallback | None = None,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
) -> tuple[Scene, ...]:
    """Split the first video stream of ``path`` into scenes at its hard cuts.

    ``options`` choose the detector and its sensitivity; ``duration_s`` and ``frame_rate`` are probed with PyAV
    when not given (the last scene ends at the duration; frame numbers are the times times ``frame_rate``,
    rounded to the nearest frame). ``on_progress``, ``timeout`` and ``cancel`` are passed to
    :func:`transcoders.ffmpeg.run_ffmpeg`. A video without cuts is one scene. Raises :class:`NotMediaError` when
    there is no video to read and :class:`FFmpegError` when ffmpeg fails.
    """
    if duration_s is None or frame_rate is None:
        probed_duration, probed_rate = _probe_video(Path(path))
        duration_s = probed_duration if duration_s is None else duration_s
        frame_rate = probed_rate if frame_rate is None else frame_rate
    if duration_s <= 0 or frame_rate <= 0:
        raise NotMediaError(f"cannot detect scenes in {Path(path).name}: duration {duration_s}, rate {frame_rate}")

    from analyzers.picture import analyze_picture  # the pass the pipeline runs; it builds on this module

    picture = analyze_picture(path, duration_s=duration_s, frame_rate=Fraction(frame_rate), options=options,
                              on_progress=on_progress, timeout=timeout, cancel=cancel)
    logger.info("%s: %d scene(s) (%s detector, threshold %g)", Path(path).name, len(picture.scenes),
                options.detector, options.effective_threshold)
    return picture.scenes


def scenes_from_cuts(cut_times: Sequence[float], *, duration_s: float, frame_rate: Fraction) -> tuple[Scene, ...]:
    """Scenes between 0, the sorted ``cut_times`` and ``duration_s``, with frames at ``frame_rate``."""
    bounds = [0.0, *cut_times, duration_s]
    return tuple(
        Scene(index, start, end, _frame_at(start, frame_rate), _frame_at(end, frame_rate))
        for index, (start, end) in enumerate(zip(bounds, bounds[1:], strict=False))
    )


def _frame_at(seconds: float, frame_rate: Fraction) -> int:
    return round(Fraction(seconds) * frame_rate)


def filter_value(value: str) -> str:
    """``value`` escaped for a filter option inside a filtergraph string (both escaping levels)."""
    option = re.sub(r"([\\':])", r"\\\1", value)
    return re.sub(r"([\\'\[\],;])", r"\\\1", option)


def _probe_video(path: Path) -> tuple[float, Fraction]:
    """Duration (seconds) and frame rate of the first video stream, read with PyAV."""
    try:
        with av.open("file:" + os.path.abspath(path)) as container:
            if not container.streams.video:
                raise NotMediaError(f"cannot detect scenes in {path.name}: no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / av.time_base
            else:
                duration = 0.0
    except (av.error.FFmpegError, OSError) as exc:
        raise NotMediaError(f"cannot detect scenes in {path.name}: {getattr(exc, 'strerror', None) or exc}") from exc
    if not rate or duration <= 0:
        raise NotMediaError(f"cannot detect scenes in {path.name}: unknown duration or frame rate")
    return duration, Fraction(rate)
