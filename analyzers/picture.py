"""Picture analysis in one decode: shot cuts (``scdet``), black (``blackdetect``) and freezes (``freezedetect``).

The analysis is a filter graph fragment for one video input. It can ride along in a pass that decodes
the video anyway (the proxy transcode: the camera original is then decoded once for everything), or run
alone on a small proxy. Either way the filters write their per-frame metadata to two report files,
which :func:`read_picture` turns into scenes and QC segments:

    graph = picture_graph(reports, threshold=10)          # "[in]" + graph, its output pad is [picture]
    ... ffmpeg ... -map [picture] -f null - ...
    picture = read_picture(reports, duration_s=60.0, frame_rate=Fraction(25))

Frames are analysed at most 270 lines high; cuts in planar RGB (see :mod:`analyzers.scenes`).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from analyzers.loudness import Segment
from analyzers.scenes import (
    ANALYSIS_HEIGHT,
    DEFAULT_MIN_SCENE_S,
    DEFAULT_THRESHOLD,
    Scene,
    filter_value,
    merge_cuts,
    min_scene_length,
    parse_metadata_report,
    scenes_from_cuts,
)
from transcoders.ffmpeg import ProgressCallback, media_arg, run_ffmpeg

logger = logging.getLogger(__name__)

OUTPUT_PAD = "picture"
_TIME = re.compile(r"pts_time:\s*(-?[\d.]+)")
_QC_KEY = re.compile(r"^lavfi\.(black_start|black_end|freezedetect\.freeze_start|freezedetect\.freeze_end)=(.*)$")


@dataclass(frozen=True, slots=True)
class PictureReports:
    """Where the filters write: one file for cut scores, one for black/freeze events."""

    scdet: Path
    qc: Path

    @classmethod
    def in_folder(cls, folder: str | os.PathLike[str]) -> PictureReports:
        return cls(Path(folder) / "picture-scdet.txt", Path(folder) / "picture-qc.txt")

    def exist(self) -> bool:
        return self.scdet.is_file() and self.qc.is_file()

    def remove(self) -> None:
        self.scdet.unlink(missing_ok=True)
        self.qc.unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class Picture:
    scenes: tuple[Scene, ...]
    black: tuple[Segment, ...]
    freeze: tuple[Segment, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"scenes": [s.to_dict() for s in self.scenes], "black": [s.to_dict() for s in self.black],
                "freeze": [s.to_dict() for s in self.freeze]}


def picture_graph(reports: PictureReports, *, threshold: float = DEFAULT_THRESHOLD, black_min_s: float = 0.5,
                  freeze_min_s: float = 2.0) -> str:
    """The analysis for one video input pad (prefix it with the pad); it ends in the ``[picture]`` pad."""
    if not 0 < threshold <= 100:
        raise ValueError(f"threshold must be in (0, 100], got {threshold}")
    return (
        f"setpts=PTS-STARTPTS,scale=w=-2:h=min(ih\\,{ANALYSIS_HEIGHT}):flags=area,split=2[scd][qc];"
        f"[scd]format=gbrp,scdet=threshold={threshold:g},"
        f"metadata=mode=print:file={filter_value(str(reports.scdet))}[{OUTPUT_PAD}];"
        f"[qc]blackdetect=d={black_min_s:g},freezedetect=d={freeze_min_s:g},"
        f"metadata=mode=print:file={filter_value(str(reports.qc))},nullsink"
    )


def read_picture(reports: PictureReports, *, duration_s: float, frame_rate: Fraction,
                 min_scene_s: float = DEFAULT_MIN_SCENE_S) -> Picture:
    """Scenes (cuts merged under ``min_scene_s``), black and freeze segments from the report files."""
    cuts = parse_metadata_report(reports.scdet.read_text(encoding="utf-8", errors="replace"))
    kept = merge_cuts(cuts, min_scene_s=min_scene_length(min_scene_s, frame_rate), duration_s=duration_s)
    scenes = scenes_from_cuts([c.time_s for c in kept], duration_s=duration_s, frame_rate=frame_rate)
    black, freeze = _qc_segments(reports.qc.read_text(encoding="utf-8", errors="replace"), duration_s)
    return Picture(scenes, black, freeze)


def _qc_segments(text: str, end: float) -> tuple[tuple[Segment, ...], tuple[Segment, ...]]:
    """Pairs of start/end events; a start never ended closes at ``end``. Event times are frame times."""
    open_at: dict[str, float] = {}
    found: dict[str, list[Segment]] = {"black": [], "freeze": []}
    frame_time = 0.0
    for line in text.splitlines():
        if line.startswith("frame:"):
            match = _TIME.search(line)
            frame_time = float(match.group(1)) if match else frame_time
            continue
        match = _QC_KEY.match(line.strip())
        if match is None:
            continue
        key, value = match.groups()
        kind = "black" if key.startswith("black") else "freeze"
        try:
            at = float(value)
        except ValueError:
            at = frame_time
        if key.endswith("start"):
            open_at.setdefault(kind, at)
        elif kind in open_at:
            found[kind].append(Segment(open_at.pop(kind), min(at, end)))
    for kind, start in open_at.items():
        found[kind].append(Segment(start, end))
    return tuple(found["black"]), tuple(found["freeze"])


def run_picture_pass(path: str | os.PathLike[str], reports: PictureReports, *,
                     threshold: float = DEFAULT_THRESHOLD, black_min_s: float = 0.5, freeze_min_s: float = 2.0,
                     duration_s: float | None = None, on_progress: ProgressCallback | None = None,
                     timeout: float | None = None, cancel: threading.Event | None = None) -> None:
    """Decode the first video stream of ``path`` once through :func:`picture_graph`, writing ``reports``."""
    graph = picture_graph(reports, threshold=threshold, black_min_s=black_min_s, freeze_min_s=freeze_min_s)
    run_ffmpeg(["-i", media_arg(path), "-filter_complex", f"[0:v:0]{graph}", "-map", f"[{OUTPUT_PAD}]",
                "-f", "null", "-"], duration_s=duration_s, on_progress=on_progress, timeout=timeout, cancel=cancel)


def analyze_picture(path: str | os.PathLike[str], *, duration_s: float, frame_rate: Fraction,
                    threshold: float = DEFAULT_THRESHOLD, min_scene_s: float = DEFAULT_MIN_SCENE_S,
                    black_min_s: float = 0.5, freeze_min_s: float = 2.0, on_progress: ProgressCallback | None = None,
                    timeout: float | None = None, cancel: threading.Event | None = None) -> Picture:
    """The picture analysis as a pass of its own over ``path`` (e.g. a proxy made without it)."""
    with tempfile.TemporaryDirectory(prefix="rushes-picture-") as folder:
        reports = PictureReports.in_folder(folder)
        run_picture_pass(path, reports, threshold=threshold, black_min_s=black_min_s, freeze_min_s=freeze_min_s,
                         duration_s=duration_s, on_progress=on_progress, timeout=timeout, cancel=cancel)
        return read_picture(reports, duration_s=duration_s, frame_rate=frame_rate, min_scene_s=min_scene_s)
