"""Loudness and picture QC in one ffmpeg pass: EBU R128 loudness, black, freeze, silence, clipping.

The file is decoded once. The audio chain of the first audio stream runs ``ebur128`` (integrated
loudness, loudness range, true peak), ``silencedetect`` and a clipping check (``astats`` peak per
100 ms window, only windows at or above ``clip_db`` printed by ``ametadata``); the video chain of the
first real video stream runs ``blackdetect`` and ``freezedetect``. Both end in the null muxer.

    qc = measure("clip.mov")
    qc.integrated_lufs, qc.black, qc.to_dict()

A file without audio gets None for the loudness figures and no silence or clipping segments; a file
without video gets no black or freeze segments. A segment still open when the file ends ends at the
file's duration. ffmpeg failures surface as :class:`~rushes.errors.FFmpegError` from the runner; a
file that is not media as :class:`~rushes.errors.NotMediaError` from the probe.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analyzers.probe import MediaInfo, probe
from transcoders.ffmpeg import ProgressCallback, media_arg, run_ffmpeg
from transcoders.outputs import atomic_output

logger = logging.getLogger(__name__)

__all__ = ["LoudnessQC", "Segment", "measure"]

#: Length of the windows whose sample peak decides clipping.
CLIP_WINDOW_S = 0.1
_PEAK_KEY = "lavfi.astats.Overall.Peak_level"

# "[Parsed_blackdetect_0 @ 0x…] [info] black_start:0 black_end:1 black_duration:1" -> the text after the tags
_TAGS = re.compile(r"^(?:\[[^\]]*\] ?)*")
_NUMBER = r"(-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?|-?inf|nan)"
_BLACK = re.compile(rf"black_start:\s*{_NUMBER}\s+black_end:\s*{_NUMBER}")
_FREEZE = re.compile(rf"lavfi\.freezedetect\.freeze_(start|end):\s*{_NUMBER}")
_SILENCE = re.compile(rf"silence_(start|end):\s*{_NUMBER}")
_PTS_TIME = re.compile(rf"\bpts_time:\s*{_NUMBER}")
_PEAK = re.compile(rf"{re.escape(_PEAK_KEY)}=\s*{_NUMBER}")
_SUMMARY = {
    "integrated_lufs": re.compile(rf"^\s*I:\s*{_NUMBER}\s*LUFS"),
    "loudness_range_lu": re.compile(rf"^\s*LRA:\s*{_NUMBER}\s*LU\b"),
    "true_peak_dbtp": re.compile(rf"^\s*Peak:\s*{_NUMBER}\s*dB"),
}


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of the file, in seconds from its start."""

    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_dict(self) -> dict[str, float]:
        return {"start_s": round(self.start_s, 6), "end_s": round(self.end_s, 6)}


@dataclass(frozen=True, slots=True)
class LoudnessQC:
    """Loudness figures (None without audio) and QC segments, each tuple in time order.

    ``true_peak_dbtp`` is ``-inf`` for digital silence; :meth:`to_dict` writes a non-finite figure as None.
    """

    integrated_lufs: float | None
    loudness_range_lu: float | None
    true_peak_dbtp: float | None
    black: tuple[Segment, ...] = ()
    freeze: tuple[Segment, ...] = ()
    silence: tuple[Segment, ...] = ()
    clipping: tuple[Segment, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: segments become ``{"start_s", "end_s"}`` dicts."""
        return {
            "integrated_lufs": _finite(self.integrated_lufs),
            "loudness_range_lu": _finite(self.loudness_range_lu),
            "true_peak_dbtp": _finite(self.true_peak_dbtp),
            "black": [s.to_dict() for s in self.black],
            "freeze": [s.to_dict() for s in self.freeze],
            "silence": [s.to_dict() for s in self.silence],
            "clipping": [s.to_dict() for s in self.clipping],
        }


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


# --- entry point -------------------------------------------------------------------------------------


def measure(
    path: str | os.PathLike[str],
    *,
    duration_s: float | None = None,
    on_progress: ProgressCallback | None = None,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
    black_min_s: float = 0.5,
    freeze_min_s: float = 2.0,
    silence_min_s: float = 2.0,
    silence_db: float = -60.0,
    clip_db: float = -0.1,
    info: MediaInfo | None = None,
    picture: bool = True,
    sound: bool = True,
    extract_wav: str | os.PathLike[str] | None = None,
) -> LoudnessQC:
    """Measure loudness and find black, frozen, silent and clipped stretches of ``path`` in one pass.

    ``duration_s`` (else the probed duration) drives ``on_progress`` and closes segments open at the
    end. ``clip_db`` is the sample peak (dBFS) at or above which a 100 ms window counts as clipped.
    ``info`` is the file's :func:`~analyzers.probe.probe` result when the caller already has it.
    ``picture=False`` leaves the video alone (it is then not decoded at all), ``sound=False`` the
    audio. ``extract_wav`` also writes
    the first audio stream as 16 kHz mono WAV (for speech recognition) from the same decode.
    """
    info = info if info is not None else probe(path)
    duration = duration_s if duration_s is not None else info.duration_s
    audio = info.audio[0] if info.audio and sound else None
    video = info.video[0] if info.video and picture else None
    if audio is None and video is None:
        return LoudnessQC(None, None, None)

    chains: list[str] = []
    outputs: list[str] = []
    window = max(1, round(audio.sample_rate * CLIP_WINDOW_S)) if audio else 0
    if video is not None:
        chains.append(f"[0:{video.index}]blackdetect=d={black_min_s:g},freezedetect=d={freeze_min_s:g}[vqc]")
        outputs += ["-map", "[vqc]"]
    wav_args: list[str] = []
    if audio is not None:
        source = f"[0:{audio.index}]"
        if extract_wav is not None:
            chains.append(f"{source}asplit=2[meter][speech]")
            chains.append("[speech]aresample=16000,aformat=sample_fmts=s16:channel_layouts=mono[wav]")
            source = "[meter]"
        chains.append(
            f"{source}ebur128=peak=true:framelog=quiet,"
            f"silencedetect=n={silence_db:g}dB:d={silence_min_s:g},asplit=2[aqc][clip];"
            # the clipping branch ends in a sink: its selected windows are printed, not muxed, so the
            # null output always receives audio even when nothing clipped
            f"[clip]asetnsamples=n={window}:p=0,"
            "astats=metadata=1:reset=1:measure_perchannel=none:measure_overall=Peak_level,"
            f"ametadata=mode=select:key={_PEAK_KEY}:value={clip_db - 1e-6:g}:function=greater,"
            f"ametadata=mode=print:key={_PEAK_KEY},anullsink"
        )
        outputs += ["-map", "[aqc]"]
    args = ["-i", media_arg(path), "-filter_complex", ";".join(chains), *outputs, "-f", "null", "-"]
    with ExitStack() as stack:
        if audio is not None and extract_wav is not None:
            part = stack.enter_context(atomic_output(Path(extract_wav)))
            wav_args = ["-map", "[wav]", "-c:a", "pcm_s16le", "-f", "wav", media_arg(part)]
        run = run_ffmpeg(
            [*args, *wav_args], duration_s=duration, on_progress=on_progress, timeout=timeout, cancel=cancel,
            stderr_lines=None,
        )
    lines = [_TAGS.sub("", line, count=1) for line in run.stderr_tail.splitlines()]
    end = duration if duration is not None else 0.0
    summary = _parse_summary(lines) if audio else {}
    qc = LoudnessQC(
        integrated_lufs=summary.get("integrated_lufs"),
        loudness_range_lu=summary.get("loudness_range_lu"),
        true_peak_dbtp=summary.get("true_peak_dbtp"),
        black=_parse_black(lines, end) if video else (),
        freeze=_parse_pairs(lines, _FREEZE, end) if video else (),
        silence=_parse_pairs(lines, _SILENCE, end) if audio else (),
        clipping=_parse_clipping(lines, window / audio.sample_rate, end) if audio else (),
    )
    logger.debug("loudness QC of %s: %s", path, qc)
    return qc


# --- parsing the log ------------------------------------------------------------------------------------


def _parse_summary(lines: Iterable[str]) -> dict[str, float]:
    """The ``I:``, ``LRA:`` and ``Peak:`` figures of the ebur128 summary (printed once, at the end)."""
    found: dict[str, float] = {}
    in_summary = False
    for line in lines:
        if line.strip() == "Summary:":
            in_summary, found = True, {}
            continue
        if not in_summary:
            continue
        for name, pattern in _SUMMARY.items():
            if match := pattern.match(line):
                found[name] = float(match.group(1))
    return found


def _parse_black(lines: Iterable[str], end: float) -> tuple[Segment, ...]:
    segments = [Segment(float(m.group(1)), float(m.group(2))) for line in lines if (m := _BLACK.search(line))]
    return _tidy(segments, end)


def _parse_pairs(lines: Iterable[str], pattern: re.Pattern[str], end: float) -> tuple[Segment, ...]:
    """Segments from ``…_start: t`` / ``…_end: t`` lines; a start never ended closes at ``end``."""
    segments: list[Segment] = []
    start: float | None = None
    for line in lines:
        match = pattern.search(line)
        if match is None:
            continue
        kind, value = match.group(1), float(match.group(2))
        if kind == "start":
            start = value if start is None else start
        elif start is not None:
            segments.append(Segment(start, value))
            start = None
    if start is not None:
        segments.append(Segment(start, max(end, start)))
    return _tidy(segments, end)


def _parse_clipping(lines: Iterable[str], window_s: float, end: float) -> tuple[Segment, ...]:
    """Merge the printed (clipped) windows that follow one another into segments."""
    segments: list[Segment] = []
    pts: float | None = None
    for line in lines:
        if match := _PTS_TIME.search(line):
            pts = float(match.group(1))
        elif (match := _PEAK.search(line)) and pts is not None:
            stop = pts + window_s
            if segments and pts <= segments[-1].end_s + window_s / 2:
                segments[-1] = Segment(segments[-1].start_s, stop)
            else:
                segments.append(Segment(pts, stop))
            pts = None
    return _tidy(segments, end)


def _tidy(segments: Iterable[Segment], end: float) -> tuple[Segment, ...]:
    """Clamp to ``[0, end]`` (when the end is known) and sort."""
    tidy = []
    for seg in segments:
        start = max(0.0, seg.start_s)
        stop = min(seg.end_s, end) if end > 0 else seg.end_s
        tidy.append(Segment(start, max(start, stop)))
    return tuple(sorted(tidy, key=lambda s: (s.start_s, s.end_s)))
