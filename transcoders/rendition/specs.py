"""What a render needs and gives: the preset protocols (duck-typed ``delivery.presets.Preset``), the
source facts, the loudness measurement, the result, and the encoder tables."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol

PathLike = str | os.PathLike[str]

X264_PRESET = "medium"
X265_PRESET = "medium"
VP9_CPU_USED = 4  # libvpx "good" deadline speed: 4 is the usual VOD trade-off
HLS_SEGMENT_S = 6  # Apple's HLS authoring spec: 6 s segments
LOSSY_TP_HEADROOM_DB = 1.0  # lossy decoders overshoot the encoded true peak: aim this far under the ceiling
MEASURE_FRACTION = 0.1  # share of the progress bar spent on the loudness measurement
LIMITER_MARGIN_DB = 0.3  # the true-peak limiter's ceiling sits this far under the preset's (resampling, encoding)
LIMITER_OVERSAMPLE_HZ = 192000  # the limiter runs at 4x 48 kHz, so it holds true (inter-sample) peaks, not samples
LIMITER_PROBE_STEP_DB = 2.0  # the limited chain is measured at the plain gain and this much above, then interpolated
SPEED_UP_LIMIT = 0.05  # rate_change "speed-up" applies to a source rate within 5 % of the preset's (film to PAL)
BLUR_SCALE = 8  # the blur-pad backdrop is blurred at 1/8 size: same look, a fraction of the work

_TIMECODE_CONTAINERS = ("mxf", "mov", "mp4")
_LOSSY_AUDIO = ("aac", "opus", "mp3")
_LAYOUTS = {1: "mono", 2: "stereo", 3: "3.0", 4: "quad", 6: "5.1", 8: "7.1"}
_AUDIO_ENCODERS = {
    "aac": "aac",
    "pcm_s24le": "pcm_s24le",
    "pcm_s16le": "pcm_s16le",
    "opus": "libopus",
    "mp3": "libmp3lame",
}
# audio codec names as PyAV's decoders report them (for verify_media; None: not checked). Video decoders
# report the encoder family's own name (h264, hevc, mpeg2video, prores, dnxhd, vp9).
_DECODED_AUDIO = {"aac": "aac", "pcm_s24le": "pcm_s24le", "pcm_s16le": "pcm_s16le", "opus": "opus", "mp3": None}
_STANDARD_RATE_CODECS = ("mpeg2video", "dnxhd")  # encoders that refuse a rate outside the standard ones
_MIN_FRAME = {"dnxhd": (256, 120)}  # the smallest picture an encoder takes (ffmpeg's dnxhd: DNxHR's 256x120)
_PRORES_PROFILES = {"proxy": 0, "lt": 1, "standard": 2, "422": 2, "hq": 3, "4444": 4, "4444xq": 5}
_MUXERS = {"mxf": "mxf", "mov": "mov", "mp4": "mp4", "webm": "webm", "wav": "wav", "mp3": "mp3", "hls": "hls"}


# --------------------------------------------------------------------------- what render needs


class VideoSpecLike(Protocol):
    """The video section of a preset (``delivery.presets.VideoSpec``)."""

    @property
    def codec(self) -> str: ...
    @property
    def profile(self) -> str | None: ...
    @property
    def width(self) -> int | None: ...
    @property
    def height(self) -> int | None: ...
    @property
    def frame_rate(self) -> str | None: ...
    @property
    def scan(self) -> str: ...
    @property
    def pix_fmt(self) -> str: ...
    @property
    def bitrate(self) -> str | None: ...
    @property
    def crf(self) -> int | None: ...
    @property
    def max_bitrate(self) -> str | None: ...
    @property
    def gop(self) -> int | None: ...
    @property
    def gop_s(self) -> float | None: ...
    @property
    def reframe(self) -> str: ...
    @property
    def rate_change(self) -> str: ...


class AudioSpecLike(Protocol):
    @property
    def codec(self) -> str: ...
    @property
    def channels(self) -> int: ...
    @property
    def sample_rate(self) -> int: ...
    @property
    def bitrate(self) -> str | None: ...


class LoudnessSpecLike(Protocol):
    @property
    def integrated(self) -> float: ...
    @property
    def true_peak(self) -> float: ...


class CaptionSpecLike(Protocol):
    @property
    def burn_in(self) -> bool: ...


class PresetLike(Protocol):
    """What :func:`render` reads of a preset (``delivery.presets.Preset`` fits)."""

    @property
    def name(self) -> str: ...
    @property
    def container(self) -> str: ...
    @property
    def video(self) -> VideoSpecLike | None: ...
    @property
    def audio(self) -> AudioSpecLike | None: ...
    @property
    def loudness(self) -> LoudnessSpecLike | None: ...
    @property
    def timecode(self) -> bool: ...
    @property
    def max_duration_s(self) -> float | None: ...
    @property
    def captions(self) -> CaptionSpecLike: ...
    @property
    def ladder(self) -> Sequence[VideoSpecLike] | None: ...


@dataclass(frozen=True)
class SourceFacts:
    """The source as probed (``analyzers.probe.MediaInfo`` has every field)."""

    width: int
    height: int
    sar: Fraction = Fraction(1)
    rotation: int = 0  # degrees; ffmpeg autorotates, so 90/270 swap the displayed size
    frame_rate: Fraction | None = None
    field_order: str = "progressive"  # "progressive" | "tff" | "bff" | "unknown"
    has_audio: bool = True
    duration_s: float | None = None
    start_timecode: str | None = None
    drop_frame: bool = False
    audio_channels: int | None = None  # of the first audio stream; None: let the resampler map it

    @property
    def interlaced(self) -> bool:
        return self.field_order in ("tff", "bff")


SILENCE_LUFS = -70.0  # what BS.1770 reports when no block passes the absolute gate (digital silence)
SOURCE_SILENT, SOURCE_WITHOUT_SOUND = "silent", "none"  # RenditionResult.sound


@dataclass(frozen=True)
class LoudnessMeasurement:
    """Pass 1: BS.1770 figures of the delivered stretch, after the output's channel mix."""

    integrated_lufs: float
    true_peak_dbtp: float
    lra_lu: float
    threshold_lufs: float  # the relative gate of the integrated measurement

    @property
    def silent(self) -> bool:
        """Nothing above BS.1770's absolute gate (-70 LUFS): no gain can bring silence to a loudness target."""
        return self.integrated_lufs <= SILENCE_LUFS


@dataclass(frozen=True)
class Leveling:
    """How the programme reaches its loudness target: a gain, and a true-peak limiter when the gain alone would
    push the peaks over the preset's ceiling (speech, effects and music with a high crest factor)."""

    gain_db: float
    limit_dbtp: float | None = None  # the limiter's ceiling; None: a plain (linear) gain
    unlimited_peak_dbtp: float | None = None  # where the true peak would have gone with the gain alone

    @property
    def method(self) -> str:
        return "linear" if self.limit_dbtp is None else "limited"

    def describe(self) -> str:
        """For the QC report: which way the target was met."""
        if self.limit_dbtp is None:
            return f"linear gain {self.gain_db:+.1f} dB"
        return (f"gain {self.gain_db:+.1f} dB through a true-peak limiter at {self.limit_dbtp:.1f} dBTP; a plain gain "
                f"would have peaked at {self.unlimited_peak_dbtp:+.1f} dBTP")


@dataclass(frozen=True)
class RenditionResult:
    """A rendition written and verified. ``variants`` lists an HLS rendition's variant playlists."""

    path: Path
    preset: str
    duration_s: float
    size: int
    elapsed_s: float
    measured: LoudnessMeasurement | None
    leveling: Leveling | None  # how the loudness target was met; None when none applied
    timecode: str | None  # the start timecode written, if any
    argv: tuple[str, ...]
    variants: tuple[Path, ...] = ()
    # the source's sound when no loudness target applied: SOURCE_SILENT (below the absolute gate) or
    # SOURCE_WITHOUT_SOUND (no audio stream: the preset's tracks carry silence); None when normalised as usual
    sound: str | None = None

    @property
    def normalization(self) -> str | None:
        """"linear" (a plain gain) or "limited" (gain and a true-peak limiter); None when no target applied."""
        return self.leveling.method if self.leveling is not None else None
