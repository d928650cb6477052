"""Picture geometry (display size, fit, crop or pad to the preset's frame) and the output timecode."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from fractions import Fraction

from rushes.timecode import is_drop_frame_rate, nominal_rate, parse_timecode, timecode_to_frames
from transcoders.rendition.specs import _MIN_FRAME, _TIMECODE_CONTAINERS, PresetLike, SourceFacts, VideoSpecLike

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Geometry:
    """Output frame ``width``x``height``; the picture is scaled to ``fit_*`` (fit/pad/blur-pad) or ``fill_*`` (crop)."""

    width: int
    height: int
    mode: str  # "none" | "pad" | "crop" | "blur-pad"
    fit_width: int
    fit_height: int
    fill_width: int
    fill_height: int


def _even(value: Fraction | float) -> int:
    return max(2, 2 * round(Fraction(value) / 2))


def _even_up(value: Fraction) -> int:
    """The even number at or above ``value`` (after rounding away float-sized noise)."""
    return max(2, 2 * math.ceil(round(Fraction(value), 6) / 2))


def display_size(width: int, height: int, sar: Fraction, rotation: int) -> tuple[Fraction, Fraction]:
    """The upright, square-pixel size of the picture."""
    aspect = Fraction(sar) if sar and sar > 0 else Fraction(1)
    w, h = Fraction(width) * aspect, Fraction(height)
    return (h, w) if round(rotation / 90) % 2 else (w, h)


def plan_geometry(source: SourceFacts, video: VideoSpecLike) -> Geometry:
    """Where the picture goes. Without ``reframe`` the aspect is kept and the frame is the fitted picture.

    A missing preset width or height follows from the source's aspect; a fitted size within 2 pixels of the
    preset's box (rounding) snaps to the box, so a 16:9 source fills a 1920x1080 preset exactly. A source
    smaller than its codec allows (DNxHR's 256x120) is enlarged, shape kept, to the smallest size that fits.
    """
    disp_w, disp_h = display_size(source.width, source.height, source.sar, source.rotation)
    box_w, box_h = video.width, video.height
    if box_w is None and box_h is None:
        min_w, min_h = _MIN_FRAME.get(video.codec, (0, 0))
        enlarge = max(Fraction(1), Fraction(min_w) / disp_w, Fraction(min_h) / disp_h)
        size = _even_up if enlarge > 1 else _even
        box_w, box_h = size(disp_w * enlarge), size(disp_h * enlarge)
    elif box_w is None:
        assert box_h is not None
        box_w = _even(disp_w * box_h / disp_h)
    elif box_h is None:
        box_h = _even(disp_h * box_w / disp_w)
    fit = min(Fraction(box_w) / disp_w, Fraction(box_h) / disp_h)
    fill = max(Fraction(box_w) / disp_w, Fraction(box_h) / disp_h)
    fit_w, fit_h = _snap(_even(disp_w * fit), box_w), _snap(_even(disp_h * fit), box_h)
    fill_w, fill_h = max(_even(disp_w * fill), box_w), max(_even(disp_h * fill), box_h)
    if video.reframe == "none":
        return Geometry(fit_w, fit_h, "none", fit_w, fit_h, fill_w, fill_h)
    return Geometry(box_w, box_h, video.reframe, fit_w, fit_h, fill_w, fill_h)


def pad_offsets(geo: Geometry) -> tuple[int, int]:
    """Where the fitted picture sits in a padded frame: centred, on even pixels (chroma and, interlaced, fields)."""
    return 2 * ((geo.width - geo.fit_width) // 4), 2 * ((geo.height - geo.fit_height) // 4)


def _snap(size: int, box: int) -> int:
    return box if abs(size - box) <= 2 else size


# --------------------------------------------------------------------------- timecode


def output_timecode(
    start: str | None, source_rate: Fraction | None, out_rate: Fraction | None, *, drop_frame: bool = False
) -> str | None:
    """The start timecode of the output: the source's label, re-counted when the frame rate changes.

    Same rate: the label is kept (``;`` when the source is drop-frame). A new rate keeps hours, minutes and
    seconds and scales the frame field (12 of 25 -> 14 of 30); a new 29.97/59.94 rate counts drop-frame (the
    US broadcast convention; a label drop-frame skips moves to the first one that exists), any other non-drop.
    """
    if not start:
        return None
    try:
        label = parse_timecode(start)
    except ValueError:
        logger.warning("ignoring unreadable start timecode %r", start)
        return None
    in_rate = Fraction(source_rate) if source_rate else None
    rate = Fraction(out_rate) if out_rate else in_rate
    if rate is None or in_rate is None or rate == in_rate:
        drop = (label.drop_frame or drop_frame) and (rate is None or is_drop_frame_rate(rate))
        return str(label._replace(drop_frame=drop))
    drop = is_drop_frame_rate(rate)
    frames = label.frames * nominal_rate(rate) // nominal_rate(in_rate)
    converted = label._replace(frames=frames, drop_frame=drop)
    if drop and converted.seconds == 0 and converted.minutes % 10 and frames < nominal_rate(rate) // 15:
        converted = converted._replace(frames=nominal_rate(rate) // 15)
    return str(converted)


def timecode_seconds(label: str, rate: Fraction, drop_frame: bool | None = None) -> Fraction:
    """Seconds since midnight of a timecode label at ``rate`` (drop-frame labels run at the real rate)."""
    frames = timecode_to_frames(label, rate, drop_frame)
    parsed = parse_timecode(label)
    drop = parsed.drop_frame if drop_frame is None else drop_frame
    return Fraction(frames) / (Fraction(rate) if drop else Fraction(round(rate)))


def _timecode_args(preset: PresetLike, timecode: str | None) -> list[str]:
    """``-timecode`` makes the MXF, MOV and MP4 muxers write a timecode track (WAV gets a BWF time reference)."""
    if preset.timecode and timecode and preset.container in _TIMECODE_CONTAINERS:
        return ["-timecode", timecode]
    return []
