"""Find the hard cuts of a video with ffmpeg's ``scdet`` filter and split it into scenes.

    scenes = detect_scenes("proxy.mp4")
    [s.to_dict() for s in scenes]  # index, start_s, end_s, start_frame, end_frame

``scdet`` scores each frame by how much more it differs from the previous frame than that one did
from its own predecessor (``min(mafd, |mafd - previous mafd|)``, 0..100). A hard cut is one sudden
jump; a dissolve, a fade through black or steady fast motion changes every frame by a similar amount
and scores low, so they are not reported as cuts. Gradual transitions are not detected at all: this
module finds cuts, not dissolves.

Cut frames are written by ffmpeg to a temporary file (``metadata=print``), never parsed from stderr.
Cuts closer together than ``min_scene_s`` (or closer than that to the start or the end of the video)
are merged, keeping the stronger one, so no scene is shorter than ``min_scene_s`` (nor than 2 frames:
scdet scores the second frame of a busy shot as high as the shot's motion, which can pass for a cut).

Known limit: a cut *out of* a shot that already changes almost wholly every frame (a whip pan over fine
detail, a strobing pattern) raises the difference only a little and can be missed.

Frames are compared in planar RGB at most 270 lines high. In YUV a change of hue alone barely
moves the score (blue noise cut to a red and green pattern scored 3.7 of 100, in RGB 14.9); at 270
lines the RGB scores match full size, and the whole pass costs ~7 % more CPU than a bare decode.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

import av
import av.error

from rushes.errors import NotMediaError
from transcoders.ffmpeg import ProgressCallback

logger = logging.getLogger(__name__)

__all__ = ["Cut", "Scene", "detect_scenes", "filter_value", "find_cuts", "merge_cuts", "min_scene_length",
           "parse_metadata_report", "scenes_from_cuts"]

DEFAULT_THRESHOLD = 10.0
DEFAULT_MIN_SCENE_S = 0.5
#: Frames are compared at this height at most (a 720p proxy is scaled to 480x270).
ANALYSIS_HEIGHT = 270
_SCORE_KEY = "lavfi.scd.score"
_TIME_KEY = "lavfi.scd.time"
_EPSILON_S = 1e-6
_ONE_FRAME_SLACK = Fraction(3, 2)  # cuts 1 frame apart are always merged


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


class Cut(NamedTuple):
    """A hard cut found by ``scdet``: the time of the first frame after it, and its score (0..100)."""

    time_s: float
    score: float


def detect_scenes(
    path: str | os.PathLike[str],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    min_scene_s: float = DEFAULT_MIN_SCENE_S,
    duration_s: float | None = None,
    frame_rate: Fraction | None = None,
    on_progress: ProgressCallback | None = None,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
) -> tuple[Scene, ...]:
    """Split the first video stream of ``path`` into scenes at its hard cuts.

    ``threshold`` is scdet's score (0..100) a frame needs to count as a cut; ``duration_s`` and
    ``frame_rate`` are probed with PyAV when not given (the last scene ends at the duration; frame
    numbers are the times times ``frame_rate``, rounded to the nearest frame). ``on_progress``,
    ``timeout`` and ``cancel`` are passed to :func:`transcoders.ffmpeg.run_ffmpeg`. A video without
    cuts is one scene. Raises :class:`NotMediaError` when there is no video to read and
    :class:`FFmpegError` when ffmpeg fails.
    """
    if not 0 < threshold <= 100:
        raise ValueError(f"threshold must be in (0, 100], got {threshold}")
    if min_scene_s < 0:
        raise ValueError(f"min_scene_s must not be negative, got {min_scene_s}")
    if duration_s is None or frame_rate is None:
        probed_duration, probed_rate = _probe_video(Path(path))
        duration_s = probed_duration if duration_s is None else duration_s
        frame_rate = probed_rate if frame_rate is None else frame_rate
    if duration_s <= 0 or frame_rate <= 0:
        raise NotMediaError(f"cannot detect scenes in {Path(path).name}: duration {duration_s}, rate {frame_rate}")

    from analyzers.picture import analyze_picture  # the pass the pipeline runs; it builds on this module

    picture = analyze_picture(path, duration_s=duration_s, frame_rate=Fraction(frame_rate), threshold=threshold,
                              min_scene_s=min_scene_s, on_progress=on_progress, timeout=timeout, cancel=cancel)
    logger.info("%s: %d scene(s) at threshold %g", Path(path).name, len(picture.scenes), threshold)
    return picture.scenes


def find_cuts(
    path: str | os.PathLike[str],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    duration_s: float | None = None,
    on_progress: ProgressCallback | None = None,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
) -> list[Cut]:
    """Every frame ``scdet`` scores at or above ``threshold``, unmerged, in time order (for diagnosis)."""
    from analyzers.picture import PictureReports, run_picture_pass

    with tempfile.TemporaryDirectory(prefix="rushes-scdet-") as folder:
        reports = PictureReports.in_folder(folder)
        run_picture_pass(path, reports, threshold=threshold, duration_s=duration_s, on_progress=on_progress,
                         timeout=timeout, cancel=cancel)
        return parse_metadata_report(reports.scdet.read_text(encoding="utf-8", errors="replace"))


def parse_metadata_report(text: str) -> list[Cut]:
    """Cuts from ``metadata=print`` output: ``frame:N pts:P pts_time:T`` lines, each followed by ``key=value`` lines."""
    cuts: list[Cut] = []
    frame: dict[str, str] = {}

    def flush() -> None:
        if _TIME_KEY in frame and _SCORE_KEY in frame:  # scdet sets the time only on a cut
            cuts.append(Cut(float(frame[_TIME_KEY]), float(frame[_SCORE_KEY])))

    for line in text.splitlines():
        if line.startswith("frame:"):
            flush()
            frame = {}
        elif "=" in line:
            key, _, value = line.partition("=")
            frame[key.strip()] = value.strip()
    flush()
    return sorted(cuts)


def min_scene_length(min_scene_s: float, frame_rate: Fraction) -> float:
    """The shortest scene kept: ``min_scene_s``, and never under two frames.

    scdet scores the frame after a cut into a busy shot as high as that shot's own motion: never keep both.
    """
    return max(min_scene_s, float(_ONE_FRAME_SLACK / Fraction(frame_rate)))


def merge_cuts(cuts: Iterable[Cut], *, min_scene_s: float, duration_s: float) -> list[Cut]:
    """Keep the strongest cuts such that every scene lasts at least ``min_scene_s``, in time order.

    The start and the end of the video count as the strongest cuts of all, so a cut within
    ``min_scene_s`` of either is dropped (this also drops scdet's spurious score on the second frame,
    which has no predecessor to compare its change with).
    """
    kept: list[Cut] = []
    limit = min_scene_s - _EPSILON_S
    for cut in sorted(cuts, key=lambda c: (-c.score, c.time_s)):
        if cut.time_s < limit or duration_s - cut.time_s < limit or cut.time_s <= 0 or cut.time_s >= duration_s:
            continue
        if all(abs(cut.time_s - other.time_s) >= limit for other in kept):
            kept.append(cut)
    return sorted(kept)


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
