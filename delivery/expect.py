"""What a rendition must carry, worked out from the preset and the source facts alone.

QC (:mod:`delivery.qc`) asks these questions of its own so that a renderer bug cannot pass its own check:
nothing here imports ``transcoders``; the timecode maths is the kernel's (:mod:`rushes.timecode`).

    start_timecode("10:00:00:00", Fraction(25), Fraction(30000, 1001))   # "10:00:00;00"
    time_reference("10:00:00:00", Fraction(25), 48000)                  # 1728000000
    one_track_per_channel(preset)                                       # MXF with more than one channel

The delivery rules for a start timecode:

* **Same rate** (or a rate that cannot be compared): the source's label is delivered as it is. It is
  drop-frame when the source is (by its ``;`` or by the source facts) and the rate has drop-frame at all.
* **New rate**: the label keeps its time of day (a programme that starts at 10:00:00:00 starts at 10 o'clock
  in every standard): read the label as a clock (its HH:MM:SS plus its frame field as a share of a second at
  the source's nominal rate) and take the output frame that moment falls in, counted at the output's nominal
  rate. A 29.97/59.94 output counts drop-frame (the US broadcast convention), any other rate non-drop; a label
  that drop-frame skips (the first 2 or 4 of most minutes) becomes the first label of that minute that exists.
"""

from __future__ import annotations

import logging
import math
from fractions import Fraction
from typing import Protocol

from rushes.errors import InvalidTimecode
from rushes.timecode import (
    Timecode,
    frames_to_timecode,
    is_drop_frame_rate,
    is_standard_rate,
    nearest_standard_rate,
    nominal_rate,
    parse_timecode,
    timecode_to_frames,
)

logger = logging.getLogger(__name__)

__all__ = ["one_track_per_channel", "output_rate", "speed_factor", "start_timecode", "time_reference"]


class _AudioLike(Protocol):
    @property
    def channels(self) -> int: ...


class _PresetLike(Protocol):
    @property
    def container(self) -> str: ...
    @property
    def audio(self) -> _AudioLike | None: ...


def start_timecode(
    start: str | None, source_rate: Fraction | None, out_rate: Fraction | None, *, drop_frame: bool = False
) -> str | None:
    """The label the output's first frame must carry (None: no usable source timecode)."""
    if not start:
        return None
    try:
        label = parse_timecode(start)
    except InvalidTimecode:
        logger.info("QC expects no timecode: the source's start timecode %r is unreadable", start)
        return None
    src = Fraction(source_rate) if source_rate else None
    out = Fraction(out_rate) if out_rate else src
    if src is None or out is None or out == src:
        drop = (label.drop_frame or drop_frame) and (out is None or is_drop_frame_rate(out))
        return str(label._replace(drop_frame=drop))
    try:
        moment = _label_clock(label, nominal_rate(src))
    except InvalidTimecode:
        logger.info("QC expects no timecode: %r is not a label at %s fps", start, src)
        return None
    counted = nominal_rate(out)
    text = frames_to_timecode(math.floor(moment * counted), counted)  # the frame that moment falls in
    converted = parse_timecode(text)._replace(drop_frame=is_drop_frame_rate(out))
    return str(_first_that_exists(converted, out) if converted.drop_frame else converted)


def time_reference(label: str, rate: Fraction, sample_rate: int) -> int | None:
    """A BWF ``time_reference``: samples since midnight at the moment ``label`` names at ``rate``.

    A drop-frame label keeps pace with the wall clock, so its frame count runs at the real rate (29.97);
    a non-drop label reads as a clock at its nominal rate. None when the label does not exist at ``rate``.
    """
    try:
        parsed = parse_timecode(label)
        if parsed.drop_frame:
            seconds = Fraction(timecode_to_frames(parsed, rate, drop_frame=True)) / Fraction(rate)
        else:
            seconds = _label_clock(parsed, nominal_rate(rate))
    except InvalidTimecode:
        return None
    return round(seconds * sample_rate)


SPEED_UP_LIMIT = Fraction(1, 20)  # a preset's "speed-up" applies to rates within 5 % of its own


def speed_factor(rate_change: str, out_rate: Fraction | None, source_rate: Fraction | None) -> Fraction | None:
    """How much faster a "speed-up" preset plays the source (25 / 23.976 = 1.0427), or None: same speed."""
    if rate_change != "speed-up" or not out_rate or not source_rate or out_rate == source_rate:
        return None
    factor = Fraction(out_rate) / Fraction(source_rate)
    return factor if abs(factor - 1) <= SPEED_UP_LIMIT else None


def output_rate(codec: str, preset_rate: Fraction | None, source_rate: Fraction | None) -> Fraction | None:
    """The rate the rendition must have: the preset's, else the source's; MPEG-2 and DNxHR take only the standard
    rates, so a source at another gets the nearest one."""
    rate = preset_rate or source_rate
    if rate and codec in ("mpeg2video", "dnxhd") and not is_standard_rate(rate):
        return nearest_standard_rate(rate)
    return rate


def one_track_per_channel(preset: _PresetLike) -> bool:
    """MXF (SMPTE RDD 9 / XDCAM, Avid) delivers one mono track per channel; every other container one stream."""
    return preset.container == "mxf" and preset.audio is not None and preset.audio.channels > 1


def _label_clock(label: Timecode, counted: int) -> Fraction:
    """Seconds since midnight on the label's own clock: HH:MM:SS plus FF frames of ``counted`` per second."""
    return Fraction(timecode_to_frames(label._replace(drop_frame=False), counted, drop_frame=False), counted)


def _first_that_exists(label: Timecode, rate: Fraction) -> Timecode:
    """A drop-frame label that is skipped moves on, frame by frame, to the first label that exists."""
    while True:
        try:
            timecode_to_frames(label, rate, drop_frame=True)
        except InvalidTimecode:
            label = label._replace(frames=label.frames + 1)
        else:
            return label
