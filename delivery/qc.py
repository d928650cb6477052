"""QC of a rendition against its preset, measured from the output alone.

    report = check("out/xdcam.mxf", preset, expected_duration_s=6.0, source_start_timecode="10:00:00:00",
                   source_frame_rate=Fraction(25))
    report.passed, [c.name for c in report.failures], report.to_dict()

Nothing here trusts the render: the file is probed (PyAV + MediaInfo: container, codecs, profile, size, rate,
scan, pixel format, audio layout, duration, timecode), its video packets are summed for the real bit rate,
and its loudness is measured again with :func:`analyzers.loudness.measure` (ebur128). An HLS rendition is
checked as a whole: the master playlist, then every variant playlist and the audio rendition. Nor does it
trust the renderer's plan: what the file must carry (start timecode, BWF time reference, one mono track per
channel) is worked out from the preset and the source facts by :mod:`delivery.expect`, never by
``transcoders.rendition``, so a renderer bug cannot pass its own check.
"""

from __future__ import annotations

import logging
import os
import re
import struct
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pymediainfo

from analyzers.loudness import measure
from analyzers.probe import MediaInfo, VideoStream, probe
from delivery.expect import one_track_per_channel, output_rate, speed_factor, start_timecode, time_reference
from delivery.presets import Preset, VideoSpec
from delivery.qc_advice import advice_for
from rushes.errors import NotMediaError
from rushes.timecode import is_standard_rate
from transcoders.ffmpeg import media_arg, run_ffmpeg

logger = logging.getLogger(__name__)

__all__ = ["Check", "QCReport", "check"]

TRUE_PEAK_MARGIN_DB = 0.1  # measurement slack over the ceiling
SILENT_LUFS = -69.5  # at or below: nothing passed BS.1770's absolute gate (-70 LUFS), the sound is silence
# check(source_sound=...): the renderer's word (RenditionResult.sound) for a source no loudness target can apply to
SOURCE_SOUND = {"silent": "the source is silent", "none": "the source has no sound"}
ODD_RATE_TOLERANCE = 0.005  # a non-standard source rate kept: containers write it rounded (standard rates: exact)
CBR_TOLERANCE = 0.05  # a constant bit rate within 5 %
AUDIO_ONLY_DURATION_TOLERANCE_S = 0.05

# MediaInfo's General Format (and Format_Profile) of each container
_CONTAINER_FORMATS: dict[str, tuple[str, str | None]] = {
    "mxf": ("MXF", "OP-1a"),
    "mov": ("MPEG-4", "QuickTime"),
    "mp4": ("MPEG-4", None),
    "webm": ("WebM", None),
    "wav": ("Wave", None),
    "mp3": ("MPEG Audio", None),
    "hls": ("HLS", None),
}


@dataclass(frozen=True)
class Check:
    """One measured property: what the preset wants, what the file holds, and whether that is good enough."""

    name: str
    expected: str
    actual: str
    passed: bool
    advice: str = ""  # a failed check: what to do about it (delivery.qc_advice)

    def to_dict(self) -> dict[str, Any]:
        found = {"name": self.name, "expected": self.expected, "actual": self.actual, "passed": self.passed}
        return {**found, "advice": self.advice} if self.advice else found

    def sentence(self) -> str:
        """``name: expected X, got Y`` and, failed, what to do."""
        said = f"{self.name}: expected {self.expected}, got {self.actual}"
        return f"{said} - {self.advice}" if self.advice else said


@dataclass(frozen=True)
class QCReport:
    """Every check of one rendition; ``passed`` only when all passed."""

    path: str
    preset: str
    passed: bool
    checks: tuple[Check, ...]

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.passed)

    def check(self, name: str) -> Check:
        """The check called ``name`` (KeyError when there is none)."""
        for item in self.checks:
            if item.name == name:
                return item
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "preset": self.preset,
            "passed": self.passed,
            "checks": [c.to_dict() for c in self.checks],
        }


def check(
    path: str | os.PathLike[str],
    preset: Preset,
    *,
    expected_duration_s: float | None,
    source_start_timecode: str | None,
    source_frame_rate: Fraction | None = None,
    source_drop_frame: bool = False,
    source_sound: str | None = None,
    loudness_method: str | None = None,
) -> QCReport:
    """Measure ``path`` against ``preset``.

    ``expected_duration_s`` is the source's duration (cut here at the preset's ``max_duration_s``); the
    output must be within one frame of it. ``source_start_timecode`` (and the source's rate, needed when the
    rate changes and for WAV's sample-count time reference) gives the timecode the output must carry.
    ``source_sound`` ("silent" or "none", see :data:`SOURCE_SOUND`): the loudness target does not apply, and the
    rendition's sound must be silence instead (the tracks are still checked for layout, rate and length).
    ``loudness_method``: how the renderer met the target (``Leveling.describe()``), told beside the loudness.
    """
    if source_sound is not None and source_sound not in SOURCE_SOUND:
        raise ValueError(f"source_sound must be one of {sorted(SOURCE_SOUND)} or None, not {source_sound!r}")
    file = Path(path)
    speed = _speed(preset, source_frame_rate)
    if expected_duration_s and speed:  # a speed-up plays the source faster: the rendition is shorter
        expected_duration_s = float(Fraction(expected_duration_s) / speed)
    durations = [d for d in (expected_duration_s, preset.max_duration_s) if d]
    expected = min(durations) if durations else None
    ctx = _Context(preset, expected, source_start_timecode, source_frame_rate, source_drop_frame, source_sound,
                   loudness_method)
    checks = _check_hls(file, ctx) if preset.container == "hls" else _check_file(file, ctx)
    checks = [c if c.passed else replace(c, advice=advice_for(c.name)) for c in checks]
    report = QCReport(str(file), preset.name, all(c.passed for c in checks), tuple(checks))
    for failed in report.failures:
        logger.info(
            "QC %s (%s): %s is %s, expected %s", file.name, preset.name, failed.name, failed.actual, failed.expected
        )
    return report


@dataclass(frozen=True)
class _Context:
    preset: Preset
    duration_s: float | None
    start_timecode: str | None
    source_rate: Fraction | None
    drop_frame: bool
    source_sound: str | None = None
    loudness_method: str | None = None

    @property
    def out_rate(self) -> Fraction | None:
        video = self.preset.video
        if video is None:
            return self.source_rate
        return output_rate(video.codec, Fraction(video.frame_rate) if video.frame_rate else None, self.source_rate)


def _ok(name: str, expected: object, actual: object, passed: bool | None = None) -> Check:
    return Check(name, _text(expected), _text(actual), expected == actual if passed is None else passed)


def _text(value: object) -> str:
    if isinstance(value, Fraction):
        return str(value) if value.denominator != 1 else str(value.numerator)
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return "none" if value is None else str(value)


# --------------------------------------------------------------------------- one file


def _check_file(file: Path, ctx: _Context) -> list[Check]:
    try:
        info = probe(file)
    except NotMediaError as exc:  # an unreadable output is one failed check, not a crash
        return [Check("readable", "media", str(exc), False)]
    preset = ctx.preset
    checks = [*_container_checks(file, preset)]
    if preset.video is not None:
        checks += _video_checks("", info, preset.video, ctx, file)
    elif info.video:
        checks.append(_ok("video stream", "none", info.video[0].codec))
    if preset.audio is not None:
        checks += _audio_checks("", info, preset, ctx)
        checks += _loudness_checks("", file, info, preset, ctx)
    checks.append(_duration_check("", info, ctx))
    if preset.video is not None and preset.audio is not None:
        checks += _sound_length_checks(info, ctx)
    checks += _timecode_checks(info, ctx)
    return checks


def _container_checks(file: Path, preset: Preset) -> list[Check]:
    general = pymediainfo.MediaInfo.parse(file).general_tracks
    fmt = general[0].format if general else None
    profile = general[0].format_profile if general else None
    want_fmt, want_profile = _CONTAINER_FORMATS[preset.container]
    checks = [_ok("container", want_fmt, fmt)]
    if preset.container in ("mov", "mp4"):  # both are MPEG-4 to MediaInfo: the brand tells them apart
        is_qt = profile == "QuickTime"
        checks.append(
            _ok(
                "container brand",
                "QuickTime" if preset.container == "mov" else "ISO base media",
                profile,
                is_qt == (preset.container == "mov"),
            )
        )
    elif want_profile is not None:
        checks.append(_ok("operational pattern", want_profile, profile))
    if preset.container == "mp4":
        order = _top_level_boxes(file)
        moov_first = "moov" in order and "mdat" in order and order.index("moov") < order.index("mdat")
        checks.append(_ok("faststart", "moov before mdat", " ".join(order), moov_first))
    return checks


def _top_level_boxes(file: Path, limit: int = 64) -> list[str]:
    """The types of an ISO BMFF file's top-level boxes, in order."""
    boxes: list[str] = []
    size_total = file.stat().st_size
    with file.open("rb") as handle:
        offset = 0
        while offset < size_total and len(boxes) < limit:
            handle.seek(offset)
            header = handle.read(16)
            if len(header) < 8:
                break
            size, kind = struct.unpack(">I4s", header[:8])
            if size == 1 and len(header) == 16:
                size = struct.unpack(">Q", header[8:16])[0]
            elif size == 0:
                size = size_total - offset
            if size < 8:
                break
            boxes.append(kind.decode("latin-1"))
            offset += size
    return boxes


def _video_checks(
    prefix: str, info: MediaInfo, spec: VideoSpec, ctx: _Context, file: Path, *, fixed_width: int | None = None
) -> list[Check]:
    video = info.primary_video
    if video is None:
        return [_ok(f"{prefix}video stream", spec.codec, None)]
    checks = [
        _ok(f"{prefix}video codec", spec.codec, video.codec),
        *_profile_check(prefix, spec, video),
        *_size_checks(prefix, spec, video, fixed_width),
        _ok(f"{prefix}scan", spec.scan, video.field_order),
        _ok(f"{prefix}pix_fmt", spec.pix_fmt, video.pix_fmt),
    ]
    if ctx.out_rate is not None:
        want, have = Fraction(ctx.out_rate), Fraction(video.frame_rate)
        # a standard rate exactly; another (a phone's average) as near as the container can write it (MPEG-TS's
        # 90 kHz clock, WebM's milliseconds: 21/2 for 10.505 fps)
        close = want == have or not is_standard_rate(want) and abs(have / want - 1) <= ODD_RATE_TOLERANCE
        rate = _ok(f"{prefix}frame rate", want, have, close)
        speed = _speed(ctx.preset, ctx.source_rate)
        if speed:
            rate = replace(rate, expected=f"{rate.expected} (speed-up from {_text(ctx.source_rate)} fps: every frame "
                                          f"kept, {float(speed - 1):+.1%} faster, sound time-stretched)")
        checks.append(rate)
    checks += _bitrate_checks(prefix, spec, video, file, info)
    return checks


def _speed(preset: Preset, source_rate: Fraction | None) -> Fraction | None:
    video = preset.video
    if video is None or not video.frame_rate:
        return None
    return speed_factor(video.rate_change, Fraction(video.frame_rate), source_rate)


def _norm(text: str | None) -> str:
    return re.sub(r"[^0-9a-z]", "", (text or "").lower())


def _profile_check(prefix: str, spec: VideoSpec, video: VideoStream) -> list[Check]:
    if not spec.profile:
        return []
    want = f"profile{spec.profile}" if spec.codec == "vp9" else spec.profile
    return [Check(f"{prefix}video profile", spec.profile, _text(video.profile), _norm(want) == _norm(video.profile))]


def _size_checks(prefix: str, spec: VideoSpec, video: VideoStream, fixed_width: int | None) -> list[Check]:
    width = spec.width or fixed_width
    if width and spec.height and spec.reframe == "none" and spec.codec != "mpeg2video":
        # the aspect is kept: the picture fits the box and touches one side of it
        fits = (
            video.width <= width
            and video.height <= spec.height
            and (video.width == width or video.height == spec.height)
        )
        return [Check(f"{prefix}frame size", f"fits {width}x{spec.height}", f"{video.width}x{video.height}", fits)]
    checks = []
    if width:
        checks.append(_ok(f"{prefix}width", width, video.width))
    if spec.height:
        checks.append(_ok(f"{prefix}height", spec.height, video.height))
    if not width:  # the source's aspect: any even width
        checks.append(Check(f"{prefix}width", "even (source aspect)", str(video.width), video.width % 2 == 0))
    return checks


def _bitrate_checks(prefix: str, spec: VideoSpec, video: VideoStream, file: Path, info: MediaInfo) -> list[Check]:
    if not (spec.bitrate or spec.max_bitrate) or spec.codec in ("prores", "dnxhd"):
        return []
    measured = _video_bitrate(file, video.index, info.duration_s)
    if measured is None:
        return [Check(f"{prefix}video bitrate", spec.bitrate or f"<= {spec.max_bitrate}", "unknown", False)]
    checks = []
    if spec.bitrate and spec.codec == "mpeg2video":  # CBR
        target = _bits(spec.bitrate)
        checks.append(
            Check(
                f"{prefix}video bitrate",
                f"{spec.bitrate} ±{CBR_TOLERANCE:.0%}",
                f"{measured / 1e6:.2f}M",
                abs(measured - target) <= CBR_TOLERANCE * target,
            )
        )
    elif spec.max_bitrate:
        cap = _bits(spec.max_bitrate)
        checks.append(
            Check(
                f"{prefix}video bitrate",
                f"<= {spec.max_bitrate}",
                f"{measured / 1e6:.2f}M",
                measured <= cap * (1 + CBR_TOLERANCE),
            )
        )
    return checks


def _video_bitrate(file: Path, index: int, duration_s: float | None) -> float | None:
    """Average video bit rate from the packet sizes (demuxed, not decoded)."""
    if not duration_s:
        return None
    with av.open(os.fspath(file)) as container:
        stream = next((s for s in container.streams if s.index == index), None)
        if stream is None:
            return None
        total = sum(packet.size for packet in container.demux(stream))
    return total * 8 / duration_s


def _bits(value: str) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)\s*", value)
    if match is None:
        raise ValueError(f"not a bitrate: {value!r}")
    return round(float(match.group(1)) * {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}[match.group(2).lower()])


def _audio_checks(prefix: str, info: MediaInfo, preset: Preset, ctx: _Context) -> list[Check]:
    spec = preset.audio
    assert spec is not None
    if not info.audio:
        return [_ok(f"{prefix}audio stream", spec.codec, None)]
    first = info.audio[0]
    channels = sum(a.channels for a in info.audio)
    checks = [
        _ok(
            f"{prefix}audio codec",
            spec.codec,
            first.codec,
            all(a.codec == spec.codec for a in info.audio),
        ),
        _ok(f"{prefix}audio channels", spec.channels, channels),
        _ok(
            f"{prefix}sample rate",
            spec.sample_rate,
            first.sample_rate,
            all(a.sample_rate == spec.sample_rate for a in info.audio),
        ),
    ]
    if one_track_per_channel(preset):
        layout = "+".join(str(a.channels) for a in info.audio)
        checks.append(
            Check(
                f"{prefix}audio tracks",
                f"{spec.channels} mono",
                layout,
                len(info.audio) == spec.channels and all(a.channels == 1 for a in info.audio),
            )
        )
    return checks


def _loudness_checks(prefix: str, file: Path, info: MediaInfo, preset: Preset, ctx: _Context) -> list[Check]:
    target = preset.loudness
    if target is None or not info.audio:
        return []
    if len(info.audio) > 1:  # mono tracks: the programme is the first pair
        integrated, true_peak = _measure_pair(file, info)
    else:
        qc = measure(file, info=info, picture=False)
        integrated, true_peak = qc.integrated_lufs, qc.true_peak_dbtp
    if ctx.source_sound is not None:  # no gain brings silence to a target: the rendition must be silent too
        why = SOURCE_SOUND[ctx.source_sound]
        silent = integrated is None or integrated <= SILENT_LUFS
        return [Check(
            f"{prefix}integrated loudness",
            f"{target.integrated:g} ±{target.tolerance:g} LUFS, or silence when {why}",
            f"loudness not applicable: {why}; the rendition is silent" if silent
            else f"{integrated:.1f} LUFS although {why}: the rendition's sound does not come from the source",
            silent,
        )]
    ceiling = target.true_peak + TRUE_PEAK_MARGIN_DB
    return [
        Check(
            f"{prefix}integrated loudness",
            f"{target.integrated:g} ±{target.tolerance:g} LUFS",
            (f"{integrated:.1f} LUFS" + (f" ({ctx.loudness_method})" if ctx.loudness_method else ""))
            if integrated is not None else "none",
            integrated is not None and abs(integrated - target.integrated) <= target.tolerance + 1e-9,
        ),
        Check(
            f"{prefix}true peak",
            f"<= {target.true_peak:g} dBTP",
            f"{true_peak:.1f} dBTP" if true_peak is not None else "none",
            true_peak is not None and true_peak <= ceiling,
        ),
    ]


def _measure_pair(file: Path, info: MediaInfo) -> tuple[float | None, float | None]:
    """Loudness of the first two mono tracks as a stereo pair (written to a scratch WAV, then measured)."""
    first, second = info.audio[0].index, info.audio[1].index
    with tempfile.TemporaryDirectory(prefix="rushes-qc-") as scratch:
        pair = Path(scratch) / "programme.wav"
        run_ffmpeg(
            [
                "-i",
                media_arg(file),
                "-filter_complex",
                f"[0:{first}][0:{second}]amerge=inputs=2[pair]",
                "-map",
                "[pair]",
                "-c:a",
                "pcm_s24le",
                "-f",
                "wav",
                media_arg(pair),
            ]
        )
        qc = measure(pair, picture=False)
    return qc.integrated_lufs, qc.true_peak_dbtp


def _duration_check(prefix: str, info: MediaInfo, ctx: _Context, *, audio_only: bool = False) -> Check:
    """Within one frame of the expected duration (audio only: within 50 ms)."""
    if ctx.duration_s is None:
        return Check(f"{prefix}duration", "any", _text(info.duration_s), info.duration_s is not None)
    rate = ctx.out_rate if ctx.preset.video is not None and not audio_only else None
    tolerance = float(1 / rate) if rate else AUDIO_ONLY_DURATION_TOLERANCE_S
    actual = info.duration_s
    return Check(
        f"{prefix}duration",
        f"{ctx.duration_s:.3f} s ±{tolerance:.3f}",
        f"{actual:.3f} s" if actual is not None else "none",
        actual is not None and abs(actual - ctx.duration_s) <= tolerance + 1e-6,
    )


def _sound_length_checks(info: MediaInfo, ctx: _Context) -> list[Check]:
    """Sound as long as the source (within a frame, or an audio packet): not cut short, not running on."""
    if ctx.duration_s is None or not info.audio:
        return []
    rate = ctx.out_rate
    tolerance = max(float(1 / rate) if rate else 0.0, AUDIO_ONLY_DURATION_TOLERANCE_S)
    lengths = [a.duration_s for a in info.audio]
    worst = max(lengths, key=lambda d: abs(d - ctx.duration_s) if d is not None else float("inf"))  # type: ignore[operator]
    return [Check(
        "sound length",
        f"{ctx.duration_s:.3f} s ±{tolerance:.3f}",
        f"{worst:.3f} s" if worst is not None else "unknown",
        worst is not None and abs(worst - ctx.duration_s) <= tolerance + 1e-6,
    )]


def _timecode_checks(info: MediaInfo, ctx: _Context) -> list[Check]:
    preset = ctx.preset
    if not (preset.timecode and ctx.start_timecode):
        return []
    # worked out here from the preset and the source (delivery/expect.py), never asked of the renderer
    want = start_timecode(ctx.start_timecode, ctx.source_rate, ctx.out_rate, drop_frame=ctx.drop_frame)
    if preset.container in ("mxf", "mov", "mp4"):
        return [_ok("timecode", want, info.start_timecode)]
    if preset.container == "wav" and preset.audio is not None and ctx.source_rate and want:
        samples = time_reference(want, ctx.source_rate, preset.audio.sample_rate)
        return [_ok("time reference", _text(samples), info.tags.get("time_reference"))]
    return []


# --------------------------------------------------------------------------- HLS


@dataclass(frozen=True)
class _Variant:
    uri: str
    attributes: dict[str, str]


def _parse_master(text: str) -> tuple[list[_Variant], list[_Variant]]:
    """(``EXT-X-STREAM-INF`` variants, ``EXT-X-MEDIA`` renditions) of a master playlist."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    variants, media = [], []
    for i, line in enumerate(lines):
        if line.startswith("#EXT-X-STREAM-INF:") and i + 1 < len(lines):
            variants.append(_Variant(lines[i + 1], _attributes(line.partition(":")[2])))
        elif line.startswith("#EXT-X-MEDIA:"):
            attrs = _attributes(line.partition(":")[2])
            media.append(_Variant(attrs.get("URI", ""), attrs))
    return variants, media


def _attributes(text: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in re.findall(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)', text)}


def _check_hls(master: Path, ctx: _Context) -> list[Check]:
    preset = ctx.preset
    if not master.is_file():
        return [Check("master playlist", "present", "missing", False)]
    text = master.read_text(encoding="utf-8", errors="replace")
    variants, media = _parse_master(text)
    rungs = _rungs(preset)
    video_variants = [v for v in variants if "RESOLUTION" in v.attributes]
    checks = [
        Check("master playlist", "#EXTM3U", text.partition("\n")[0], text.startswith("#EXTM3U")),
        _ok("variants", len(rungs), len(video_variants)),
        Check(
            "variant bandwidth",
            "every variant > 0",
            ",".join(v.attributes.get("BANDWIDTH", "none") for v in variants),
            all(_bandwidth(v) > 0 for v in variants),
        ),
    ]
    by_height = sorted(video_variants, key=lambda v: -_height(v))
    for rung, variant in zip(rungs, by_height, strict=False):
        name = f"{variant.uri}: "
        playlist = master.parent / variant.uri
        checks += _playlist_checks(name, playlist)
        checks.append(
            Check(
                f"{name}resolution attribute",
                f"x{rung.height}",
                variant.attributes.get("RESOLUTION", "none"),
                not rung.height or _height(variant) == rung.height,
            )
        )
        info = _probe_or_none(playlist)
        if info is None:
            checks.append(Check(f"{name}readable", "media", "unreadable", False))
            continue
        checks += _video_checks(name, info, rung, ctx, playlist)
        checks.append(_duration_check(name, info, ctx))
        if preset.audio is not None and not media and info.audio:  # audio muxed into each variant
            checks += _audio_checks(name, info, preset, ctx) + _loudness_checks(name, playlist, info, preset, ctx)
    if preset.audio is not None and media:
        for rendition in media:
            name = f"{rendition.uri}: "
            playlist = master.parent / rendition.uri
            checks += _playlist_checks(name, playlist)
            info = _probe_or_none(playlist)
            if info is None:
                checks.append(Check(f"{name}readable", "media", "unreadable", False))
                continue
            checks += _audio_checks(name, info, preset, ctx) + _loudness_checks(name, playlist, info, preset, ctx)
            checks.append(_duration_check(name, info, ctx, audio_only=True))
    elif preset.audio is not None and not any(c.name.endswith("audio codec") for c in checks):
        checks.append(Check("audio rendition", preset.audio.codec, "none", False))
    return checks


def _bandwidth(variant: _Variant) -> int:
    value = variant.attributes.get("BANDWIDTH", "")
    return int(value) if value.isdigit() else 0


def _height(variant: _Variant) -> int:
    _, _, height = variant.attributes.get("RESOLUTION", "0x0").partition("x")
    return int(height) if height.isdigit() else 0


def _rungs(preset: Preset) -> list[VideoSpec]:
    assert preset.video is not None
    rungs = [preset.video, *[r for r in preset.ladder or () if r != preset.video]]
    return sorted(rungs, key=lambda r: -(r.height or 0))


def _playlist_checks(prefix: str, playlist: Path) -> list[Check]:
    if not playlist.is_file():
        return [Check(f"{prefix}playlist", "present", "missing", False)]
    lines = [line.strip() for line in playlist.read_text(encoding="utf-8", errors="replace").splitlines()]
    segments = [line for line in lines if line and not line.startswith("#")]
    missing = [s for s in segments if not (playlist.parent / s).is_file()]
    return [
        Check(
            f"{prefix}playlist type",
            "VOD",
            _tag(lines, "#EXT-X-PLAYLIST-TYPE:") or "none",
            _tag(lines, "#EXT-X-PLAYLIST-TYPE:") == "VOD",
        ),
        Check(
            f"{prefix}endlist",
            "#EXT-X-ENDLIST",
            "present" if "#EXT-X-ENDLIST" in lines else "missing",
            "#EXT-X-ENDLIST" in lines,
        ),
        Check(
            f"{prefix}segments",
            "all present",
            f"{len(segments) - len(missing)}/{len(segments)}",
            bool(segments) and not missing,
        ),
    ]


def _tag(lines: Iterable[str], prefix: str) -> str | None:
    return next((line[len(prefix) :] for line in lines if line.startswith(prefix)), None)


def _probe_or_none(path: Path) -> MediaInfo | None:
    try:
        return probe(path)
    except NotMediaError as exc:  # reported as a failed "readable" check by the caller
        logger.info("cannot probe %s: %s", path, exc)
        return None
