"""Hand a clip's scenes and markers to an editor: a CMX3600 EDL, an OpenTimelineIO timeline, a CSV.

    edl = to_edl("A001 selects", "A001C003.mov", "A001C003", scenes, Fraction(25), "10:00:00:00")
    write_otio(to_otio("A001 selects", "A001C003.mov", "A001C003", scenes, Fraction(25), "10:00:00:00"), "a.otio")

Every export lays the scenes (``(start_s, end_s)`` in seconds from the clip's first frame) end to end
as cuts of one clip. Seconds become frames by rounding to the nearest frame, once per scene boundary,
so consecutive scenes stay contiguous. Source timecodes count from the clip's ``start_tc`` (00:00:00:00
when unknown); the record side starts at 01:00:00:00 and runs on without gaps. Timecode labels come
from :mod:`rushes.timecode`: 23.976 counts 24 non-drop labels a second, 29.97 and 59.94 may be
drop-frame (``;`` before the frames, ``FCM: DROP FRAME``).

A marker belongs to the scene holding its start; one outside every scene cannot be placed on the
record side and is left out of the EDL and the timeline (with a warning), but not out of the CSV.

Final Cut XML is not written here: the installed OpenTimelineIO ships only its native adapters
(``otio_json``, ``otioz``, ``otiod``). The ``otio-fcp-adapter`` plug-in would add ``fcp_xml``.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

from rushes.timecode import frames_to_timecode, is_drop_frame_rate, nominal_rate, parse_timecode, timecode_to_frames
from transcoders.outputs import atomic_output

logger = logging.getLogger(__name__)

__all__ = ["MARKER_COLORS", "RECORD_START", "Marker", "csv_cell", "to_csv", "to_edl", "to_otio", "write_otio"]

RECORD_START = "01:00:00:00"
#: OpenTimelineIO's marker colours; Avid reads the same names in ``* LOC:`` lines.
MARKER_COLORS = frozenset({"PINK", "RED", "ORANGE", "YELLOW", "GREEN", "CYAN", "BLUE", "PURPLE", "MAGENTA",
                           "BLACK", "WHITE"})
_REEL_WIDTH = 8
_DEFAULT_REEL = "AX"
_REEL_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_CSV_FIELDS = ("kind", "number", "name", "start_s", "end_s", "duration_s", "frames", "tc_in", "tc_out", "color",
               "note")


@dataclass(frozen=True, slots=True)
class Marker:
    """A note on a stretch of the clip, in seconds from its first frame (``end_s == start_s`` for a point)."""

    start_s: float
    end_s: float
    name: str
    note: str = ""
    color: str = "RED"

    def __post_init__(self) -> None:
        if not 0 <= self.start_s <= self.end_s:
            raise ValueError(f"marker {self.name!r} must have 0 <= start <= end, got ({self.start_s}, {self.end_s})")
        if self.color not in MARKER_COLORS:
            raise ValueError(f"marker colour {self.color!r} is not one of {', '.join(sorted(MARKER_COLORS))}")


@dataclass(frozen=True, slots=True)
class _Event:
    """One scene as a cut: frame numbers at the clip's rate, outs exclusive."""

    number: int  # from 1
    scene: tuple[float, float]
    first: int  # frame of the clip
    end: int
    record_in: int  # frame of the record timeline, counted like a timecode (01:00:00:00 = 90000 at 25)

    @property
    def frames(self) -> int:
        return self.end - self.first

    def holds(self, frame: int) -> bool:
        return self.first <= frame < self.end


@dataclass(frozen=True, slots=True)
class _Cut:
    """Scenes laid end to end, with the clock that labels them."""

    rate: Fraction
    drop_frame: bool
    source_start: int  # frame count of the clip's start timecode
    events: tuple[_Event, ...]

    def label(self, frame: int) -> str:
        return frames_to_timecode(frame, self.rate, self.drop_frame)

    def source(self, frame: int) -> str:
        return self.label(self.source_start + frame)

    def event_of(self, marker: Marker) -> _Event | None:
        frame = _frame(marker.start_s, self.rate)
        event = next((e for e in self.events if e.holds(frame)), None)
        if event is None:
            logger.warning("marker %r at %.3f s is in no scene: left out", marker.name, marker.start_s)
        return event


def _cut(scenes: Sequence[tuple[float, float]], rate: Fraction | int, start_tc: str | None, drop_frame: bool,
         record_start: str = RECORD_START) -> _Cut:
    rate = exact_rate(rate)
    start = parse_timecode(start_tc) if start_tc else None
    drop = drop_frame or (start is not None and start.drop_frame)
    if drop and not is_drop_frame_rate(rate):
        raise ValueError(f"drop-frame timecode needs a 29.97 or 59.94 rate, not {float(rate):g} fps")
    source_start = timecode_to_frames(start, rate, drop) if start is not None else 0
    record = timecode_to_frames(record_start, rate, drop)
    events = []
    for number, (start_s, end_s) in enumerate(scenes, start=1):
        first, end = _frame(start_s, rate), _frame(end_s, rate)
        if not 0 <= first < end:
            raise ValueError(f"scene {number} ({start_s}, {end_s}) is shorter than a frame at {float(rate):g} fps")
        events.append(_Event(number, (start_s, end_s), first, end, record))
        record += end - first
    return _Cut(rate, drop, source_start, tuple(events))


def exact_rate(rate: Fraction | int | float) -> Fraction:
    """``rate`` as a Fraction, with 23.976, 29.97, 59.94 ... snapped to their exact NTSC values (n*1000/1001)."""
    value = Fraction(rate)
    if value <= 0:
        raise ValueError(f"frame rate must be positive, got {rate}")
    ntsc = Fraction(nominal_rate(value) * 1000, 1001)
    return ntsc if value != round(value) and abs(value - ntsc) < Fraction(1, 100) else value


def _frame(seconds: float, rate: Fraction) -> int:
    return round(Fraction(seconds) * rate)


# --------------------------------------------------------------------------- CMX3600


def to_edl(
    title: str,
    clip_name: str,
    reel: str,
    scenes: Sequence[tuple[float, float]],
    rate: Fraction | int,
    start_tc: str | None,
    drop_frame: bool = False,
    markers: Sequence[Marker] = (),
    *,
    record_start: str = RECORD_START,
) -> str:
    """A CMX3600 EDL: one video cut per scene, ``* FROM CLIP NAME:`` under each, markers as ``* LOC:`` lines.

    The reel is cut to 8 characters of ``A-Z a-z 0-9 _ -`` (``AX`` when empty). Source in/out count from
    ``start_tc``; record in/out from ``record_start`` (01:00:00:00; pass the source's start timecode to
    lay the record side on the source's own clock). A ``* LOC:`` line carries the marker's record timecode,
    colour and name (then its note). Lines end in ``\\n``.
    """
    cut = _cut(scenes, rate, start_tc, drop_frame, record_start)
    reel_name = edl_reel(reel)
    locators: dict[int, list[Marker]] = {}
    for marker in markers:
        event = cut.event_of(marker)
        if event is not None:
            locators.setdefault(event.number, []).append(marker)
    lines = [f"TITLE: {_one_line(title)}", f"FCM: {'DROP FRAME' if cut.drop_frame else 'NON-DROP FRAME'}", ""]
    for event in cut.events:
        timecodes = (cut.source(event.first), cut.source(event.end), cut.label(event.record_in),
                     cut.label(event.record_in + event.frames))
        lines.append(f"{event.number:03d}  {reel_name:<{_REEL_WIDTH}} {'V':<5} {'C':<4} {'':>3} {' '.join(timecodes)}")
        lines.append(f"* FROM CLIP NAME: {_one_line(clip_name)}")
        for marker in locators.get(event.number, []):
            at = cut.label(event.record_in + _frame(marker.start_s, cut.rate) - event.first)
            text = _one_line(f"{marker.name} - {marker.note}" if marker.note else marker.name)
            lines.append(f"* LOC: {at} {marker.color:<7} {text}")
        lines.append("")
    return "\n".join(lines)


def edl_reel(reel: str) -> str:
    """A reel name as CMX3600 allows it: at most 8 of ``A-Z a-z 0-9 _ -``, ``AX`` when nothing is left."""
    safe = _REEL_UNSAFE.sub("_", reel.strip())[:_REEL_WIDTH]
    if safe != reel:
        logger.info("reel %r written as %r in the EDL", reel, safe or _DEFAULT_REEL)
    return safe or _DEFAULT_REEL


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- OpenTimelineIO


def to_otio(
    title: str,
    clip_name: str,
    reel: str,
    scenes: Sequence[tuple[float, float]],
    rate: Fraction | int,
    start_tc: str | None,
    drop_frame: bool = False,
    markers: Sequence[Marker] = (),
    *,
    media_url: str | None = None,
    record_start: str = RECORD_START,
) -> otio.schema.Timeline:
    """The same cut as :func:`to_edl`, as an OTIO timeline with one video track.

    Each clip's source range is in the clip's timecode frames; markers are on their clip, in the same
    frames. ``media_url`` (e.g. ``file:///...``) makes the media reference external; without it, missing.
    The timeline starts at ``record_start``.
    The reel and the scene's seconds are kept in the clip's metadata (``cmx_3600.reel``, ``rushes``).
    """
    cut = _cut(scenes, rate, start_tc, drop_frame, record_start)
    otio_rate = float(cut.rate)
    timeline = otio.schema.Timeline(
        name=title,
        global_start_time=otio.opentime.RationalTime(timecode_to_frames(record_start, cut.rate, cut.drop_frame),
                                                     otio_rate),
        metadata={"rushes": {"rate": str(cut.rate), "drop_frame": cut.drop_frame, "start_tc": start_tc}},
    )
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    clips = {}
    for event in cut.events:
        reference = (otio.schema.ExternalReference(target_url=media_url) if media_url
                     else otio.schema.MissingReference(name=clip_name))
        clip = otio.schema.Clip(
            name=clip_name,
            media_reference=reference,
            source_range=_range(cut.source_start + event.first, event.frames, otio_rate),
            metadata={"cmx_3600": {"reel": reel},
                      "rushes": {"scene": event.number, "start_s": event.scene[0], "end_s": event.scene[1]}},
        )
        track.append(clip)
        clips[event.number] = clip
    for marker in markers:
        holder = cut.event_of(marker)
        if holder is not None:
            first = cut.source_start + _frame(marker.start_s, cut.rate)
            length = _frame(marker.end_s, cut.rate) - _frame(marker.start_s, cut.rate)
            clips[holder.number].markers.append(otio.schema.Marker(
                name=marker.name, marked_range=_range(first, length, otio_rate), color=marker.color,
                comment=marker.note,
            ))
    return timeline


def _range(first: int, frames: int, rate: float) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(otio.opentime.RationalTime(first, rate), otio.opentime.RationalTime(frames, rate))


def write_otio(timeline: otio.schema.Timeline, path: str | os.PathLike[str]) -> Path:
    """Write ``timeline`` as OTIO JSON (``.otio``), atomically."""
    out = Path(path)
    with atomic_output(out) as part:
        otio.adapters.write_to_file(timeline, os.fspath(part), adapter_name="otio_json")
    return out


# --------------------------------------------------------------------------- CSV


def to_csv(
    clip_name: str,
    scenes: Sequence[tuple[float, float]],
    rate: Fraction | int,
    start_tc: str | None,
    drop_frame: bool = False,
    markers: Sequence[Marker] = (),
) -> str:
    """A spreadsheet of the scenes, then the markers: one row each, with seconds, frames and source timecodes.

    Columns: kind (``scene`` or ``marker``), number (from 1), name, start_s, end_s, duration_s, frames,
    tc_in, tc_out (exclusive), color, note. Text that a spreadsheet would run as a formula (starting with
    ``= + - @``) is prefixed with ``'``.
    """
    cut = _cut(scenes, rate, start_tc, drop_frame)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_CSV_FIELDS)
    for event in cut.events:
        start_s, end_s = event.scene
        writer.writerow(["scene", event.number, csv_cell(clip_name), f"{start_s:.3f}", f"{end_s:.3f}",
                         f"{end_s - start_s:.3f}", event.frames, cut.source(event.first), cut.source(event.end),
                         "", ""])
    for number, marker in enumerate(markers, start=1):
        first, end = _frame(marker.start_s, cut.rate), _frame(marker.end_s, cut.rate)
        writer.writerow(["marker", number, csv_cell(marker.name), f"{marker.start_s:.3f}", f"{marker.end_s:.3f}",
                         f"{marker.end_s - marker.start_s:.3f}", end - first, cut.source(first), cut.source(end),
                         marker.color, csv_cell(marker.note)])
    return buffer.getvalue()


def csv_cell(text: str) -> str:
    """``text`` safe for a spreadsheet cell: a leading ``= + - @`` (a formula) gets a ``'`` in front."""
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text
