"""Picture analysis in one decode: shot cuts (PySceneDetect, :mod:`analyzers.shots`), black and freezes (ffmpeg).

The analysis rides along in a pass that decodes the video anyway (the proxy transcode: the camera original is
then decoded once for everything), or runs alone on a small proxy. Its filter graph scales the picture to at most
``ANALYSIS_WIDTH`` pixels wide and splits it: one branch goes through ``blackdetect`` and ``freezedetect``, which
write their events to a report file; the other comes back to this process as raw 4:2:0 frames in NUT (each frame
with its time; half the bytes of BGR) through a pipe, where a thread turns them into BGR and feeds them to a
:class:`~analyzers.shots.ShotFinder`:

    tap = PictureTap(PictureReports.in_folder(workdir), ShotOptions())
    with tap:                                    # starts the reading thread
        make_proxy(..., analysis=tap)            # or any ffmpeg pass: tap.graph, tap.output_args(), tap.hand_over()
    picture = read_picture(tap.reports, duration_s=60.0, frame_rate=Fraction(25))

On leaving the ``with``, the shots are written to ``reports.shots`` (JSON), so the scenes step can read them later.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import av
import cv2

from analyzers.loudness import Segment
from analyzers.scenes import Scene, filter_value, scenes_from_cuts
from analyzers.shots import DEFAULT_SHOTS, ShotFinder, ShotOptions, Shots, Transition
from rushes.errors import ConfigError, MediaError
from transcoders.ffmpeg import ProgressCallback, media_arg, run_ffmpeg

logger = logging.getLogger(__name__)

OUTPUT_PAD = "picture"
#: Frames are analysed at most this wide. PySceneDetect's own downscaling aims at 256; at 192 the adaptive detector
#: finds every cut of tests/shot_clips.py with nothing else at any threshold from 1.7 to 2.3 (at 256: 1.7 to 2.2;
#: at 128 a starved encoder's repeated noise frames passed for a cut), for ~0.56 of the pixels.
ANALYSIS_WIDTH = 192
_TIME = re.compile(r"pts_time:\s*(-?[\d.]+)")
_QC_KEY = re.compile(r"^lavfi\.(black_start|black_end|freezedetect\.freeze_start|freezedetect\.freeze_end)=(.*)$")


@dataclass(frozen=True, slots=True)
class PictureReports:
    """Where the analysis writes: the shots (JSON) and the black/freeze events (ffmpeg's metadata print)."""

    shots: Path
    qc: Path

    @classmethod
    def in_folder(cls, folder: str | os.PathLike[str]) -> PictureReports:
        return cls(Path(folder) / "picture-shots.json", Path(folder) / "picture-qc.txt")

    def exist(self) -> bool:
        return self.shots.is_file() and self.qc.is_file()

    def remove(self) -> None:
        self.shots.unlink(missing_ok=True)
        self.qc.unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class Picture:
    scenes: tuple[Scene, ...]
    black: tuple[Segment, ...]
    freeze: tuple[Segment, ...]
    transitions: tuple[Transition, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"scenes": [s.to_dict() for s in self.scenes], "black": [s.to_dict() for s in self.black],
                "freeze": [s.to_dict() for s in self.freeze],
                "flash": [Segment(t.start_s, t.end_s).to_dict() for t in self.transitions if t.kind == "flash"],
                "transitions": [{"kind": t.kind, **Segment(t.start_s, t.end_s).to_dict()} for t in self.transitions
                                if t.kind in ("dissolve", "fade", "dip")]}


class PictureTap:
    """The picture analysis as a side output of an ffmpeg pass (see the module's docstring)."""

    def __init__(self, reports: PictureReports, options: ShotOptions = DEFAULT_SHOTS, *, black_min_s: float = 0.5,
                 freeze_min_s: float = 2.0) -> None:
        self.reports = reports
        self.options = options
        self.black_min_s = black_min_s
        self.freeze_min_s = freeze_min_s
        self.shots: Shots | None = None
        self.error: Exception | None = None
        self._read_fd: int | None = None
        self._write_fd: int | None = None
        self._thread: threading.Thread | None = None

    @property
    def graph(self) -> str:
        """The analysis for one video input pad (prefix it with the pad); its output pad is ``[picture]``."""
        return (
            f"setpts=PTS-STARTPTS,scale=w=min(trunc(iw/2)*2\\,{ANALYSIS_WIDTH}):h=-2:flags=area,format=yuv420p,"
            f"split=2[{OUTPUT_PAD}][qc];"
            f"[qc]blackdetect=d={self.black_min_s:g},freezedetect=d={self.freeze_min_s:g},"
            f"metadata=mode=print:file={filter_value(str(self.reports.qc))},nullsink"
        )

    def output_args(self) -> list[str]:
        if self._write_fd is None:
            raise RuntimeError("the picture tap is not open (use it in a with block)")
        return ["-map", f"[{OUTPUT_PAD}]", "-fps_mode", "passthrough", "-c:v", "rawvideo", "-an", "-sn", "-dn",
                "-f", "nut", f"pipe:{self._write_fd}"]

    def hand_over(self) -> tuple[int, ...]:
        """The pipe's write end, for ffmpeg to inherit; ``run_ffmpeg`` closes this process's copy."""
        if self._write_fd is None:
            raise RuntimeError("the picture tap is not open, or its pipe was handed over already")
        fd, self._write_fd = self._write_fd, None
        return (fd,)

    def __enter__(self) -> PictureTap:
        self.reports.remove()
        self._read_fd, self._write_fd = os.pipe()
        self._thread = threading.Thread(target=self._read, name="picture-tap", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._write_fd is not None:  # never handed to ffmpeg: end the stream ourselves
            os.close(self._write_fd)
            self._write_fd = None
        if self._thread is not None:
            self._thread.join()
        if kind is None and self.error is None and self.shots is not None:
            part = self.reports.shots.with_suffix(".part")
            part.write_text(json.dumps(self.shots.to_dict()), encoding="utf-8")
            part.replace(self.reports.shots)
        elif kind is None:
            logger.warning("shot detection failed: %s", self.error)

    def _read(self) -> None:
        assert self._read_fd is not None
        with os.fdopen(self._read_fd, "rb") as stream:
            try:
                finder = ShotFinder(self.options)
                with av.open(stream, mode="r", format="nut") as container:
                    for frame in container.decode(video=0):  # planar 4:2:0: half the bytes of BGR through the pipe
                        bgr = cv2.cvtColor(frame.to_ndarray(format="yuv420p"), cv2.COLOR_YUV2BGR_I420)
                        finder.add(float(frame.time or 0.0), bgr)
                self.shots = finder.finish()
            except Exception as exc:  # noqa: BLE001 - kept and reported; ffmpeg must not block on a full pipe
                self.error = exc
                while stream.read(1 << 16):
                    pass


def read_picture(reports: PictureReports, *, duration_s: float, frame_rate: Fraction) -> Picture:
    """Scenes (between the cuts), black and freeze segments and flashes from the report files."""
    try:
        shots = Shots.from_dict(json.loads(reports.shots.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MediaError(f"cannot read the shot report {reports.shots.name}: {exc}") from exc
    cuts = [c.time_s for c in shots.cuts if 0 < c.time_s < duration_s]
    scenes = scenes_from_cuts(cuts, duration_s=duration_s, frame_rate=frame_rate)
    black, freeze = _qc_segments(reports.qc.read_text(encoding="utf-8", errors="replace"), duration_s)
    return Picture(scenes, black, freeze, tuple(shots.transitions))


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


def run_picture_pass(path: str | os.PathLike[str], tap: PictureTap, *, duration_s: float | None = None,
                     on_progress: ProgressCallback | None = None, timeout: float | None = None,
                     cancel: threading.Event | None = None) -> None:
    """Decode the first video stream of ``path`` once through ``tap`` (which must be open)."""
    run_ffmpeg(["-i", media_arg(path), "-filter_complex", f"[0:v:0]{tap.graph}", *tap.output_args()],
               pass_fds=tap.hand_over(), duration_s=duration_s, on_progress=on_progress, timeout=timeout,
               cancel=cancel)


def analyze_picture(path: str | os.PathLike[str], *, duration_s: float, frame_rate: Fraction,
                    options: ShotOptions = DEFAULT_SHOTS, black_min_s: float = 0.5, freeze_min_s: float = 2.0,
                    on_progress: ProgressCallback | None = None, timeout: float | None = None,
                    cancel: threading.Event | None = None) -> Picture:
    """The picture analysis as a pass of its own over ``path`` (e.g. a proxy made without it)."""
    with tempfile.TemporaryDirectory(prefix="rushes-picture-") as folder:
        tap = PictureTap(PictureReports.in_folder(folder), options, black_min_s=black_min_s,
                         freeze_min_s=freeze_min_s)
        with tap:
            run_picture_pass(path, tap, duration_s=duration_s, on_progress=on_progress, timeout=timeout,
                             cancel=cancel)
        if isinstance(tap.error, ConfigError):
            raise tap.error
        if tap.error is not None:
            raise MediaError(f"shot detection failed on {Path(path).name}: {tap.error}") from tap.error
        return read_picture(tap.reports, duration_s=duration_s, frame_rate=frame_rate)
