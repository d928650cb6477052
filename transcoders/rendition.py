"""Delivery renditions: one source rendered to a delivery preset, loudness-normalised in two passes.

:func:`render` takes a preset object (duck-typed: anything shaped like ``delivery.presets.Preset``, see
:class:`PresetLike`; transcoders never import delivery/) and plain facts about the source
(:class:`SourceFacts`), and writes an atomic, verified output:

1. **Measure** (only when the preset has a loudness target and the source has audio): an audio-only
   ffmpeg pass runs the output's channel mix and ``loudnorm=I:TP:LRA:print_format=json``
   over exactly the stretch that will be delivered.
2. **Render**: the whole transcode in one ffmpeg run, the audio through ``loudnorm`` with the
   ``measured_*`` figures and ``linear=true`` (a plain gain when the peak allows it, else loudnorm's
   true-peak limited mode), then resampled to the preset's rate and channel layout.

:func:`render_args` is the single source of the pass-2 command, so a benchmark or a test can read or run
the very same arguments. Geometry, interlacing and timecode are planned by small pure functions
(:func:`plan_geometry`, :func:`output_timecode`).

HLS presets write one ffmpeg run with every rung (``-var_stream_map``) plus a master playlist; ``dst``
is the master playlist inside a folder of its own, and that whole folder is replaced atomically.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Protocol

from rushes.errors import MediaError, OutputError
from rushes.timecode import is_drop_frame_rate, nominal_rate, parse_timecode, timecode_to_frames
from transcoders.ffmpeg import ProgressCallback, media_arg, run_ffmpeg
from transcoders.outputs import VerifiedMedia, atomic_output, verify_media

logger = logging.getLogger(__name__)

__all__ = [
    "Geometry",
    "LoudnessMeasurement",
    "PresetLike",
    "RenditionResult",
    "SourceFacts",
    "expected_duration",
    "measure_loudness",
    "mono_tracks",
    "output_timecode",
    "plan_geometry",
    "render",
    "render_args",
    "rung_name",
    "timecode_seconds",
]

PathLike = str | os.PathLike[str]

X264_PRESET = "medium"
X265_PRESET = "medium"
VP9_CPU_USED = 4  # libvpx "good" deadline speed: 4 is the usual VOD trade-off
HLS_SEGMENT_S = 6  # Apple's HLS authoring spec: 6 s segments
LOSSY_TP_HEADROOM_DB = 1.0  # lossy decoders overshoot the encoded true peak: aim this far under the ceiling
MEASURE_FRACTION = 0.1  # share of the progress bar spent on the loudness measurement
DEFAULT_LRA = 7.0  # loudnorm's LRA target, raised above the measured LRA so a plain gain is allowed
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
# codec names as PyAV's decoders report them (for verify_media)
_DECODED_AUDIO = {"aac": "aac", "pcm_s24le": "pcm_s24le", "pcm_s16le": "pcm_s16le", "opus": "opus", "mp3": None}
_DECODED_VIDEO = {
    "h264": "h264",
    "hevc": "hevc",
    "mpeg2video": "mpeg2video",
    "prores": "prores",
    "dnxhd": "dnxhd",
    "vp9": "vp9",
}
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


@dataclass(frozen=True)
class LoudnessMeasurement:
    """Pass 1: BS.1770 figures of the delivered stretch, after the output's channel mix."""

    integrated_lufs: float
    true_peak_dbtp: float
    lra_lu: float
    threshold_lufs: float  # the relative gate of the integrated measurement

    def loudnorm_args(self) -> str:
        """loudnorm's ``measured_*`` options (``offset`` only matters in its dynamic mode).

        A clip shorter than ebur128's 3 s LRA window measures LRA 0, which loudnorm reads as "not measured"
        and answers with its dynamic mode (2 LU off on a 2 s clip): 0 is sent as 0.1.
        """
        return (
            f"measured_I={self.integrated_lufs:.2f}:measured_TP={self.true_peak_dbtp:.2f}"
            f":measured_LRA={max(self.lra_lu, 0.1):.2f}:measured_thresh={self.threshold_lufs:.2f}:offset=0"
        )


@dataclass(frozen=True)
class RenditionResult:
    """A rendition written and verified. ``variants`` lists an HLS rendition's variant playlists."""

    path: Path
    preset: str
    duration_s: float
    size: int
    elapsed_s: float
    measured: LoudnessMeasurement | None
    normalization: str | None  # loudnorm's verdict: "linear" (a plain gain) or "dynamic" (true-peak limited)
    timecode: str | None  # the start timecode written, if any
    argv: tuple[str, ...]
    variants: tuple[Path, ...] = ()


# --------------------------------------------------------------------------- geometry


@dataclass(frozen=True)
class Geometry:
    """Output frame ``width``x``height``; the picture is scaled to ``fit_*`` (fit/blur-pad) or ``fill_*`` (crop)."""

    width: int
    height: int
    mode: str  # "none" | "crop" | "blur-pad"
    fit_width: int
    fit_height: int
    fill_width: int
    fill_height: int


def _even(value: Fraction | float) -> int:
    return max(2, 2 * round(Fraction(value) / 2))


def display_size(width: int, height: int, sar: Fraction, rotation: int) -> tuple[Fraction, Fraction]:
    """The upright, square-pixel size of the picture."""
    aspect = Fraction(sar) if sar and sar > 0 else Fraction(1)
    w, h = Fraction(width) * aspect, Fraction(height)
    return (h, w) if round(rotation / 90) % 2 else (w, h)


def plan_geometry(source: SourceFacts, video: VideoSpecLike) -> Geometry:
    """Where the picture goes. Without ``reframe`` the aspect is kept and the frame is the fitted picture.

    A missing preset width or height follows from the source's aspect; a fitted size within 2 pixels of the
    preset's box (rounding) snaps to the box, so a 16:9 source fills a 1920x1080 preset exactly.
    """
    disp_w, disp_h = display_size(source.width, source.height, source.sar, source.rotation)
    box_w, box_h = video.width, video.height
    if box_w is None and box_h is None:
        box_w, box_h = _even(disp_w), _even(disp_h)
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


# --------------------------------------------------------------------------- pass 1: loudness


# "[Parsed_ebur128_0 @ 0x…] [info] Summary:" -> "Summary:"
_TAGS = re.compile(r"^(?:\[[^\]]*\] ?)*")
_NUMBER = r"(-?(?:\d+(?:\.\d*)?|\.\d+)|-?inf|nan)"
_SUMMARY = {
    "integrated_lufs": re.compile(rf"^\s*I:\s*{_NUMBER}\s*LUFS"),
    "threshold_lufs": re.compile(rf"^\s*Threshold:\s*{_NUMBER}\s*LUFS"),
    "lra_lu": re.compile(rf"^\s*LRA:\s*{_NUMBER}\s*LU\b"),
    "true_peak_dbtp": re.compile(rf"^\s*Peak:\s*{_NUMBER}\s*dB"),
}
_NORMALIZATION = re.compile(r"Normalization Type:\s*(\w+)")
SILENCE_LUFS = -70.0  # what BS.1770 reports for digital silence


def _tp_target(preset: PresetLike) -> float:
    assert preset.loudness is not None
    lossy = preset.audio is not None and preset.audio.codec in _LOSSY_AUDIO
    return max(-9.0, preset.loudness.true_peak - (LOSSY_TP_HEADROOM_DB if lossy else 0.0))


def measure_loudness(
    src: PathLike,
    preset: PresetLike,
    source: SourceFacts,
    *,
    duration_s: float | None = None,
    on_progress: ProgressCallback | None = None,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
) -> LoudnessMeasurement:
    """Pass 1: the audio as it will be delivered (mixed, cut to ``duration_s``), measured by ``ebur128``.

    ``ebur128`` rather than loudnorm's own first pass: loudnorm's JSON under-reads short clips (its 3 s
    look-ahead: -28.67 against -28.4 LUFS for a 4 s clip), which then shows as an offset at QC. Its
    integrated loudness, gate, LRA and true peak are exactly loudnorm's ``measured_*`` inputs.
    """
    if preset.audio is None:
        raise ValueError(f"preset {preset.name} has no audio")
    chain = ",".join([*_audio_mix(source, preset.audio), "ebur128=peak=true:framelog=quiet"])
    args = [
        "-i",
        media_arg(src),
        "-map",
        "0:a:0",
        "-vn",
        "-sn",
        "-dn",
        "-af",
        chain,
        *(["-t", f"{duration_s:.6f}"] if duration_s else []),
        "-f",
        "null",
        "-",
    ]
    run = run_ffmpeg(
        args, duration_s=duration_s, on_progress=on_progress, timeout=timeout, cancel=cancel, stderr_lines=None
    )
    found = _parse_summary(run.stderr_tail.splitlines())
    missing = [key for key in _SUMMARY if key not in found]
    if missing:
        raise MediaError(f"ebur128 printed no {', '.join(missing)} for {Path(src).name}")

    def finite(value: float) -> float:  # digital silence: "-inf" peak, -70 LUFS
        return value if math.isfinite(value) else SILENCE_LUFS

    return LoudnessMeasurement(
        integrated_lufs=finite(found["integrated_lufs"]),
        true_peak_dbtp=finite(found["true_peak_dbtp"]),
        lra_lu=finite(found["lra_lu"]),
        threshold_lufs=finite(found["threshold_lufs"]),
    )


def _parse_summary(lines: list[str]) -> dict[str, float]:
    """The first ``I``, ``Threshold``, ``LRA`` and ``Peak`` of the last ebur128 summary."""
    found: dict[str, float] = {}
    for raw in lines:
        line = _TAGS.sub("", raw, count=1)
        if line.strip() == "Summary:":
            found = {}
            continue
        for name, pattern in _SUMMARY.items():
            if name not in found and (match := pattern.match(line)):
                found[name] = float(match.group(1))
    return found


# --------------------------------------------------------------------------- filter graphs


def _layout(channels: int) -> str:
    return _LAYOUTS.get(channels, f"{channels}c")


def _programme_channels(source: SourceFacts, audio: AudioSpecLike) -> int:
    """Channels the loudness is measured and normalised on: the source's, mixed down to the preset's when
    it has more; a mono source becomes dual mono; channels the preset has beyond these stay silent (mapped,
    never up-mixed: 8-track XDCAM carries the stereo programme on tracks 1/2)."""
    src, out = source.audio_channels, audio.channels
    if src is None or src >= out:
        return out
    return min(2, out) if src == 1 else src


def _audio_mix(source: SourceFacts, audio: AudioSpecLike) -> list[str]:
    """The explicit channel mix to the programme layout (before loudness, so pass 1 measures what ships)."""
    src, programme = source.audio_channels, _programme_channels(source, audio)
    layout = _layout(programme)
    if src == programme:
        return [f"aformat=channel_layouts={layout}"] if src in _LAYOUTS else []
    if src == 1:  # dual mono: the signal on both programme channels at full level
        return [f"pan={layout}|" + "|".join(f"c{i}=c0" for i in range(programme))]
    # downmix: swresample's ITU-R BS.775 matrix (centre and surrounds at -3 dB, LFE dropped)
    return [f"aresample=out_chlayout={layout}"]


def _audio_graph(
    source: SourceFacts,
    preset: PresetLike,
    measured: LoudnessMeasurement | None,
    outputs: Sequence[str],
    *,
    mono_tracks: bool = False,
) -> str:
    """Filter graph from ``[0:a:0]`` to ``outputs``: mix, loudness, resample, then the preset's channel layout.

    ``mono_tracks`` (MXF) gives one mono output per channel, each labelled ``{outputs[0]}{k}``; otherwise
    every label in ``outputs`` gets a copy of the whole layout (HLS rungs).
    """
    audio = preset.audio
    assert audio is not None
    programme = _programme_channels(source, audio)
    steps = _audio_mix(source, audio)
    if preset.loudness is not None and measured is not None:
        lra = min(50.0, max(DEFAULT_LRA, math.ceil(measured.lra_lu + 1)))  # a plain gain whenever TP allows
        steps.append(
            f"loudnorm=I={preset.loudness.integrated:g}:TP={_tp_target(preset):g}:LRA={lra:g}:"
            f"{measured.loudnorm_args()}:linear=true:print_format=summary"
        )
    steps.append(f"aresample={audio.sample_rate}:resampler=soxr:precision=28")
    steps.append(f"aformat=sample_rates={audio.sample_rate}:channel_layouts={_layout(programme)}")
    chain = "[0:a:0]" + ",".join(steps)
    if mono_tracks and audio.channels > 1:
        labels = [f"{outputs[0]}{k}" for k in range(audio.channels)]
        split = f"{chain},asplit={audio.channels}" + "".join(f"[{lab}_in]" for lab in labels)
        tracks = [
            f"[{lab}_in]pan=mono|c0={f'c{k}' if k < programme else '0*c0'}[{lab}]" for k, lab in enumerate(labels)
        ]
        return ";".join([split, *tracks])
    if audio.channels > programme:  # silent channels after the programme
        chain += f",pan={_layout(audio.channels)}|" + "|".join(f"c{i}=c{i}" for i in range(programme))
    if len(outputs) == 1:
        return f"{chain}[{outputs[0]}]"
    return f"{chain},asplit={len(outputs)}" + "".join(f"[{lab}]" for lab in outputs)


def mono_tracks(preset: PresetLike) -> bool:
    """MXF carries one mono track per channel (SMPTE RDD 9 / XDCAM, Avid); other containers one stream."""
    return preset.container == "mxf" and preset.audio is not None and preset.audio.channels > 1


def _rate(value: str | None) -> Fraction | None:
    return Fraction(value) if value else None


def _out_rate(video: VideoSpecLike, source: SourceFacts) -> Fraction | None:
    return _rate(video.frame_rate) or source.frame_rate


def _picture_chain(source: SourceFacts, video: VideoSpecLike, subtitles: Path | None) -> str:
    """Deinterlace/interlace, rate, scale/reframe, captions and pixel format for one output picture.

    The result starts from a single input pad and may contain ``;``-separated sub-graphs (blur-pad).
    """
    out_rate = _out_rate(video, source)
    out_interlaced = video.scan in ("tff", "bff")
    geo = plan_geometry(source, video)
    pre: list[str] = []
    post: list[str] = []
    scale_opts = ":out_color_matrix=bt709:out_range=tv"
    same_rate = out_rate is None or source.frame_rate == out_rate
    if out_interlaced:
        field = video.scan
        if source.interlaced and same_rate:
            scale_opts += ":interl=1"
            if source.field_order != field:
                pre.append(f"fieldorder={field}")
        elif same_rate:  # progressive at the output rate: segmented frames (PsF), coded as fields
            pass
        else:  # make twice the output rate progressive, then weave fields
            assert out_rate is not None
            if source.interlaced:
                pre.append("bwdif=mode=send_field:parity=auto:deint=all")
            pre.append(f"fps={out_rate * 2}")
            post.append(f"interlace=scan={field}:lowpass=complex")
        post.append(f"setfield={field}")
    else:
        if source.interlaced:
            pre.append("bwdif=mode=send_frame:parity=auto:deint=all")
        if not same_rate:
            pre.append(f"fps={out_rate}")
        post.append("setfield=prog")
    if subtitles is not None:
        style = "FontName=DejaVu Sans,FontSize=16,Outline=1,Shadow=0,MarginV=24"
        post.insert(0, f"subtitles=filename={_filter_value(str(subtitles))}:force_style={_filter_value(style)}")
    post.append(f"format={video.pix_fmt}")
    head = ",".join(pre)
    tail = ",".join(post)
    if geo.mode == "blur-pad":
        small_w, small_h = _even(geo.width / BLUR_SCALE), _even(geo.height / BLUR_SCALE)
        back = (
            f"scale={small_w}:{small_h}:force_original_aspect_ratio=increase,crop={small_w}:{small_h},"
            f"boxblur=luma_radius=10:luma_power=2,scale={geo.width}:{geo.height}{scale_opts}"
        )
        front = f"scale={geo.fit_width}:{geo.fit_height}{scale_opts}"
        return (
            f"{head + ',' if head else ''}split=2[bp_back][bp_front];[bp_back]{back}[bp_b];"
            f"[bp_front]{front}[bp_f];[bp_b][bp_f]overlay=(W-w)/2:(H-h)/2:format=auto,setsar=1,{tail}"
        )
    if geo.mode == "crop":
        scale = f"scale={geo.fill_width}:{geo.fill_height}{scale_opts},crop={geo.width}:{geo.height}"
    else:
        scale = f"scale={geo.width}:{geo.height}{scale_opts}"
    return ",".join(p for p in (head, scale, "setsar=1", tail) if p)


def _filter_value(text: str) -> str:
    """Escape a filter option value for a filtergraph (both levels of ffmpeg's filtergraph escaping)."""
    level1 = re.sub(r"([\\':])", r"\\\1", text)
    return re.sub(r"([\\'\[\],;])", r"\\\1", level1)


# --------------------------------------------------------------------------- codecs


def _gop(video: VideoSpecLike, rate: Fraction | None, default_s: float = 2.0) -> int:
    """Frames between keyframes: the preset's ``gop``, else ``gop_s`` (or ``default_s``) at the output rate."""
    if video.gop:
        return video.gop
    seconds = getattr(video, "gop_s", None) or default_s
    return max(1, round(float(rate or 25) * seconds))


def _bits(value: str) -> int:
    """``"50M"`` -> 50_000_000, ``"800k"`` -> 800_000."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)\s*", value)
    if match is None:
        raise ValueError(f"not a bitrate: {value!r}")
    factor = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}[match.group(2).lower()]
    return round(float(match.group(1)) * factor)


def _video_codec_args(video: VideoSpecLike, rate: Fraction | None, container: str) -> list[str]:
    """Encoder options, every one written with a bare ``:v`` stream specifier (see :func:`_specified`)."""
    interlaced = video.scan in ("tff", "bff")
    field_flags = ["-flags:v", "+ilme+ildct"] if interlaced else []
    color = ["-color_primaries:v", "bt709", "-color_trc:v", "bt709", "-colorspace:v", "bt709"]
    common = ["-pix_fmt:v", video.pix_fmt, *color]
    codec = video.codec
    if codec == "mpeg2video":  # Sony XDCAM HD422 style: 4:2:2P@HL, CBR, long GOP 12 (15 at 29.97)
        bitrate = video.bitrate or "50M"
        buffer = str(min(_bits(bitrate) // 3, 47_185_920))  # ~1/3 s of VBV, within 4:2:2P@HL's limit
        profile = ["-profile:v", "0", "-level:v", "2"] if (video.profile or "422") == "422" else []
        return [
            "-c:v", "mpeg2video", *profile,
            "-b:v", bitrate, "-minrate:v", bitrate, "-maxrate:v", bitrate,
            "-bufsize:v", buffer, "-rc_init_occupancy:v", buffer,
            "-rc_max_vbv_use:v", "1", "-rc_min_vbv_use:v", "1",
            "-g:v", str(video.gop or (15 if rate and round(rate) == 30 else 12)), "-bf:v", "2",
            "-sc_threshold:v", "1000000000",
            "-non_linear_quant:v", "1", "-intra_vlc:v", "1", "-intra_dc_precision:v", "2",
            "-qmin:v", "1", "-qmax:v", "12", "-lmin:v", "1*QP2LAMBDA",
            *(["-alternate_scan:v", "1"] if interlaced else []), "-seq_disp_ext:v", "1", "-video_format:v", "1",
            *field_flags, *common,
        ]  # fmt: skip
    if codec == "prores":
        profile = _PRORES_PROFILES.get((video.profile or "hq").lower(), 3)
        return ["-c:v", "prores_ks", "-profile:v", str(profile), "-vendor:v", "apl0", *field_flags, *common]
    if codec == "dnxhd":
        profile = video.profile or "dnxhr_hq"
        rate_args = ["-b:v", video.bitrate] if video.bitrate else []
        return ["-c:v", "dnxhd", "-profile:v", profile, *rate_args, *field_flags, *common]
    if codec in ("h264", "hevc"):
        gop = str(_gop(video, rate))
        quality = ["-crf:v", str(video.crf)] if video.crf is not None else []
        if video.bitrate:
            quality += ["-b:v", video.bitrate]
        if video.max_bitrate:
            quality += ["-maxrate:v", video.max_bitrate, "-bufsize:v", str(2 * _bits(video.max_bitrate))]
        if not quality:
            quality = ["-crf:v", "23"]
        if codec == "h264":
            profile = ["-profile:v", video.profile or "high"]
            return [
                "-c:v",
                "libx264",
                "-preset:v",
                X264_PRESET,
                *profile,
                *quality,
                "-g:v",
                gop,
                "-keyint_min:v",
                gop,
                "-sc_threshold:v",
                "0",
                *field_flags,
                *common,
            ]
        tag = ["-tag:v", "hvc1"] if container in ("mp4", "mov") else []
        return [
            "-c:v",
            "libx265",
            "-preset:v",
            X265_PRESET,
            *quality,
            "-g:v",
            gop,
            "-keyint_min:v",
            gop,
            "-x265-params:v",
            "log-level=error",
            *tag,
            *common,
        ]
    if codec == "vp9":
        gop = str(_gop(video, rate, default_s=4.0))
        crf = str(video.crf if video.crf is not None else 32)
        # -b:v 0 is constant quality; a max bitrate makes it constrained quality with that cap
        cap = video.max_bitrate or video.bitrate or "0"
        profile = ["-profile:v", video.profile] if video.profile else []
        return [
            "-c:v",
            "libvpx-vp9",
            *profile,
            "-crf:v",
            crf,
            "-b:v",
            cap,
            "-deadline:v",
            "good",
            "-cpu-used:v",
            str(VP9_CPU_USED),
            "-row-mt:v",
            "1",
            "-g:v",
            gop,
            *common,
        ]
    raise ValueError(f"unsupported video codec {codec!r}")


def _specified(args: list[str], spec: str) -> list[str]:
    """Rewrite every ``-opt:v`` option to ``-opt:<spec>`` (e.g. ``-crf:v:1`` for HLS variant 1)."""
    return [f"{a[:-2]}:{spec}" if a.startswith("-") and a.endswith(":v") else a for a in args]


def _audio_codec_args(audio: AudioSpecLike) -> list[str]:
    args = ["-c:a", _AUDIO_ENCODERS[audio.codec]]
    if audio.codec in _LOSSY_AUDIO:
        args += ["-b:a", audio.bitrate or ("320k" if audio.codec == "mp3" else "128k")]
    if audio.codec == "opus" and audio.sample_rate != 48000:
        logger.warning("Opus always decodes at 48 kHz; %d Hz asked", audio.sample_rate)
    return args


def _container_args(preset: PresetLike, source: SourceFacts, timecode: str | None) -> list[str]:
    container = preset.container
    if container == "mp4":
        return ["-movflags", "+faststart", "-f", "mp4"]
    if container == "mov":
        return ["-movflags", "+write_colr", "-f", "mov"]
    if container == "wav":
        args = [
            "-rf64",
            "auto",
            "-write_bext",
            "1",
            "-metadata",
            f"description={preset.name}"[:256],
            "-metadata",
            "originator=Rushes",
        ]
        if preset.timecode and timecode and source.frame_rate and preset.audio is not None:
            seconds = timecode_seconds(timecode, source.frame_rate)
            args += ["-metadata", f"time_reference={round(seconds * preset.audio.sample_rate)}"]
        return [*args, "-f", "wav"]
    if container == "mp3":
        return ["-id3v2_version", "3", "-write_xing", "1", "-f", "mp3"]
    return ["-f", _MUXERS[container]]


# --------------------------------------------------------------------------- the pass-2 command


def _rungs(preset: PresetLike) -> list[VideoSpecLike]:
    """HLS rungs, largest first: ``video`` (the top rung) plus the ladder, without repeats."""
    assert preset.video is not None
    rungs: list[VideoSpecLike] = [preset.video]
    for rung in preset.ladder or ():
        if rung not in rungs:
            rungs.append(rung)
    return sorted(rungs, key=lambda r: -(r.height or 0))


def rung_name(source: SourceFacts, rung: VideoSpecLike) -> str:
    """A variant's name in the HLS folder, e.g. ``720p``."""
    return f"{plan_geometry(source, rung).height}p"


def expected_duration(source: SourceFacts, preset: PresetLike) -> float | None:
    """The output's length: the source's, cut at the preset's ``max_duration_s``."""
    durations = [d for d in (source.duration_s, preset.max_duration_s) if d]
    return min(durations) if durations else None


def render_args(
    src: PathLike,
    dst: PathLike,
    preset: PresetLike,
    *,
    source: SourceFacts,
    measured: LoudnessMeasurement | None = None,
    subtitles: PathLike | None = None,
) -> list[str]:
    """The pass-2 ffmpeg arguments (without the runner's prefix). For HLS ``dst`` is the master playlist."""
    burn = Path(subtitles) if subtitles is not None and preset.captions.burn_in else None
    duration = expected_duration(source, preset)
    audio = preset.audio if source.has_audio else None
    if preset.audio is not None and not source.has_audio:
        logger.warning("%s: the source has no audio; the rendition has none either", preset.name)
    if preset.container == "hls":
        graphs, maps, codec_args, extra = _hls_parts(dst, preset, source, audio, measured)
    else:
        graphs, maps, codec_args, extra = _file_parts(dst, preset, source, audio, measured, burn)
    return [
        "-i", media_arg(src),
        "-filter_complex", ";".join(graphs), *maps,
        *(["-vn"] if preset.video is None else []), *(["-an"] if audio is None else []), "-sn", "-dn",
        "-map_metadata", "-1", "-map_chapters", "-1",
        *codec_args,
        *(["-t", f"{duration:.6f}"] if preset.max_duration_s and duration else []),
        "-threads", "0",
        *extra,
    ]  # fmt: skip


_Parts = tuple[list[str], list[str], list[str], list[str]]  # filter graphs, maps, codec options, output options


def _file_parts(
    dst: PathLike,
    preset: PresetLike,
    source: SourceFacts,
    audio: AudioSpecLike | None,
    measured: LoudnessMeasurement | None,
    burn: Path | None,
) -> _Parts:
    graphs: list[str] = []
    maps: list[str] = []
    codec_args: list[str] = []
    if preset.video is not None:
        graphs.append(f"[0:v:0]{_picture_chain(source, preset.video, burn)}[vout]")
        maps += ["-map", "[vout]"]
        codec_args += _video_codec_args(preset.video, _out_rate(preset.video, source), preset.container)
    if audio is not None:
        tracks = mono_tracks(preset)
        graphs.append(_audio_graph(source, preset, measured, ["aout"], mono_tracks=tracks))
        labels = [f"aout{k}" for k in range(audio.channels)] if tracks else ["aout"]
        for label in labels:
            maps += ["-map", f"[{label}]"]
        codec_args += _audio_codec_args(audio)
    tc = output_timecode(
        source.start_timecode,
        source.frame_rate,
        _out_rate(preset.video, source) if preset.video else source.frame_rate,
        drop_frame=source.drop_frame,
    )
    extra = [*_timecode_args(preset, tc), *_container_args(preset, source, tc), media_arg(dst)]
    return graphs, maps, codec_args, extra


def _hls_parts(
    dst: PathLike,
    preset: PresetLike,
    source: SourceFacts,
    audio: AudioSpecLike | None,
    measured: LoudnessMeasurement | None,
) -> _Parts:
    """Every rung from one decode (``split``), keyframes aligned across rungs, one shared audio rendition."""
    assert preset.video is not None
    rungs = _rungs(preset)
    rate = _out_rate(preset.video, source)
    base = _rungs_base(source, preset.video)
    graphs = [f"[0:v:0]{base + ',' if base else ''}split={len(rungs)}" + "".join(f"[hv{i}]" for i in range(len(rungs)))]
    maps: list[str] = []
    codec_args: list[str] = []
    stream_map: list[str] = []
    group = ",agroup:audio" if audio is not None else ""
    unit = replace(source, frame_rate=rate, field_order="progressive")
    for i, rung in enumerate(rungs):
        graphs.append(f"[hv{i}]{_picture_chain(unit, _progressive(rung), None)}[v{i}]")
        maps += ["-map", f"[v{i}]"]
        video_args = _video_codec_args(rung, rate, "hls")
        if not (rung.max_bitrate or rung.bitrate):  # the master playlist needs a BANDWIDTH for every variant
            geo = plan_geometry(source, rung)
            cap = round(geo.width * geo.height * float(rate or 25) * 0.12)
            video_args += ["-maxrate:v", str(cap), "-bufsize:v", str(2 * cap)]
        # IDR frames at the same instants in every rung, so players can switch at any segment boundary
        key_s = _gop(rung, rate) / float(rate or 25)
        video_args += ["-force_key_frames:v", f"expr:gte(t,n_forced*{key_s:g})"]
        codec_args += _specified(video_args, f"v:{i}")
        stream_map.append(f"v:{i}{group},name:{rung_name(source, rung)}")
    if audio is not None:
        graphs.append(_audio_graph(source, preset, measured, ["aout"]))
        maps += ["-map", "[aout]"]
        codec_args += _audio_codec_args(audio)
        stream_map.append("a:0,agroup:audio,name:audio")
    folder = Path(dst).parent
    extra = [
        "-f",
        "hls",
        "-hls_time",
        str(HLS_SEGMENT_S),
        "-hls_playlist_type",
        "vod",
        "-hls_flags",
        "independent_segments",
        "-hls_segment_type",
        "mpegts",
        "-hls_segment_filename",
        media_arg(folder / "%v_%05d.ts"),
        "-master_pl_name",
        Path(dst).name,
        "-var_stream_map",
        " ".join(stream_map),
        media_arg(folder / "%v.m3u8"),
    ]
    return graphs, maps, codec_args, extra


def _rungs_base(source: SourceFacts, top: VideoSpecLike) -> str:
    """What every HLS rung shares before the split: deinterlacing and the frame rate of the top rung."""
    steps = []
    if source.interlaced:
        steps.append("bwdif=mode=send_frame:parity=auto:deint=all")
    rate = _rate(top.frame_rate)
    if rate and rate != source.frame_rate:
        steps.append(f"fps={rate}")
    return ",".join(steps)


@dataclass(frozen=True)
class _RungView:
    """A VideoSpecLike with some fields overridden."""

    codec: str
    profile: str | None
    width: int | None
    height: int | None
    frame_rate: str | None
    scan: str
    pix_fmt: str
    bitrate: str | None
    crf: int | None
    max_bitrate: str | None
    gop: int | None
    gop_s: float | None
    reframe: str


def _progressive(rung: VideoSpecLike) -> VideoSpecLike:
    """A rung as drawn after the shared base: progressive, at the base's rate."""
    return _RungView(
        rung.codec,
        rung.profile,
        rung.width,
        rung.height,
        None,
        "progressive",
        rung.pix_fmt,
        rung.bitrate,
        rung.crf,
        rung.max_bitrate,
        rung.gop,
        rung.gop_s,
        rung.reframe,
    )


# --------------------------------------------------------------------------- running it


def render(
    src: PathLike,
    dst: PathLike,
    preset: PresetLike,
    *,
    source: SourceFacts,
    measured: LoudnessMeasurement | None = None,
    subtitles: PathLike | None = None,
    on_progress: ProgressCallback | None = None,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
) -> RenditionResult:
    """Render ``src`` to ``preset`` at ``dst``; ``dst`` appears only once the output verified.

    ``measured`` skips pass 1 (a caller that already measured the same stretch with the same mix);
    ``subtitles`` (an SRT file) is burnt in when the preset asks for burnt-in captions. ``timeout`` bounds
    both passes together. Raises :class:`~rushes.errors.FFmpegError` or :class:`~rushes.errors.OutputError`.
    """
    started = time.monotonic()
    deadline = started + timeout if timeout is not None else None
    duration = expected_duration(source, preset)
    wants_loudness = preset.loudness is not None and preset.audio is not None and source.has_audio
    split = MEASURE_FRACTION if wants_loudness and measured is None else 0.0
    if wants_loudness and measured is None:
        measured = measure_loudness(
            src,
            preset,
            source,
            duration_s=duration,
            on_progress=_scaled(on_progress, 0.0, split),
            timeout=_remaining(deadline),
            cancel=cancel,
        )
        logger.info("%s: measured %.2f LUFS, %.2f dBTP", preset.name, measured.integrated_lufs, measured.true_peak_dbtp)
    if preset.captions.burn_in and subtitles is None:
        logger.info("%s: burnt-in captions asked but no subtitles given; rendering without", preset.name)
    pass2 = _scaled(on_progress, split, 1.0)
    if preset.container == "hls":
        with _atomic_folder(Path(dst).parent) as folder:
            part = folder / Path(dst).name
            args = render_args(src, part, preset, source=source, measured=measured, subtitles=subtitles)
            run = run_ffmpeg(
                args,
                duration_s=duration,
                on_progress=pass2,
                timeout=_remaining(deadline),
                cancel=cancel,
                stderr_lines=None,
            )
            variants = [folder / f"{rung_name(source, r)}.m3u8" for r in _rungs(preset)]
            durations = [_verify(v, preset, source, duration, audio=False).duration_s or 0.0 for v in variants]
            if preset.audio is not None and source.has_audio:
                variants.append(folder / "audio.m3u8")
                durations.append(_verify(variants[-1], preset, source, duration, video=False).duration_s or 0.0)
            if not part.is_file():
                raise OutputError(f"{Path(dst).name}: no master playlist written")
            size = sum(p.stat().st_size for p in folder.iterdir())
        final = Path(dst)
        return RenditionResult(
            final,
            preset.name,
            min(durations),
            size,
            time.monotonic() - started,
            measured,
            _normalization(run.stderr_tail),
            None,
            tuple(run.argv),
            tuple(final.parent / v.name for v in variants),
        )
    final = Path(dst)
    with atomic_output(final) as part:
        args = render_args(src, part, preset, source=source, measured=measured, subtitles=subtitles)
        run = run_ffmpeg(
            args, duration_s=duration, on_progress=pass2, timeout=_remaining(deadline), cancel=cancel, stderr_lines=None
        )
        media = _verify(part, preset, source, duration)
    timecode = None
    if preset.timecode and preset.container in (*_TIMECODE_CONTAINERS, "wav"):
        timecode = output_timecode(
            source.start_timecode,
            source.frame_rate,
            _out_rate(preset.video, source) if preset.video else source.frame_rate,
            drop_frame=source.drop_frame,
        )
    elapsed = time.monotonic() - started
    logger.info(
        "rendition %s (%s): %.2f s, %d bytes in %.1f s",
        final,
        preset.name,
        media.duration_s or 0.0,
        media.size,
        elapsed,
    )
    return RenditionResult(
        final,
        preset.name,
        media.duration_s or 0.0,
        media.size,
        elapsed,
        measured,
        _normalization(run.stderr_tail),
        timecode,
        tuple(run.argv),
    )


def _normalization(stderr: str) -> str | None:
    found = _NORMALIZATION.findall(stderr)
    return found[-1].lower() if found else None


def _verify(
    path: Path,
    preset: PresetLike,
    source: SourceFacts,
    duration: float | None,
    *,
    video: bool = True,
    audio: bool = True,
) -> VerifiedMedia:
    """PyAV's look at an output (or one HLS playlist): streams, codecs, first-track channels, duration."""
    vspec = preset.video if video else None
    aspec = preset.audio if audio and source.has_audio else None
    rate = _out_rate(preset.video, source) if preset.video is not None else None
    tolerance = max(0.5, float(2 / rate)) if rate else 0.5
    channels = (1 if mono_tracks(preset) else aspec.channels) if aspec is not None else None
    return verify_media(
        path,
        expect_video=vspec is not None,
        expect_audio=aspec is not None,
        expect_duration_s=duration,
        tolerance_s=tolerance,
        video_codec=_DECODED_VIDEO.get(vspec.codec) if vspec is not None else None,
        audio_codec=_DECODED_AUDIO.get(aspec.codec) if aspec is not None else None,
        audio_channels=channels,
    )


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.001, deadline - time.monotonic())


def _scaled(callback: ProgressCallback | None, start: float, end: float) -> ProgressCallback | None:
    if callback is None:
        return None
    return lambda fraction: callback(start + (end - start) * fraction)


@contextmanager
def _atomic_folder(final: Path) -> Iterator[Path]:
    """Yield a hidden temporary folder beside ``final``; on success swap it in for ``final``, else delete it."""
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.part")
    temp.mkdir()
    try:
        yield temp
        for written in temp.iterdir():
            with written.open("rb") as handle:
                os.fsync(handle.fileno())
        old = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.old")
        if final.exists():
            os.replace(final, old)
        os.replace(temp, final)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
