"""Probe a media file: containers, streams, rates, timecode, without decoding a frame.

PyAV gives the container and stream facts (codecs, sizes, rates, durations) and the packet timestamps
used to spot variable frame rate; MediaInfo adds what ffmpeg does not expose through PyAV: the start
timecode of timecode tracks, scan type, display rotation and coded bit depth.

    info = probe("clip.mov")
    info.primary_video.frame_rate, info.start_timecode, info.to_dict()

Every failure to read a file as media surfaces as :class:`rushes.errors.NotMediaError`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import statistics
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error
import pymediainfo

from rushes.errors import MediaError, NotMediaError
from rushes.timecode import Timecode, nominal_rate, parse_timecode

logger = logging.getLogger(__name__)

__all__ = ["AudioStream", "MediaInfo", "VideoStream", "probe"]

#: Video packets demuxed (not decoded) to decide whether the frame rate is variable.
VFR_SCAN_PACKETS = 300
#: ... unless they are so large (intra-frame 4K) that this many bytes were read first.
VFR_SCAN_BYTES = 64 * 1024 * 1024
_MIN_SCAN_PACKETS = 30
#: Packets whose pts may still be missing from a truncated scan because of B-frame reordering.
_REORDER_SLACK = 16

_FIELD_ORDERS = {  # AVFieldOrder -> display order ("TB" = top coded first, bottom displayed first)
    1: "progressive",
    2: "tff",
    3: "bff",
    4: "bff",
    5: "tff",
}
_ATTACHED_PIC = av.stream.Disposition.attached_pic


@dataclass(frozen=True, slots=True)
class VideoStream:
    """One real video stream (cover art is not one)."""

    index: int
    codec: str
    profile: str | None
    width: int
    height: int
    sar: Fraction
    dar: Fraction
    frame_rate: Fraction  # nominal rate, e.g. 25 for a 25p VFR phone clip
    avg_frame_rate: Fraction | None
    vfr: bool
    frames: int | None
    field_order: str  # "progressive" | "tff" | "bff" | "unknown"
    scan_type: str | None  # MediaInfo: "Progressive" | "Interlaced" | "MBAFF" | ...
    rotation: int  # clockwise degrees to display upright: 0, 90, 180 or 270
    pix_fmt: str | None
    bit_depth: int | None
    duration_s: float | None
    start_s: float | None
    bit_rate: int | None
    language: str | None


@dataclass(frozen=True, slots=True)
class AudioStream:
    """One audio stream."""

    index: int
    codec: str
    profile: str | None
    channels: int
    channel_layout: str | None
    sample_rate: int
    bit_depth: int | None
    bit_rate: int | None
    duration_s: float | None
    language: str | None


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What a media file holds. ``duration_estimated`` says the duration came from packet timestamps."""

    path: str
    size: int
    container: str  # ffmpeg's demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    container_long: str
    duration_s: float | None
    duration_estimated: bool
    bit_rate: int | None
    start_timecode: str | None
    drop_frame: bool
    timecode_rate: Fraction | None
    video: tuple[VideoStream, ...]
    audio: tuple[AudioStream, ...]
    attached_pictures: int
    subtitles: int
    data_streams: int
    tags: dict[str, str] = field(hash=False)

    @property
    def has_video(self) -> bool:
        return bool(self.video)

    @property
    def has_audio(self) -> bool:
        return bool(self.audio)

    @property
    def primary_video(self) -> VideoStream | None:
        return self.video[0] if self.video else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: Fractions become "num/den" strings with a ``<name>_float`` twin."""
        data = _jsonable(self)
        data.update(has_video=self.has_video, has_audio=self.has_audio)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MediaInfo:
        """The MediaInfo that :meth:`to_dict` wrote (as the catalog stores it in ``media_info.info``)."""
        return _rebuild(cls, data)


_FRACTIONS = frozenset({"sar", "dar", "frame_rate", "avg_frame_rate", "timecode_rate"})
_STREAMS = {"video": VideoStream, "audio": AudioStream}


def _rebuild(cls: Any, data: Mapping[str, Any]) -> Any:
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        value = data.get(f.name)
        if f.name in _FRACTIONS and value is not None:
            value = Fraction(value)
        elif f.name in _STREAMS and cls is MediaInfo:
            value = tuple(_rebuild(_STREAMS[f.name], stream) for stream in value or ())
        elif f.name == "tags":
            value = dict(value or {})
        values[f.name] = value
    return cls(**values)


def _jsonable(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, Fraction):
            out[f.name] = f"{value.numerator}/{value.denominator}"
            out[f"{f.name}_float"] = float(value)
        elif isinstance(value, tuple):
            out[f.name] = [_jsonable(item) for item in value]
        elif isinstance(value, dict):
            out[f.name] = dict(value)
        else:
            out[f.name] = value
    return out


# --- entry point -------------------------------------------------------------------------------------


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Describe the media file at ``path``; raise NotMediaError when it holds no audio, video or timecode."""
    path = Path(path)
    size = _checked_size(path)
    with _open_container(path) as container:
        info = _describe_container(path, size, container, _mediainfo_tracks(path))
    _refuse_truncated(path, info)
    logger.debug("probed %s: %s, %d video, %d audio", path, info.container, len(info.video), len(info.audio))
    return info


# Demuxers that draw text files as "video" (ANSI/ASCII art): a notes.txt or .nfo beside the footage is no clip.
TEXT_ART_FORMATS = frozenset({"tty", "bin", "xbin", "adf", "idf"})


def _describe_container(path: Path, size: int, container: Any, tracks: list[Any]) -> MediaInfo:
    if container.format.name in TEXT_ART_FORMATS:
        raise NotMediaError(f"not a media file: {path.name}: a text file (ffmpeg would draw it as ANSI art)")
    timecode = _find_timecode(container, tracks)
    kinds = _split_streams(container.streams)
    if not (kinds.video or kinds.audio or timecode):
        raise NotMediaError(f"not a media file: {path.name}: no audio or video stream ({_describe(kinds)})")
    scans = _scan_packets(container, kinds, whole_file=container.duration is None)
    video = tuple(_video_stream(s, _track_for(s, tracks, "Video"), scans.get(s.index)) for s in kinds.video)
    audio = tuple(_audio_stream(s, _track_for(s, tracks, "Audio"), scans.get(s.index)) for s in kinds.audio)
    duration, estimated = _container_duration(container, scans)
    return MediaInfo(
        path=str(path),
        size=size,
        container=container.format.name,
        container_long=container.format.long_name,
        duration_s=duration,
        duration_estimated=estimated,
        bit_rate=container.bit_rate or None,
        start_timecode=str(timecode.label) if timecode else None,
        drop_frame=bool(timecode and timecode.label.drop_frame),
        timecode_rate=(timecode.rate or (video[0].frame_rate if video else None)) if timecode else None,
        video=video,
        audio=audio,
        attached_pictures=len(kinds.pictures),
        subtitles=len(kinds.subtitles),
        data_streams=len(kinds.data),
        tags={str(k): str(v) for k, v in container.metadata.items()},
    )


# A file holding under this share of what its headers declare is a cut-off copy, not a short clip.
TRUNCATED_BELOW = 0.01


def _refuse_truncated(path: Path, info: MediaInfo) -> None:
    """MediaError naming both figures when the headers declare far more than the file holds (a camera card
    pulled mid-copy, a download cut off): every later step would fail on it with a mere symptom."""
    streams: list[VideoStream | AudioStream] = [*info.video, *info.audio]
    rate = sum(s.bit_rate or 0 for s in streams) or info.bit_rate or 0
    # what the headers say, not what the packets left: stream durations and frame counts survive a cut
    declared_s: list[float] = [info.duration_s or 0.0, *(s.duration_s or 0.0 for s in streams),
                               *(float(v.frames / v.frame_rate) for v in info.video if v.frames and v.frame_rate)]
    seconds = max(declared_s)
    if not (seconds and rate):
        return
    declared = seconds * rate / 8
    if info.size < declared * TRUNCATED_BELOW and declared - info.size > 1_000_000:
        what = "sound" if not info.video else "picture" if not info.audio else "picture and sound"
        raise MediaError(f"truncated: the header declares {_clock(seconds)} of {what} "
                         f"(about {_bytes(declared)}), the file holds {_bytes(info.size)}")


def _clock(seconds: float) -> str:
    whole = int(round(seconds))
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}" if whole >= 3600 else \
        f"{whole // 60}:{whole % 60:02d} min"


def _bytes(size: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{int(size)} bytes"


# --- opening: every third-party failure becomes NotMediaError ------------------------------------------


def _checked_size(path: Path) -> int:
    try:
        stat = path.stat()
    except OSError as exc:
        raise NotMediaError(f"not a media file: {path.name}: cannot read it ({exc.strerror})") from exc
    if path.is_dir():
        raise NotMediaError(f"not a media file: {path.name}: is a directory")
    if stat.st_size == 0:
        raise NotMediaError(f"not a media file: {path.name}: empty file")
    return stat.st_size


@contextmanager
def _open_container(path: Path) -> Iterator[Any]:
    # "file:" stops ffmpeg reading a name such as "rtmp:x.mov" as a protocol
    url = "file:" + os.path.abspath(path)
    try:
        container = av.open(url, metadata_errors="replace")
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise NotMediaError(
            f"not a media file: {path.name}: no audio or video stream (PyAV: {reason})"
        ) from exc
    try:
        yield container
    except av.error.FFmpegError as exc:
        raise NotMediaError(f"not a media file: {path.name}: unreadable ({exc.strerror})") from exc
    finally:
        container.close()


def _mediainfo_tracks(path: Path) -> list[Any]:
    try:
        return list(pymediainfo.MediaInfo.parse(path).tracks)
    except (RuntimeError, FileNotFoundError, PermissionError) as exc:
        raise NotMediaError(f"not a media file: {path.name}: MediaInfo cannot read it ({exc})") from exc


# --- streams ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Kinds:
    video: list[Any] = field(default_factory=list)
    audio: list[Any] = field(default_factory=list)
    pictures: list[Any] = field(default_factory=list)
    subtitles: list[Any] = field(default_factory=list)
    data: list[Any] = field(default_factory=list)


def _split_streams(streams: Iterable[Any]) -> _Kinds:
    kinds = _Kinds()
    for stream in streams:
        if stream.type in ("video", "audio") and stream.codec_context is None:
            logger.warning(
                "stream %d (%s) has no decoder in this ffmpeg; counted as data", stream.index, stream.type
            )
            kinds.data.append(stream)
        elif stream.type == "video":
            cover = bool(stream.disposition & _ATTACHED_PIC)
            (kinds.pictures if cover else kinds.video).append(stream)
        elif stream.type == "audio":
            kinds.audio.append(stream)
        elif stream.type == "subtitle":
            kinds.subtitles.append(stream)
        else:
            kinds.data.append(stream)
    return kinds


def _describe(kinds: _Kinds) -> str:
    counts = {
        "attached picture": kinds.pictures,
        "subtitle stream": kinds.subtitles,
        "data stream": kinds.data,
    }
    held = ", ".join(f"{len(s)} {label}{'s' * (len(s) > 1)}" for label, s in counts.items() if s)
    return f"it holds only {held}" if held else "the container lists no streams"


def _track_for(stream: Any, tracks: list[Any], track_type: str) -> Any | None:
    """The MediaInfo track of a PyAV stream: same StreamOrder, else the same rank among its type."""
    typed = [t for t in tracks if t.track_type == track_type]
    for track in typed:
        if track.streamorder is not None and str(track.streamorder) == str(stream.index):
            return track
    container_streams = stream.container.streams
    same_kind = [s for s in container_streams if s.type == stream.type and not s.disposition & _ATTACHED_PIC]
    rank = next((i for i, s in enumerate(same_kind) if s.index == stream.index), len(typed))
    return typed[rank] if rank < len(typed) else None


def _video_stream(stream: Any, track: Any | None, scan: _Scan | None) -> VideoStream:
    cc = stream.codec_context
    sar = stream.sample_aspect_ratio or cc.sample_aspect_ratio or Fraction(1)
    pix_fmt = cc.pix_fmt
    return VideoStream(
        index=stream.index,
        codec=_codec_name(stream),
        profile=cc.profile,
        width=cc.width,
        height=cc.height,
        sar=Fraction(sar),
        dar=Fraction(cc.width * sar, cc.height) if cc.height else Fraction(0),
        frame_rate=Fraction(stream.guessed_rate or stream.base_rate or stream.average_rate or 0),
        avg_frame_rate=Fraction(stream.average_rate) if stream.average_rate else None,
        vfr=_is_vfr(scan) if scan and len(scan.pts) > 2 else _attr(track, "frame_rate_mode") == "VFR",
        frames=_frame_count(stream, track, scan),
        field_order=_field_order(cc.field_order, track),
        scan_type=_attr(track, "scan_type"),
        rotation=_rotation(_attr(track, "rotation")),
        pix_fmt=pix_fmt,
        bit_depth=_int(_attr(track, "bit_depth")) or _pix_fmt_depth(pix_fmt),
        duration_s=_stream_duration(stream, track, scan),
        start_s=_seconds(stream.start_time, stream.time_base),
        bit_rate=stream.bit_rate or cc.bit_rate or None,
        language=_language(stream),
    )


def _frame_count(stream: Any, track: Any | None, scan: _Scan | None) -> int | None:
    """Samples the container lists (not always what a decoder outputs), else MediaInfo's, else packets."""
    if stream.frames:
        return int(stream.frames)
    return _int(_attr(track, "frame_count")) or (scan.count if scan and scan.complete else None)


def _audio_stream(stream: Any, track: Any | None, scan: _Scan | None) -> AudioStream:
    cc = stream.codec_context
    return AudioStream(
        index=stream.index,
        codec=_codec_name(stream),
        profile=cc.profile,
        channels=cc.channels,
        channel_layout=cc.layout.name if cc.layout else None,
        sample_rate=cc.sample_rate,
        bit_depth=None if cc.codec.lossy else _int(_attr(track, "bit_depth")),  # Opus "32" means nothing
        bit_rate=cc.bit_rate or None,
        duration_s=_stream_duration(stream, track, scan),
        language=_language(stream),
    )


def _codec_name(stream: Any) -> str:
    codec = stream.codec_context.codec
    return str(codec.canonical_name or codec.name)  # "mp3", not the decoder name "mp3float"


def _field_order(av_order: int, track: Any | None) -> str:
    """PyAV's coded field order read as display order; MediaInfo's ScanOrder when PyAV does not know.

    MediaInfo reads the QuickTime 'fiel' atom with Apple's meaning, which can disagree with the
    bitstream (VideoAndTimecodeTrack_29_97i: 'fiel' says BFF, the H.264 decoder says top field first).
    """
    if av_order in _FIELD_ORDERS:
        return _FIELD_ORDERS[int(av_order)]
    scan_order = (_attr(track, "scan_order") or "").upper()
    if scan_order.startswith(("TFF", "BFF")):
        return scan_order[:3].lower()
    return "progressive" if _attr(track, "scan_type") == "Progressive" else "unknown"


def _rotation(value: str | None) -> int:
    try:
        return round(float(value or 0) / 90) * 90 % 360
    except ValueError:
        return 0


def _pix_fmt_depth(pix_fmt: str | None) -> int | None:
    try:
        return int(av.VideoFormat(pix_fmt).components[0].bits) if pix_fmt else None
    except (ValueError, av.error.FFmpegError):
        return None


def _language(stream: Any) -> str | None:
    language = stream.metadata.get("language")
    return None if language in (None, "", "und") else str(language)


# --- timecode --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _FoundTimecode:
    label: Timecode
    rate: Fraction | None


def _find_timecode(container: Any, tracks: list[Any]) -> _FoundTimecode | None:
    """MediaInfo's TimeCode_FirstFrame (timecode tracks first), else ffmpeg's ``timecode`` metadata."""
    by_kind = {"Other": 0, "Video": 1, "General": 2}
    ordered = sorted((t for t in tracks if t.track_type in by_kind), key=lambda t: by_kind[t.track_type])
    for track in ordered:
        label = _parse(track.time_code_of_first_frame)
        if label:
            return _with_drop_frame(label, _track_rate(track), _says_drop_frame(tracks))
    for metadata in (container.metadata, *(s.metadata for s in container.streams)):
        label = _parse(metadata.get("timecode"))
        if label:
            return _with_drop_frame(label, None, _says_drop_frame(tracks))
    return None


def _parse(text: str | None) -> Timecode | None:
    if not text:
        return None
    try:
        return parse_timecode(str(text))
    except ValueError:
        logger.warning("ignoring unreadable timecode %r", text)
        return None


def _says_drop_frame(tracks: list[Any]) -> bool:
    for track in tracks:
        if track.track_type in ("Other", "Video") and track.time_code_of_first_frame:
            settings = f"{track.delay_settings or ''} {track.time_code_settings or ''}"
            if track.delay_dropframe == "Yes" or "DropFrame=Yes" in settings:
                return True
    return False


def _with_drop_frame(label: Timecode, rate: Fraction | None, flagged: bool) -> _FoundTimecode:
    drop = label.drop_frame or flagged
    if drop and rate is not None and nominal_rate(rate) % 30:
        logger.warning("timecode %s is marked drop-frame at %s fps; reading it as non-drop", label, rate)
        drop = False
    if drop and rate is not None:
        rate = Fraction(nominal_rate(rate) * 1000, 1001)  # MediaInfo may say 29970/1000
    return _FoundTimecode(label._replace(drop_frame=drop), rate)


def _track_rate(track: Any) -> Fraction | None:
    num, den = _int(track.framerate_num), _int(track.framerate_den)
    try:
        rate = Fraction(num, den) if num and den else Fraction(str(track.frame_rate or 0))
    except ValueError:
        return None
    return _snap_rate(rate) if rate >= 1 else None


def _snap_rate(rate: Fraction) -> Fraction:
    """29.97 -> 30000/1001, 25.000 -> 25: MediaInfo rounds its rates to three decimals."""
    nominal = round(rate)
    for exact in (Fraction(nominal), Fraction(nominal * 1000, 1001)):
        if abs(rate - exact) < Fraction(1, 200):
            return exact
    return rate


# --- packets: VFR and durations missing from the container ------------------------------------------


@dataclass(slots=True)
class _Scan:
    time_base: Fraction
    pts: list[int] = field(default_factory=list)
    end: int | None = None
    count: int = 0
    complete: bool = True


@dataclass(frozen=True, slots=True)
class _ScanPlan:
    streams: list[Any]
    limit: int | None


def _scan_packets(container: Any, kinds: _Kinds, whole_file: bool) -> dict[int, _Scan]:
    """Demux (never decode) the first video packets, or every packet when the container has no duration."""
    if whole_file:
        plan = _ScanPlan(kinds.video + kinds.audio, None)
    else:
        plan = _ScanPlan(kinds.video[:1], VFR_SCAN_PACKETS)
    if not plan.streams:
        return {}
    scans = {s.index: _Scan(Fraction(s.time_base)) for s in plan.streams}
    try:
        _fill_scans(container, plan, scans)
    except av.error.FFmpegError as exc:
        logger.warning("stopped reading packets of %s: %s", container.name, exc)
        for scan in scans.values():
            scan.complete = False
    return scans


def _fill_scans(container: Any, plan: _ScanPlan, scans: dict[int, _Scan]) -> None:
    read = 0
    for packet in container.demux(*plan.streams):
        scan = scans.get(packet.stream_index)
        if scan is None or packet.pts is None:
            continue
        scan.pts.append(packet.pts)
        scan.count += 1
        scan.end = max(scan.end or 0, packet.pts + (packet.duration or 0))
        read += packet.size
        if plan.limit and (
            scan.count >= plan.limit or (scan.count >= _MIN_SCAN_PACKETS and read > VFR_SCAN_BYTES)
        ):
            scan.complete = False
            return


def _is_vfr(scan: _Scan) -> bool:
    """Frame durations (gaps between sorted pts) that differ by more than timestamp rounding."""
    pts = sorted(set(scan.pts))
    if not scan.complete and len(pts) > 2 * _REORDER_SLACK:
        pts = pts[:-_REORDER_SLACK]
    gaps = [b - a for a, b in zip(pts, pts[1:], strict=False)]
    if len(gaps) < 2:
        return False
    typical = statistics.median(gaps)
    tolerance = max(1, typical / 500)  # one tick, or 0.2 % for fine time bases
    return any(abs(gap - typical) > tolerance for gap in gaps)


def _stream_duration(stream: Any, track: Any | None, scan: _Scan | None) -> float | None:
    """The stream's own duration, else MediaInfo's (Matroska keeps none per track), else its packets'."""
    if stream.duration:
        return _seconds(stream.duration, stream.time_base)
    mediainfo_ms = _float(_attr(track, "duration"))
    if mediainfo_ms:
        return mediainfo_ms / 1000
    if scan and scan.complete and scan.end is not None and scan.pts:
        return _seconds(scan.end - min(scan.pts), scan.time_base)
    return None


def _container_duration(container: Any, scans: Mapping[int, _Scan]) -> tuple[float | None, bool]:
    if container.duration is not None:
        return container.duration / av.time_base, False
    ends = [(s.end - min(s.pts)) * s.time_base for s in scans.values() if s.complete and s.pts and s.end]
    if not ends:
        return None, False
    logger.info("%s has no duration in its container; estimated from packet timestamps", container.name)
    return float(max(ends)), True


# --- small converters ------------------------------------------------------------------------------------


def _attr(track: Any | None, name: str) -> Any:
    return getattr(track, name, None) if track is not None else None


def _float(value: Any) -> float | None:
    """MediaInfo numbers arrive as int, float or text such as "14014.000000" or "3353 / 45"."""
    try:
        return float(str(value).split("/")[0].strip()) if value not in (None, "") else None
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    number = _float(value)
    return int(number) if number is not None else None


def _seconds(ticks: int | None, time_base: Fraction | None) -> float | None:
    return float(ticks * time_base) if ticks is not None and time_base else None
