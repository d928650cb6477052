"""SMPTE timecode maths: labels <-> frame counts, including drop-frame.

A timecode label counts frames at the *nominal* rate: ``round(rate)`` (23.976 -> 24, 29.97 -> 30,
59.94 -> 60). Drop-frame (29.97/59.94, written with ``;`` before the frames) skips the first 2 (at 30)
or 4 (at 60) frame *labels* of every minute except minutes divisible by ten, so that the label keeps
pace with the wall clock. Labels wrap at 24 hours. Pure Python, no dependencies.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import NamedTuple

from rushes.errors import InvalidTimecode

__all__ = [
    "Timecode",
    "frames_to_timecode",
    "is_drop_frame_rate",
    "is_standard_rate",
    "nearest_standard_rate",
    "nominal_rate",
    "parse_timecode",
    "seconds_to_timecode",
    "timecode_to_frames",
]

Rate = Fraction | int

# the picture rates of broadcast and editing formats (MPEG-2's frame_rate_code table, SMPTE ST 2019 / DNxHR)
STANDARD_RATES = tuple(Fraction(r) for r in ("24000/1001", "24", "25", "30000/1001", "30", "48", "50", "60000/1001",
                                             "60"))


def is_standard_rate(rate: Rate) -> bool:
    return Fraction(rate) in STANDARD_RATES


def nearest_standard_rate(rate: Rate) -> Fraction:
    """The standard rate closest to ``rate`` by ratio (a 10.5 fps phone clip: 23.976; 24.5 VFR average: 24)."""
    return min(STANDARD_RATES, key=lambda r: max(r / Fraction(rate), Fraction(rate) / r))

_TIMECODE_RE = re.compile(r"^\s*(\d{1,2}):(\d{2}):(\d{2})([:;.,])(\d{2,3})\s*$")


class Timecode(NamedTuple):
    """A parsed timecode label; ``str()`` gives it back in canonical form."""

    hours: int
    minutes: int
    seconds: int
    frames: int
    drop_frame: bool

    def __str__(self) -> str:
        sep = ";" if self.drop_frame else ":"
        return f"{self.hours:02d}:{self.minutes:02d}:{self.seconds:02d}{sep}{self.frames:02d}"


def parse_timecode(text: str) -> Timecode:
    """Parse ``HH:MM:SS:FF``; ``;``, ``.`` or ``,`` before the frames marks drop-frame."""
    match = _TIMECODE_RE.match(text)
    if match is None:
        raise InvalidTimecode(f"not a timecode: {text!r} (expected HH:MM:SS:FF or HH:MM:SS;FF)")
    hours, minutes, seconds, sep, frames = match.groups()
    tc = Timecode(int(hours), int(minutes), int(seconds), int(frames), sep != ":")
    if tc.minutes > 59 or tc.seconds > 59:
        raise InvalidTimecode(f"not a timecode: {text!r} (minutes and seconds must be below 60)")
    return tc


def nominal_rate(rate: Rate) -> int:
    """The integer frame rate a timecode counts in: 24000/1001 -> 24, 30000/1001 -> 30."""
    nominal = round(Fraction(rate))
    if nominal <= 0:
        raise ValueError(f"frame rate must be positive, got {rate}")
    return nominal


def is_drop_frame_rate(rate: Rate) -> bool:
    """True for the NTSC rates that drop-frame timecode exists for (29.97, 59.94, ...)."""
    rate = Fraction(rate)
    if rate <= 0:
        return False
    nominal = round(rate)
    return nominal % 30 == 0 and rate != nominal and abs(rate * Fraction(1001, 1000) - nominal) < 0.01


def _dropped_per_minute(nominal: int) -> int:
    if nominal % 30:
        raise InvalidTimecode(f"drop-frame timecode needs a 29.97 or 59.94 rate, not {nominal} fps")
    return nominal // 15


def _day_frames(nominal: int, drop_frame: bool) -> int:
    day = 24 * 3600 * nominal
    return day - 24 * 54 * _dropped_per_minute(nominal) if drop_frame else day


def timecode_to_frames(tc: str | Timecode, rate: Rate, drop_frame: bool | None = None) -> int:
    """Frame number of a timecode label; ``drop_frame=None`` takes it from the separator."""
    parsed = parse_timecode(tc) if isinstance(tc, str) else tc
    nominal = nominal_rate(rate)
    drop = parsed.drop_frame if drop_frame is None else drop_frame
    if parsed.frames >= nominal:
        raise InvalidTimecode(f"timecode {tc} has frame {parsed.frames}; {nominal} fps counts 0..{nominal - 1}")
    total_minutes = 60 * parsed.hours + parsed.minutes
    frames = (60 * total_minutes + parsed.seconds) * nominal + parsed.frames
    if not drop:
        return frames
    dropped = _dropped_per_minute(nominal)
    if parsed.seconds == 0 and parsed.frames < dropped and parsed.minutes % 10:
        raise InvalidTimecode(f"timecode {tc} does not exist in drop-frame (labels 0..{dropped - 1} are skipped)")
    return frames - dropped * (total_minutes - total_minutes // 10)


def frames_to_timecode(frames: int, rate: Rate, drop_frame: bool = False) -> str:
    """Timecode label of a frame number (wraps at 24 hours); drop-frame labels use ``;``."""
    nominal = nominal_rate(rate)
    frames %= _day_frames(nominal, drop_frame)
    if drop_frame:
        dropped = _dropped_per_minute(nominal)
        per_ten_minutes = 600 * nominal - 9 * dropped
        per_minute = 60 * nominal - dropped
        tens, rest = divmod(frames, per_ten_minutes)
        frames += 9 * dropped * tens
        if rest >= dropped:
            frames += dropped * ((rest - dropped) // per_minute)
    seconds, ff = divmod(frames, nominal)
    minutes, ss = divmod(seconds, 60)
    hh, mm = divmod(minutes, 60)
    return str(Timecode(hh, mm, ss, ff, drop_frame))


def seconds_to_timecode(
    seconds: float | Fraction,
    rate: Rate,
    start: str | None = None,
    drop_frame: bool = False,
) -> str:
    """Label of the frame nearest to ``seconds`` after ``start`` (a drop-frame start implies drop-frame)."""
    offset = round(Fraction(seconds) * Fraction(rate))
    if start is None:
        return frames_to_timecode(offset, rate, drop_frame)
    start_tc = parse_timecode(start)
    drop = drop_frame or start_tc.drop_frame
    return frames_to_timecode(timecode_to_frames(start_tc, rate, drop) + offset, rate, drop)
